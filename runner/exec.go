package runner

import (
	"context"
	"errors"
	"time"

	"github.com/csmplan/csmplan/actions"
)

// Exec performs the calls of a run's actions and probes in place of the
// run itself: a durable engine (such as the Temporal interpreter of the
// nested module github.com/csmplan/csmplan/temporal) sends each call
// elsewhere, while the runner keeps deciding what to call, when, how often
// and what the answers mean. Exec is called from the goroutine that called
// [Run], one call at a time, and the run starts no goroutine of its own
// when Options.Exec is set and Options.Stop is nil.
type Exec interface {
	// Act runs one attempt of a step's action: act is what the run's
	// registry made for it (its Validator has accepted call.Args). When
	// timeout is positive it bounds the attempt; an attempt that it ends
	// returns an error wrapping context.DeadlineExceeded, which the run
	// reports as the step's timeout, as without Exec. A panic is the
	// executor's to recover.
	Act(ctx context.Context, act actions.Action, call *actions.Call, timeout time.Duration) (actions.Outputs, error)
	// Observe makes one observation of a condition's probe p.
	Observe(ctx context.Context, p actions.Probe, call *actions.Call) (any, error)
}

// ExecChecks is an optional ability of an [Exec]: making the calls with
// which a run looks before it acts, which are otherwise made in the run on
// what its registry made. Their answers mean what the actions' own do.
type ExecChecks interface {
	// Inspect asks act's [actions.Inspector] what an attempt left behind
	// (after an interruption, or ErrActionLost); an action that is no
	// Inspector answers actions.Unknown.
	Inspect(ctx context.Context, act actions.Action, call *actions.Call, timeout time.Duration) (actions.Inspection, error)
	// Preflight runs act's [actions.Preflighter] in a dry run; checked is
	// false for an action that is none.
	Preflight(ctx context.Context, act actions.Action, call *actions.Call, timeout time.Duration) (checked bool, err error)
}

// execAct runs an attempt through Options.Exec, reporting a timeout as
// bounded does.
func execAct(ctx context.Context, x Exec, act actions.Action, call *actions.Call, timeout time.Duration) (actions.Outputs, error) {
	out, err := x.Act(ctx, act, call, timeout)
	if err != nil && timeout > 0 && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, &timeoutError{after: timeout, err: err}
	}
	return out, err
}

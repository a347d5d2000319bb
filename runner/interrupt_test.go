package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// TestRunInterruptedIsNoFailure cancels a run's context at several points:
// each time the run's error is an interruption (ErrInterrupted and
// context.Canceled), never an action or condition failure, even when the
// action answers the cancellation with an error of its own.
func TestRunInterruptedIsNoFailure(t *testing.T) {
	t.Parallel()
	errClosed := errors.New("connection closed")
	tests := []struct {
		name string
		body string
		// stop says at which event to cancel; the action "act" and the
		// probe "cancels" cancel by themselves.
		stop func(e runner.Event) bool
		// act is how the action answers, once cancelled.
		act func(ctx context.Context) error
		// says is a part of the error's text.
		says string
	}{
		{"during the action, answered with ctx.Err()", "steps:\n  - id: s\n    action: act\n", nil,
			func(ctx context.Context) error { return ctx.Err() }, `step "s" (t.yaml:5): interrupted while action act ran: context canceled`},
		{"during the action, answered with its own error", "steps:\n  - id: s\n    action: act\n", nil,
			func(context.Context) error { return errClosed }, "interrupted while action act ran"},
		{"while waiting to retry", "steps:\n  - id: s\n    action: fails\n    retry: {attempts: 3, interval: 1m}\n",
			func(e runner.Event) bool { return e.Kind == runner.AttemptEnd }, nil, "interrupted while waiting to retry action fails"},
		{"while a precondition waits", "steps:\n  - id: s\n    pre: [{probe: no, expect: {equals: true}, wait: {timeout: 1h}}]\n    action: fails\n",
			func(e runner.Event) bool { return e.Kind == runner.WaitPoll }, nil, "interrupted while checking the preconditions"},
		{"while a when condition is checked", "steps:\n  - id: s\n    when: {probe: cancels, expect: {equals: true}}\n    action: fails\n",
			nil, nil, "interrupted while checking the when condition"},
		{"while a postcondition waits", "steps:\n  - id: s\n    post: [{probe: no, expect: {equals: true}, wait: {timeout: 1h}}]\n",
			func(e runner.Event) bool { return e.Kind == runner.WaitPoll }, nil, "interrupted while checking the postconditions"},
		{"between steps", "steps:\n  - id: s\n    action: log\n    with: {message: x}\n  - id: t\n    action: fails\n",
			func(e runner.Event) bool { return e.Kind == runner.StepEnd }, nil, `interrupted before step "t"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			kit := actionstest.NewKit()
			kit.Action("fails", actionstest.Fails(errBoom))
			kit.Probe("no", actionstest.Returns(false))
			reg := kit.Registry()
			actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "act", Mutates: true}, func() actions.Action {
				return actions.ActionFunc(func(ctx context.Context, _ *actions.Call) (actions.Outputs, error) {
					cancel()
					<-ctx.Done()
					return nil, tt.act(ctx)
				})
			}))
			actions.MustRegister(reg.RegisterProbe(actions.Spec{Name: "cancels"}, func() actions.Probe {
				return actions.ProbeFunc(func(ctx context.Context, _ *actions.Call) (any, error) {
					cancel()
					return nil, ctx.Err()
				})
			}))
			opts := runner.Options{Registry: reg, Clock: kit.Clock}
			if tt.stop != nil {
				opts.Observers = []runner.Observer{runner.ObserverFunc(func(e runner.Event) {
					if tt.stop(e) {
						cancel()
					}
				})}
			}
			rep, err := runner.Run(ctx, load(t, reg, tt.body), opts)
			if !errors.Is(err, runner.ErrInterrupted) || !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want ErrInterrupted and context.Canceled", err)
			}
			for _, not := range []error{runner.ErrAction, runner.ErrCondition, runner.ErrPrecondition, runner.ErrPostcondition, errBoom, errClosed} {
				if errors.Is(err, not) {
					t.Errorf("err = %v: an interruption, yet %v", err, not)
				}
			}
			if err != nil && !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err = %v, want it to say %q", err, tt.says)
			}
			if rep.Outcome != runner.Cancelled {
				t.Errorf("outcome %s, want %s", rep.Outcome, runner.Cancelled)
			}
		})
	}
}

// TestRunInterruptedAfterTheLastStep: a context done once every step has
// ended interrupts nothing: the run succeeded, and says so.
func TestRunInterruptedAfterTheLastStep(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kit := actionstest.NewKit()
	reg := kit.Registry()
	stop := runner.ObserverFunc(func(e runner.Event) {
		if e.Kind == runner.StepEnd {
			cancel()
		}
	})
	rep, err := runner.Run(ctx, load(t, reg, "steps:\n  - id: s\n    action: log\n    with: {message: x}\n"),
		runner.Options{Registry: reg, Clock: kit.Clock, Observers: []runner.Observer{stop}})
	if err != nil || rep.Outcome != runner.Succeeded {
		t.Errorf("err = %v, outcome %s; want a run that succeeded", err, rep.Outcome)
	}
}

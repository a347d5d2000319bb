package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// ErrPreflight is the kind of a step a dry run found blocked because the
// [actions.Preflighter] of its action failed: what the action will need
// (an installer on the host, a writable directory) is not there.
var ErrPreflight = errors.New("not ready to run")

// preflight runs, in a dry run, the Preflighter of the step's mutating
// action, with the arguments and timeout the action would get, and returns
// its failure as an ErrPreflight. An action without one, or whose
// arguments cannot be resolved before the steps before it have run (they
// refer to outputs a dry run does not have), is not checked: checked is
// false.
func (r *run) preflight(ctx context.Context, s *plan.Step, ev func(Event)) (checked bool, err error) {
	act, args, timeout, err := r.prepare(s)
	if err != nil {
		return false, nil
	}
	call := r.call(s, args, 1, ev)
	if xc, ok := r.opts.Exec.(ExecChecks); ok {
		if checked, err = xc.Preflight(ctx, act, call, timeout); err != nil {
			return checked, fmt.Errorf("%w: %w", ErrPreflight, named(s.Action, err))
		}
		return checked, nil
	}
	pf, ok := act.(actions.Preflighter)
	if !ok {
		return false, nil
	}
	_, err = bounded(ctx, r.clock, timeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, pf.Preflight(ctx, call)
	}, nil, nil)
	if err != nil {
		return true, fmt.Errorf("%w: %w", ErrPreflight, named(s.Action, err))
	}
	return true, nil
}

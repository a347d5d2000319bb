package runner

import (
	"cmp"
	"context"
	"fmt"

	"github.com/hashicorp/go-multierror"

	"github.com/csmplan/csmplan/plan"
)

// rollback runs, in reverse order, the undo of every step before failed
// that succeeded, and of the failed step itself when its action succeeded.
// Each undo is verified by checking the step's preconditions again. Every
// undo failure is returned, never hidden.
func (r *run) rollback(ctx context.Context, failed int) error {
	var errs *multierror.Error
	for i := failed; i >= 0; i-- {
		s := r.p.Steps[i]
		sr := &r.report.Steps[i]
		if s.Undo == nil {
			continue
		}
		actionRan := len(sr.Attempts) > 0 && sr.Attempts[len(sr.Attempts)-1].Error == ""
		if !(sr.Outcome == Succeeded || sr.Outcome == Resumed || i == failed && actionRan) {
			continue
		}
		if err := r.undo(ctx, i, s, sr); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

func (r *run) undo(ctx context.Context, i int, s *plan.Step, sr *StepReport) error {
	ev := func(e Event) {
		e.Step, e.Index, e.Count, e.Title = s.ID, i+1, len(r.p.Steps), s.Name()
		if e.Line == 0 {
			e.Line = s.Undo.Pos.Line
		}
		r.emit(e)
	}
	ur := &UndoReport{Action: s.Undo.Action}
	sr.Undo = ur
	ev(Event{Kind: UndoStart, Message: s.Undo.Action})
	fail := func(err error) error {
		err = r.red.Error(fmt.Errorf("%w: %w", ErrUndo, err))
		ur.Outcome, ur.Error = Failed, err.Error()
		ev(Event{Kind: UndoEnd, Outcome: Failed, Error: ur.Error})
		return &StepError{Step: s.ID, File: r.p.Filename, Pos: s.Undo.Pos, Err: err}
	}
	undoStep := &plan.Step{ID: s.ID, Action: s.Undo.Action, With: s.Undo.With, Timeout: s.Undo.Timeout, Pos: s.Undo.Pos, ActionPos: s.Undo.Pos}
	scratch := &StepReport{}
	if _, _, err := r.action(ctx, undoStep, scratch, ev, 0); err != nil {
		return fail(err)
	}
	ok := true
	var cause error
	for _, c := range s.Pre {
		res, err := r.check(ctx, s, c, PhaseVerify, ev, true)
		ur.Verify = append(ur.Verify, res)
		ok = ok && res.Status == Met
		cause = cmp.Or(cause, err)
	}
	if !ok {
		return fail(&conditionError{kind: ErrPrecondition, results: ur.Verify, cause: cause})
	}
	ur.Outcome = Succeeded
	ev(Event{Kind: UndoEnd, Outcome: Succeeded})
	return nil
}

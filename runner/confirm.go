package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// ErrDeclined: Options.Confirm did not confirm the changes to come (it
// answered false, or failed), so the run stopped before its first
// mutating action, having changed nothing.
var ErrDeclined = errors.New("changes not confirmed")

// PlannedChange is a mutating step to come, as Options.Confirm is shown
// it: the step that is about to run its action, then the later ones that
// the operator did not leave out. A later step's `when` is not checked
// yet: it may still skip.
type PlannedChange struct {
	// Index is the 1-based number of the step in the plan.
	Index  int
	Step   string
	Title  string
	Action string
	// Target is the name of the target the action acts on (its `target`
	// argument, as written), or "".
	Target string
	// Line is the runbook line of the step.
	Line int
}

// confirm asks Options.Confirm, once per run, before the action of step i
// (a mutating one) runs. The error wraps ErrDeclined.
func (r *run) confirm(ctx context.Context, i int) error {
	if r.opts.Confirm == nil || r.confirmed || !r.mutates(r.p.Steps[i]) {
		return nil
	}
	var changes []PlannedChange
	for j := i; j < len(r.p.Steps); j++ {
		s := r.p.Steps[j]
		if !r.mutates(s) || r.operatorSkip(j) != "" {
			continue
		}
		c := PlannedChange{Index: j + 1, Step: s.ID, Title: s.Name(), Action: s.Action, Line: s.Pos.Line}
		if m, ok := s.With.Raw().(map[string]any); ok {
			c.Target, _ = m["target"].(string)
		}
		changes = append(changes, c)
	}
	ok, err := r.opts.Confirm(ctx, changes)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrDeclined, err)
	case !ok:
		return fmt.Errorf("%w: the operator did not confirm the %d change(s) to come; this run changed nothing", ErrDeclined, len(changes))
	}
	r.confirmed = true
	return nil
}

// mutates says whether the step's action changes anything.
func (r *run) mutates(s *plan.Step) bool {
	if s.Action == "" {
		return false
	}
	spec, _ := r.reg.Spec(actions.KindAction, s.Action)
	return spec.Mutates
}

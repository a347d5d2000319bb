package runner

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/schema"
)

// ErrSelection: Options.From or Options.Only name a step the plan does not
// have, are both given, or are given with a journal that holds an earlier
// run to resume (which steps to run would then be ambiguous: the journal
// decides which steps are done). The error names the step and suggests a
// known id for a misspelt one.
var ErrSelection = errors.New("step selection")

// OperatorSkip is how the Reason of a step that the operator left out of
// the run (Options.From, Options.Only) begins.
const OperatorSkip = "skipped by the operator"

// checkSelection checks Options.From and Options.Only against the plan's
// step ids.
func checkSelection(p *plan.Plan, opts Options) error {
	if opts.From == "" && len(opts.Only) == 0 {
		return nil
	}
	if opts.From != "" && len(opts.Only) > 0 {
		return fmt.Errorf("%w: give either the step to start from or the steps to run, not both", ErrSelection)
	}
	ids := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		ids[i] = s.ID
	}
	given := opts.Only
	if opts.From != "" {
		given = []string{opts.From}
	}
	for _, id := range given {
		if slices.Contains(ids, id) {
			continue
		}
		if s := schema.Suggest(id, ids); s != "" {
			return fmt.Errorf("%w: runbook %q has no step %q; did you mean %q?", ErrSelection, p.Name, id, s)
		}
		return fmt.Errorf("%w: runbook %q has no step %q; its steps: %s", ErrSelection, p.Name, id, strings.Join(ids, ", "))
	}
	return nil
}

// operatorSkip returns the Reason of step i when the operator left it out
// of the run, or "".
func (r *run) operatorSkip(i int) string {
	switch {
	case r.opts.From != "":
		from := slices.IndexFunc(r.p.Steps, func(s *plan.Step) bool { return s.ID == r.opts.From })
		if i < from {
			return fmt.Sprintf("%s (--from %s)", OperatorSkip, r.opts.From)
		}
	case len(r.opts.Only) > 0:
		if !slices.Contains(r.opts.Only, r.p.Steps[i].ID) {
			return fmt.Sprintf("%s (--only %s)", OperatorSkip, strings.Join(r.opts.Only, ","))
		}
	}
	return ""
}

// selectionNote explains, in a message about a value that no step gave,
// that the operator left steps out of the run; "" when none was.
func (r *run) selectionNote() string {
	if r.opts.From == "" && len(r.opts.Only) == 0 {
		return ""
	}
	return " (steps were skipped by the operator, and a skipped step saves nothing)"
}

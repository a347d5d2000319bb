package runner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// ErrRegistryMismatch marks a run refused before its first step because
// its registry lacks actions or probes the plan uses: [Options].Registry
// is not the registry the plan was loaded with, and not a superset of what
// the plan needs from it. A [*RegistryError] lists what is missing.
var ErrRegistryMismatch = errors.New("the registry of the run lacks what the plan uses")

// RegistryError lists the actions and probes that a plan uses and the
// registry of its run lacks. It wraps [ErrRegistryMismatch].
type RegistryError struct {
	// File is the runbook's file name, for messages.
	File string
	// Missing are the names missing: actions, then probes, each in the
	// order of its first use in the plan.
	Missing []Missing
}

// Missing is an action or probe that a plan uses and a registry lacks.
type Missing struct {
	Kind actions.Kind
	Name string
	// Steps are the ids of the steps that use it (as an action, an undo
	// action or a probe of their conditions), in the order of the plan.
	Steps []string
}

// Error returns one line: what the registry lacks and the steps that use
// it.
func (e *RegistryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v:", e.File, ErrRegistryMismatch)
	for i, m := range e.Missing {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s %q (", m.Kind, m.Name)
		if len(m.Steps) == 1 {
			b.WriteString("step ")
		} else {
			b.WriteString("steps ")
		}
		for j, s := range m.Steps {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", s)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns ErrRegistryMismatch.
func (e *RegistryError) Unwrap() error { return ErrRegistryMismatch }

// registryFor returns the registry a run of p uses: the one the options
// give, else the plan's own (see [plan.Plan.Registry]), else
// [actions.Default].
func registryFor(p *plan.Plan, given *actions.Registry) *actions.Registry {
	switch {
	case given != nil:
		return given
	case p.Registry() != nil:
		return p.Registry()
	}
	return actions.Default()
}

// checkRegistry returns a [*RegistryError] when reg lacks an action or a
// probe that p uses, so that a run never finds out halfway through, and a
// dry run never has to guess what an unknown action would do.
func checkRegistry(p *plan.Plan, reg *actions.Registry) error {
	var missing []Missing
	index := map[actions.Kind]map[string]int{actions.KindAction: {}, actions.KindProbe: {}}
	use := func(kind actions.Kind, name, step string) {
		if name == "" {
			return
		}
		if _, ok := reg.Spec(kind, name); ok {
			return
		}
		i, seen := index[kind][name]
		if !seen {
			i = len(missing)
			index[kind][name] = i
			missing = append(missing, Missing{Kind: kind, Name: name})
		}
		if steps := missing[i].Steps; len(steps) == 0 || steps[len(steps)-1] != step {
			missing[i].Steps = append(steps, step)
		}
	}
	for _, s := range p.Steps {
		conds := append([]*plan.Condition{s.When}, s.Pre...)
		for _, c := range append(conds, s.Post...) {
			if c != nil {
				use(actions.KindProbe, c.Probe, s.ID)
			}
		}
		use(actions.KindAction, s.Action, s.ID)
		if s.Undo != nil {
			use(actions.KindAction, s.Undo.Action, s.ID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// Actions first, then probes; each in the order of first use.
	sorted := make([]Missing, 0, len(missing))
	for _, kind := range []actions.Kind{actions.KindAction, actions.KindProbe} {
		for _, m := range missing {
			if m.Kind == kind {
				sorted = append(sorted, m)
			}
		}
	}
	return &RegistryError{File: p.Filename, Missing: sorted}
}

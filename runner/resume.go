package runner

import (
	"context"
	"fmt"
	"slices"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// inspect asks the step's action, when it is an [actions.Inspector], what
// the attempt that an earlier run left unfinished left behind, with a call
// made as for an attempt (its arguments, targets, clock and Log; attempt
// 1), bounded by the step's timeout. The answer goes into the report, an
// ActionInspect event and the journal. An action that is no Inspector is
// not asked: Unknown. An Inspector's error counts as Unknown. The error is
// the journal's.
func (r *run) inspect(ctx context.Context, s *plan.Step, sr *StepReport, ev func(Event)) (actions.Inspection, error) {
	act, err := r.reg.NewAction(s.Action)
	if err != nil {
		return actions.Unknown, nil // running the action will say why
	}
	insp, ok := act.(actions.Inspector)
	if !ok {
		return actions.Unknown, nil
	}
	ins := actions.Unknown
	_, args, timeout, err := r.prepare(s)
	if err == nil {
		call := r.call(s, args, 1, ev)
		ins, err = bounded(ctx, r.clock, timeout, func(ctx context.Context) (actions.Inspection, error) { return insp.Inspect(ctx, call) }, nil, nil)
		if err != nil {
			err = fmt.Errorf("%s: inspect: %w", s.Action, err)
		}
	}
	if ctx.Err() != nil {
		return actions.Unknown, nil
	}
	switch {
	case err != nil:
		ins = actions.Unknown
		sr.Inspection = r.red.String("error: " + err.Error())
	case ins != actions.Done && ins != actions.InProgress && ins != actions.NotDone:
		ins = actions.Unknown
		fallthrough
	default:
		sr.Inspection = ins.String()
	}
	e := Event{Kind: ActionInspect, Line: s.ActionPos.Line, Message: ins.String()}
	if err != nil {
		e.Error = r.red.String(err.Error())
	}
	ev(e)
	if r.journal != nil {
		if jerr := r.journal.inspect(s.ID, ins, err); jerr != nil {
			return actions.Unknown, jerr
		}
	}
	return ins, nil
}

// values are the outputs of the step's action and the vars that its
// conditions cs saved, as the journal records them.
func (r *run) values(s *plan.Step, cs ...[]*plan.Condition) values {
	v := values{Outputs: r.outputs[s.ID], SecretOutputs: r.secretOutputs[s.ID], OutputsLost: r.lostOutputs[s.ID]}
	for _, list := range cs {
		for _, c := range list {
			val, ok := r.vars[c.Save]
			if c.Save == "" || !ok {
				continue
			}
			if v.Vars == nil {
				v.Vars = map[string]any{}
			}
			v.Vars[c.Save] = val
			if r.secretVars[c.Save] && !slices.Contains(v.SecretVars, c.Save) {
				v.SecretVars = append(v.SecretVars, c.Save)
			}
		}
	}
	return v
}

// restore gives back what the journal recorded of the step: its outputs
// (lost: the journal has none, though its action ran) and its saved vars,
// except those that the conditions checked just now (fresh) saved again.
func (r *run) restore(s *plan.Step, v values, lost bool, fresh []*plan.Condition) {
	switch {
	case lost:
		r.lostOutputs[s.ID] = true
	case v.Outputs != nil:
		r.outputs[s.ID] = v.Outputs
		if len(v.SecretOutputs) > 0 {
			r.secretOutputs[s.ID] = v.SecretOutputs
		}
	case s.Action != "":
		r.outputs[s.ID] = map[string]any{}
	}
	for k, val := range v.Vars {
		if slices.ContainsFunc(fresh, func(c *plan.Condition) bool { return c.Save == k }) {
			continue
		}
		r.vars[k] = val
		if slices.Contains(v.SecretVars, k) {
			r.secretVars[k] = true
		}
	}
}

// setOutputs keeps the outputs the step's action returned in this run.
func (r *run) setOutputs(s *plan.Step, out map[string]any) {
	r.outputs[s.ID] = out
	delete(r.secretOutputs, s.ID)
	delete(r.lostOutputs, s.ID)
}

// notRestored says why the value of ref, which the journal of an earlier
// run did not give back, has none in this run; nil when it has.
func (r *run) notRestored(ref *plan.Ref) error {
	again := fmt.Sprintf("start a new run (with a new journal) to run step %q again", ref.Name)
	var why string
	switch {
	case ref.Scope == plan.ScopeVars && r.secretVars[ref.Name]:
		why = fmt.Sprintf("var %q held a secret, which the journal keeps redacted", ref.Name)
		again = "start a new run (with a new journal) to check again the condition that saves it"
	case ref.Scope != plan.ScopeSteps:
		return nil
	case r.lostOutputs[ref.Name]:
		why = fmt.Sprintf("step %q was found done when its run was resumed, but the journal has no outputs of its action: it was interrupted before its action returned them", ref.Name)
	case slices.Contains(r.secretOutputs[ref.Name], ref.Output):
		why = fmt.Sprintf("output %q of step %q held a secret, which the journal keeps redacted", ref.Output, ref.Name)
	default:
		return nil
	}
	return fmt.Errorf("%s: %w: %s; a resumed run cannot use it: %s", ref.Source, ErrNotRestored, why, again)
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	xc, viaExec := r.opts.Exec.(ExecChecks)
	insp, ok := act.(actions.Inspector)
	if !ok && !viaExec {
		return actions.Unknown, nil
	}
	ins := actions.Unknown
	_, args, timeout, err := r.prepare(s)
	if err == nil {
		call := r.call(s, args, 1, ev)
		if viaExec {
			ins, err = xc.Inspect(ctx, act, call, timeout)
		} else {
			ins, err = bounded(ctx, r.clock, timeout, func(ctx context.Context) (actions.Inspection, error) { return insp.Inspect(ctx, call) }, nil, nil)
		}
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

// unfinished decides a step whose last attempt may still be taking effect
// (prev): one that an earlier run left unfinished, or that failed, or, with
// lost, one that an Exec lost in this run (ErrActionLost). The step is done
// if its postconditions hold: they get their waits when an action took, or
// may be taking, effect, since running it again meanwhile would be worse
// than waiting. It returns the reason of a step found done; "" and no error
// when the action is to run again; an error, wrapping ErrInterrupted when
// ctx ended, when the step fails.
func (r *run) unfinished(ctx context.Context, s *plan.Step, sr *StepReport, ev func(Event), prev *journalStep, ins actions.Inspection, lost bool) (string, error) {
	what, earlier := "the step that an earlier run left unfinished", "interrupted earlier"
	if lost {
		what, earlier = "the step whose attempt was lost", "its attempt was lost"
	}
	tookEffect := prev.Attempt == attemptDone || ins == actions.Done
	wait := prev.Attempt != attemptNone
	if prev.Outputs != nil {
		// The action returned them before the interruption: its
		// postconditions may refer to them.
		r.restore(s, prev.values, false, s.Post)
	}
	var post []ConditionResult
	var err error
	if len(s.Post) > 0 {
		post, err = r.conditions(ctx, s.Post, ErrPostcondition, true, func(c *plan.Condition) (ConditionResult, error) {
			return r.check(ctx, s, c, PhasePost, ev, wait)
		})
	}
	var ce *conditionError
	switch {
	case ctx.Err() != nil:
		sr.Post = post
		return "", interrupted(ctx, "while checking the postconditions of "+what)
	case errors.As(err, &ce) && ce.cause != nil:
		sr.Post = post // a wait that is not one: running the action again would not wait either
		return "", err
	case err == nil && (len(s.Post) > 0 || tookEffect):
		sr.Post = post
		r.restore(s, prev.values, s.Action != "" && prev.Outputs == nil, s.Post)
		sr.Outputs = r.red.Map(r.outputs[s.ID])
		if len(s.Post) == 0 {
			return earlier + ", after its action took effect", nil
		}
		return earlier + "; its postconditions hold", nil
	case ins == actions.InProgress:
		sr.Post = post
		why := "the action " + strings.TrimPrefix(what, "the step ") + " is in progress (its Inspector says), and is not started again while it may be running: resume once it has ended"
		if err == nil {
			return "", fmt.Errorf("%w: the step has no postcondition to wait for it; %s", ErrInProgress, why)
		}
		return "", fmt.Errorf("%w; %w: %s", err, ErrInProgress, why)
	case tookEffect:
		sr.Post = post // the action took effect, and its postconditions do not hold: as in any run
		return "", err
	}
	return "", nil
}

// attempts is how many attempts the step's retry policy allows (1 without
// one, or when it cannot be read: the action says why when it runs).
func (r *run) attempts(s *plan.Step) int {
	retry := s.Retry
	if retry == nil {
		retry = r.p.Defaults.Retry
	}
	if retry == nil {
		return 1
	}
	return max(retry.Attempts, 1)
}

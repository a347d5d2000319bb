package runner

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// condition checks a condition, polling per its wait. In a dry run it checks
// once, and not at all when the condition depends on an action that would
// have run before it. The error is check's.
func (r *run) condition(ctx context.Context, s *plan.Step, c *plan.Condition, phase Phase, ev func(Event)) (ConditionResult, error) {
	if r.opts.DryRun {
		if !r.checkable(c) {
			res := ConditionResult{Condition: c.String(), Line: c.Pos.Line, Status: NotChecked, Expected: r.expected(c.Expect)}
			ev(Event{Kind: ConditionEnd, Phase: phase, Line: c.Pos.Line, Condition: &res,
				Message: "not checked: depends on an earlier action that a dry run does not run"})
			return res, nil
		}
		return r.checkOnce(ctx, s, c, phase, ev)
	}
	return r.check(ctx, s, c, phase, ev, true)
}

// checkOnce checks a condition once, without waiting.
func (r *run) checkOnce(ctx context.Context, s *plan.Step, c *plan.Condition, phase Phase, ev func(Event)) (ConditionResult, error) {
	return r.check(ctx, s, c, phase, ev, false)
}

// checkable reports whether a dry run can check c truthfully: before any
// mutating action would have run, or when c looks only at values that exist.
func (r *run) checkable(c *plan.Condition) bool {
	if !r.changed {
		return true
	}
	return c.Probe == "" && r.allKnown(c.Value) && r.expectKnown(c.Expect)
}

func (r *run) expectKnown(e *plan.Expect) bool {
	if e == nil {
		return true
	}
	for _, m := range e.Matchers {
		if !r.allKnown(m.Arg) || !r.expectKnown(m.Nested) {
			return false
		}
	}
	return true
}

// allKnown reports whether every reference in v has a value.
func (r *run) allKnown(v *plan.Value) bool {
	for _, ref := range v.Refs() {
		if !r.known(ref) {
			return false
		}
	}
	return true
}

func (r *run) known(ref *plan.Ref) bool {
	switch ref.Scope {
	case plan.ScopeParams:
		return true
	case plan.ScopeVars:
		_, ok := r.vars[ref.Name]
		return ok
	}
	_, ok := r.outputs[ref.Name]
	return ok
}

// check checks a condition, polling per its wait when wait is set. The
// error is not the condition's: it is a wait that cannot be resolved (it
// wraps ErrDuration), for which the result's status is Error and the step
// must fail, whatever the condition observes.
func (r *run) check(ctx context.Context, s *plan.Step, c *plan.Condition, phase Phase, ev func(Event), wait bool) (ConditionResult, error) {
	res := ConditionResult{Condition: c.String(), Line: c.Pos.Line, Expected: r.expected(c.Expect)}
	ev(Event{Kind: ConditionStart, Phase: phase, Line: c.Pos.Line, Condition: r.snapshot(&res)})
	var timeout, interval time.Duration
	if wait && c.Wait != nil {
		var err error
		if timeout, err = r.duration(c.Wait.Timeout); err == nil {
			interval = r.interval
			if c.Wait.Interval.IsSet() {
				interval, err = r.duration(c.Wait.Interval)
			}
		}
		if err != nil {
			err = fmt.Errorf("wait: %w", err)
			res.Status, res.Error = Error, r.red.String(err.Error())
			ev(Event{Kind: ConditionEnd, Phase: phase, Line: c.Pos.Line, Condition: r.snapshot(&res), Error: res.Error})
			return res, err
		}
		if interval <= 0 {
			interval = r.interval
		}
	}
	start := r.clock.Now()
	permanent := false
	for {
		res.Polls++
		permanent = r.evaluate(ctx, s, c, &res)
		res.Waited = r.clock.Now().Sub(start)
		if res.Status == Met || timeout <= 0 || ctx.Err() != nil || permanent {
			break
		}
		left := timeout - res.Waited
		if left <= 0 {
			break
		}
		ev(Event{Kind: WaitPoll, Phase: phase, Line: c.Pos.Line, Condition: r.snapshot(&res), Elapsed: res.Waited, Timeout: timeout, Error: res.Error})
		if err := r.clock.Sleep(ctx, min(interval, left)); err != nil {
			res.Status, res.Error = Error, "cancelled while waiting: "+err.Error()
			break
		}
	}
	res.Waited = r.clock.Now().Sub(start)
	switch {
	case permanent && timeout > 0:
		res.Error += " (retrying cannot fix this error: the wait stopped at once)"
	case timeout > 0 && res.Status == Error && ctx.Err() == nil:
		res.Error += fmt.Sprintf(" (still failing after waiting %s)", timeout)
	}
	ev(Event{Kind: ConditionEnd, Phase: phase, Line: c.Pos.Line, Condition: r.snapshot(&res), Elapsed: res.Waited, Timeout: timeout, Error: res.Error})
	return res, nil
}

// expected describes e as [plan.Expect.String] does, with the value of
// each operand that holds references, followed by the operand as written:
// `version equals "6.3.11.0" (${params.target_version})`. An operand whose
// references have no value (yet) is shown as written. Secrets are redacted.
func (r *run) expected(e *plan.Expect) string {
	if !hasRefs(e) {
		return e.String()
	}
	var parts []string
	for _, m := range e.Matchers {
		switch {
		case m.Nested != nil:
			parts = append(parts, m.Op+" ("+r.expected(m.Nested)+")")
		case m.Op == "matches":
			parts = append(parts, fmt.Sprintf("matches /%s/", plan.Format(m.Arg.Raw())))
		case m.Arg.IsStatic():
			parts = append(parts, m.Op+" "+plan.Brief(m.Arg.Raw()))
		default:
			part := m.Op + " " + plan.Brief(m.Arg.Raw())
			if v, err := m.Arg.Eval(r.resolve); err == nil {
				part = m.Op + " " + plan.Brief(v) + " (" + plan.Format(m.Arg.Raw()) + ")"
			}
			parts = append(parts, part)
		}
	}
	s := strings.Join(parts, " and ")
	if e.As != "" {
		s += " (as a " + e.As + ")"
	}
	if len(e.Path) > 0 {
		s = e.Path.String() + " " + s
	}
	return r.red.String(s)
}

// hasRefs reports whether an operand of e, or of an expectation in it,
// holds a reference.
func hasRefs(e *plan.Expect) bool {
	if e == nil {
		return false
	}
	for _, m := range e.Matchers {
		if !m.Arg.IsStatic() || hasRefs(m.Nested) {
			return true
		}
	}
	return false
}

// snapshot copies a condition result for an event, so that observers that
// keep events see the result as it was. Without observers it copies nothing.
func (r *run) snapshot(res *ConditionResult) *ConditionResult {
	if len(r.opts.Observers) == 0 && r.journal == nil {
		return nil
	}
	c := *res
	c.Unmet = append([]string(nil), res.Unmet...)
	return &c
}

// evaluate makes one check of c and records the verdict in res.
// evaluate checks c once into res. It reports whether the check failed with
// an error that retrying cannot fix (actions.Permanent, such as refused
// credentials or an unverifiable certificate): a wait stops at once then.
func (r *run) evaluate(ctx context.Context, s *plan.Step, c *plan.Condition, res *ConditionResult) (permanent bool) {
	res.Unmet, res.Diff, res.Error, res.Observed = nil, "", "", nil
	var subject any
	var err error
	if c.Probe != "" {
		subject, err = r.observe(ctx, s, c)
	} else {
		subject, err = c.Value.Eval(r.resolve)
	}
	if err != nil {
		res.Status, res.Error = Error, r.red.String(err.Error())
		return actions.IsPermanent(err)
	}
	if c.Save != "" {
		r.vars[c.Save] = subject
		delete(r.secretVars, c.Save)
	}
	m, err := match(c.Expect, subject, r.resolve)
	res.Observed = r.red.Value(m.observed)
	if err != nil {
		res.Status, res.Error = Error, r.red.String(err.Error())
		return false
	}
	if len(m.unmet) > 0 {
		res.Status = Unmet
		res.Unmet = m.unmet
		for i := range res.Unmet {
			res.Unmet[i] = r.red.String(res.Unmet[i])
		}
		res.Diff = r.red.String(m.diff)
		return false
	}
	res.Status = Met
	return false
}

// observe calls the condition's probe, recovering a panic.
func (r *run) observe(ctx context.Context, s *plan.Step, c *plan.Condition) (v any, err error) {
	p, err := r.reg.NewProbe(c.Probe)
	if err != nil {
		return nil, err
	}
	w, err := c.With.Eval(r.resolve)
	if err != nil {
		return nil, fmt.Errorf("arguments: %w", err)
	}
	args, _ := w.(map[string]any)
	if args == nil {
		args = map[string]any{}
	}
	if val, ok := p.(actions.Validator); ok {
		if err := val.Validate(args); err != nil {
			return nil, fmt.Errorf("%s: invalid arguments: %w", c.Probe, err)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("probe %s: %w: %v\n%s", c.Probe, ErrPanic, p, debug.Stack())
		}
	}()
	emit := func(kind EventKind) func(string) {
		return func(msg string) {
			r.emit(Event{Kind: kind, Step: s.ID, Index: s.Index + 1, Count: len(r.p.Steps), Title: s.Name(), Line: c.Pos.Line, Message: msg})
		}
	}
	call := &actions.Call{Step: s.ID, Name: c.Probe, Args: args, Targets: r.targets, TargetSources: r.sources, Clock: r.clock, Attempt: 1,
		Log: emit(ActionLog), Progress: emit(ActionProgress)}
	if r.opts.Exec != nil {
		v, err = r.opts.Exec.Observe(ctx, p, call)
	} else {
		v, err = p.Observe(ctx, call)
	}
	if err != nil {
		if named(c.Probe, err) == err {
			return nil, err // it says which probe failed
		}
		return nil, fmt.Errorf("probe %s: %w", c.Probe, err)
	}
	return v, nil
}

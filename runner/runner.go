package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// DefaultInterval is the poll interval of a wait that gives none, when the
// runbook's defaults give none either.
const DefaultInterval = 10 * time.Second

// Options configure a run. The zero value runs with the plan's registry,
// the wall clock, no params, no observers and no journal.
type Options struct {
	// Registry provides the actions and probes. Nil: the registry the plan
	// was loaded with (plan.Plan.Registry), or actions.Default() for a plan
	// built by hand. A registry that lacks an action or probe the plan uses
	// is refused before the first step (ErrRegistryMismatch).
	Registry *actions.Registry
	// Params are the given params, by name. Text values are converted to
	// the declared types (see BindParams).
	Params map[string]any
	// Clock is the clock every wait goes through. Nil: the wall clock.
	Clock actions.Clock
	// Observers receive every event, secrets redacted.
	Observers []Observer
	// Journal, when set, records the run and, if it holds an earlier run
	// of the same runbook and params, resumes it. A dry run ignores it.
	Journal *Journal
	// DryRun runs no mutating action: each step says what would happen.
	DryRun bool
	// Approver answers manual approval gates. Nil: manual steps fail.
	Approver actions.Approver
}

// Run executes the plan. It returns the report, always non-nil, and an
// error when the run did not succeed: a [*StepError] for a failed step,
// combined with go-multierror with the errors of a rollback; an error
// wrapping ctx.Err() when ctx was done; ErrParams for bad params.
func Run(ctx context.Context, p *plan.Plan, opts Options) (*Report, error) {
	r, err := newRun(p, opts)
	if err != nil {
		rep := &Report{Runbook: p.Name, DryRun: opts.DryRun, Outcome: Failed, Error: err.Error()}
		return rep, err
	}
	return r.run(ctx)
}

type run struct {
	p        *plan.Plan
	opts     Options
	clock    actions.Clock
	reg      *actions.Registry
	params   map[string]any
	targets  map[string]map[string]any
	sources  map[string]map[string]any // the targets as written, for messages
	vars     map[string]any
	outputs  map[string]map[string]any
	red      *redactor
	report   *Report
	resolve  plan.Resolver
	journal  *Journal
	resumed  map[string]*journalStep
	changed  bool // dry run: a mutating action would have run
	interval time.Duration
}

func newRun(p *plan.Plan, opts Options) (*run, error) {
	r := &run{p: p, opts: opts, clock: opts.Clock, reg: opts.Registry,
		vars: map[string]any{}, outputs: map[string]map[string]any{}, journal: opts.Journal}
	if opts.DryRun {
		r.journal = nil // a dry run changes nothing and records nothing
	}
	if r.clock == nil {
		r.clock = actions.RealClock{}
	}
	r.reg = registryFor(p, opts.Registry)
	if err := checkRegistry(p, r.reg); err != nil {
		return nil, err
	}
	r.resolve = r.resolveRef
	params, err := BindParams(p, opts.Params)
	var secrets []string
	for _, prm := range p.Params {
		if !prm.Secret {
			continue
		}
		if v, ok := opts.Params[prm.Name]; ok {
			secrets = append(secrets, plan.Format(v))
		}
		if v, ok := params[prm.Name]; ok {
			secrets = append(secrets, plan.Format(v))
		}
	}
	r.red = newRedactor(secrets)
	if err != nil {
		return nil, r.red.Error(err)
	}
	r.params = params
	r.targets = make(map[string]map[string]any, len(p.Targets))
	r.sources = make(map[string]map[string]any, len(p.Targets))
	for _, t := range p.Targets {
		r.sources[t.Name], _ = t.Fields.Raw().(map[string]any)
		v, err := t.Fields.Eval(r.resolve)
		if err != nil {
			return nil, r.red.Error(fmt.Errorf("target %q (%s:%d): %w", t.Name, p.Filename, t.Pos.Line, err))
		}
		m, _ := v.(map[string]any)
		r.targets[t.Name] = m
	}
	r.interval = DefaultInterval
	if p.Defaults.Interval.IsSet() {
		if d, err := r.duration(p.Defaults.Interval); err == nil && d > 0 {
			r.interval = d
		}
	}
	if r.journal != nil {
		if err := r.journal.begin(p, params); err != nil {
			return nil, r.red.Error(err)
		}
		r.resumed = r.journal.previous
	}
	return r, nil
}

func (r *run) resolveRef(ref *plan.Ref) (any, error) {
	var v any
	switch ref.Scope {
	case plan.ScopeParams:
		var ok bool
		if v, ok = r.params[ref.Name]; !ok {
			return nil, fmt.Errorf("%s: no such param", ref.Source)
		}
	case plan.ScopeVars:
		var ok bool
		if v, ok = r.vars[ref.Name]; !ok {
			return nil, fmt.Errorf("%s has no value: the condition that saves it did not run", ref.Source)
		}
	case plan.ScopeSteps:
		out, ok := r.outputs[ref.Name]
		if !ok {
			return nil, fmt.Errorf("%s has no value: step %q did not run", ref.Source, ref.Name)
		}
		if v, ok = out[ref.Output]; !ok {
			return nil, fmt.Errorf("%s: step %q has no output %q", ref.Source, ref.Name, ref.Output)
		}
	}
	if len(ref.Path) == 0 {
		return v, nil
	}
	sel, err := ref.Path.Select(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref.Source, err)
	}
	return sel, nil
}

func (r *run) emit(e Event) {
	if len(r.opts.Observers) == 0 {
		return
	}
	e.Time = r.clock.Now()
	e.Runbook = r.p.Name
	e.DryRun = r.opts.DryRun
	e.Message = r.red.String(e.Message)
	e.Error = r.red.String(e.Error)
	for _, o := range r.opts.Observers {
		o.Observe(e)
	}
}

func (r *run) run(ctx context.Context) (*Report, error) {
	start := r.clock.Now()
	rep := &Report{Runbook: r.p.Name, DryRun: r.opts.DryRun, Steps: make([]StepReport, len(r.p.Steps))}
	r.report = rep
	for i, s := range r.p.Steps {
		rep.Steps[i] = StepReport{ID: s.ID, Title: s.Title, Line: s.Pos.Line, Outcome: NotRun}
	}
	r.emit(Event{Kind: RunStart, Count: len(r.p.Steps), Message: r.p.Title})
	var errs *multierror.Error
	var stop error
	failed := false
	for i, s := range r.p.Steps {
		if err := ctx.Err(); err != nil {
			stop = fmt.Errorf("run cancelled before step %q: %w", s.ID, err)
			break
		}
		sr := &rep.Steps[i]
		err := r.step(ctx, i, s, sr)
		if err == nil {
			continue
		}
		err = r.red.Error(err)
		if ctx.Err() != nil {
			stop = err
			break
		}
		failed = true
		if r.opts.DryRun {
			if r.policy(s) == plan.Continue {
				continue
			}
			stop = err
			r.notReached(i, fmt.Sprintf("not reached: step %q is blocked", s.ID))
			break
		}
		switch r.policy(s) {
		case plan.Continue:
			errs = multierror.Append(errs, err)
			continue
		case plan.Rollback:
			stop = err
			if uerr := r.rollback(ctx, i); uerr != nil {
				errs = multierror.Append(errs, uerr)
			}
		default:
			stop = err
		}
		r.notReached(i, fmt.Sprintf("not run: the run stopped at step %q", s.ID))
		break
	}
	if stop != nil {
		errs = multierror.Append(&multierror.Error{Errors: []error{stop}}, errs.WrappedErrors()...)
	}
	rep.Duration = r.clock.Now().Sub(start)
	switch {
	case ctx.Err() != nil:
		rep.Outcome = Cancelled
	case failed || errs != nil:
		rep.Outcome = Failed
	case r.opts.DryRun:
		rep.Outcome = WouldRun
	default:
		rep.Outcome = Succeeded
	}
	var err error
	if errs != nil {
		errs.ErrorFormat = func(es []error) string {
			lines := make([]string, len(es))
			for i, e := range es {
				lines[i] = e.Error()
			}
			return strings.Join(lines, "\n")
		}
		if len(errs.Errors) == 1 {
			err = errs.Errors[0]
		} else {
			err = errs
		}
		rep.Error = err.Error()
	}
	if r.journal != nil {
		if jerr := r.journal.end(rep.Outcome, rep.Error); jerr != nil && err == nil {
			err = jerr
			rep.Error = err.Error()
		}
	}
	r.emit(Event{Kind: RunEnd, Count: len(r.p.Steps), Outcome: rep.Outcome, Elapsed: rep.Duration, Error: rep.Error})
	return rep, err
}

func (r *run) notReached(i int, reason string) {
	for j := i + 1; j < len(r.report.Steps); j++ {
		if r.report.Steps[j].Outcome == NotRun && r.report.Steps[j].Reason == "" {
			r.report.Steps[j].Reason = reason
		}
	}
}

func (r *run) policy(s *plan.Step) plan.FailurePolicy {
	if s.OnFailure != "" {
		return s.OnFailure
	}
	if r.p.Defaults.OnFailure != "" {
		return r.p.Defaults.OnFailure
	}
	return plan.Abort
}

func (r *run) stepError(s *plan.Step, attempt int, err error) error {
	return &StepError{Step: s.ID, File: r.p.Filename, Pos: s.Pos, Attempt: attempt, Err: err}
}

// step runs one step and fills its report.
func (r *run) step(ctx context.Context, i int, s *plan.Step, sr *StepReport) error {
	start := r.clock.Now()
	base := Event{Step: s.ID, Index: i + 1, Count: len(r.p.Steps), Title: s.Name(), Line: s.Pos.Line}
	ev := func(e Event) {
		e.Step, e.Index, e.Count, e.Title = base.Step, base.Index, base.Count, base.Title
		if e.Line == 0 {
			e.Line = base.Line
		}
		r.emit(e)
	}
	end := func(o Outcome, reason string, err error) error {
		sr.Outcome, sr.Reason = o, r.red.String(reason)
		sr.Duration = r.clock.Now().Sub(start)
		e := Event{Kind: StepEnd, Outcome: o, Message: sr.Reason, Elapsed: sr.Duration}
		if err != nil {
			e.Error = err.Error()
		}
		if r.journal != nil && !r.opts.DryRun && ctx.Err() == nil {
			if jerr := r.journal.stepEnd(s.ID, o, sr.Outputs, r.savedBy(s)); jerr != nil && err == nil {
				err = jerr
			}
		}
		ev(e)
		return err
	}
	if prev := r.resumed[s.ID]; prev != nil && prev.done() {
		r.restore(s, prev)
		sr.Outputs = r.red.Map(r.outputs[s.ID])
		ev(Event{Kind: StepStart})
		return end(Resumed, "recorded as done in the journal", nil)
	}
	ev(Event{Kind: StepStart})
	if r.journal != nil && !r.opts.DryRun {
		if err := r.journal.stepStart(s.ID); err != nil {
			return end(Failed, err.Error(), r.stepError(s, 0, err))
		}
	}
	dry := r.opts.DryRun
	if s.When != nil {
		res := r.condition(ctx, s, s.When, PhaseWhen, ev)
		sr.When = &res
		switch res.Status {
		case Unmet:
			reason := "when: " + res.Condition + " does not hold"
			if s.When.Title == "" {
				reason += ": " + strings.Join(res.Unmet, "; ")
			}
			if dry {
				return end(WouldSkip, reason, nil)
			}
			return end(Skipped, reason, nil)
		case Error:
			err := r.stepError(s, 0, &conditionError{kind: ErrCondition, results: []ConditionResult{res}})
			return end(Failed, err.Error(), err)
		}
	}
	// An interrupted step of an earlier run: done if its postconditions
	// hold. When its action had started, they get their waits: the action
	// may still be taking effect (an installer restarting a server), and
	// running it again meanwhile would be worse than waiting.
	if prev := r.resumed[s.ID]; prev != nil && !dry && len(s.Post) > 0 {
		post := make([]ConditionResult, len(s.Post))
		allMet := true
		for k, c := range s.Post {
			post[k] = r.check(ctx, s, c, PhasePost, ev, prev.Acted)
			allMet = allMet && post[k].Status == Met
			if ctx.Err() != nil {
				sr.Post = post[:k+1]
				return end(Cancelled, "cancelled while checking the postconditions of the interrupted step", r.stepError(s, 0, fmt.Errorf("cancelled: %w", ctx.Err())))
			}
			if !allMet {
				break
			}
		}
		if allMet {
			sr.Post = post
			return end(Succeeded, "interrupted earlier; its postconditions hold", nil)
		}
	}
	if len(s.Pre) > 0 {
		sr.Pre = make([]ConditionResult, len(s.Pre))
		ok := true
		for k, c := range s.Pre {
			sr.Pre[k] = r.condition(ctx, s, c, PhasePre, ev)
			ok = ok && (sr.Pre[k].Status == Met || sr.Pre[k].Status == NotChecked)
			if ctx.Err() != nil {
				return end(Cancelled, "cancelled while checking preconditions", r.stepError(s, 0, fmt.Errorf("cancelled: %w", ctx.Err())))
			}
		}
		if !ok {
			err := r.stepError(s, 0, &conditionError{kind: ErrPrecondition, results: sr.Pre})
			if dry {
				return end(Blocked, err.(*StepError).Err.Error(), err)
			}
			return end(Failed, err.(*StepError).Err.Error(), err)
		}
	}
	if s.Action != "" {
		spec, _ := r.reg.Spec(actions.KindAction, s.Action)
		if !dry && r.journal != nil {
			if err := r.journal.actionStart(s.ID); err != nil {
				return end(Failed, err.Error(), r.stepError(s, 0, err))
			}
		}
		if dry {
			if spec.Mutates {
				r.changed = true
			}
			reason := "action " + s.Action
			if !spec.Mutates {
				reason += " (read-only, not run in a dry run)"
			}
			return end(WouldRun, reason, nil)
		}
		out, attempt, err := r.action(ctx, s, sr, ev)
		if err != nil {
			o := Failed
			if ctx.Err() != nil {
				o = Cancelled
			}
			serr := r.stepError(s, attempt, err)
			return end(o, serr.(*StepError).Err.Error(), serr)
		}
		r.outputs[s.ID] = out
		sr.Outputs = r.red.Map(out)
	}
	if len(s.Post) > 0 {
		sr.Post = make([]ConditionResult, len(s.Post))
		ok := true
		for k, c := range s.Post {
			sr.Post[k] = r.condition(ctx, s, c, PhasePost, ev)
			ok = ok && (sr.Post[k].Status == Met || sr.Post[k].Status == NotChecked)
			if ctx.Err() != nil {
				return end(Cancelled, "cancelled while checking postconditions", r.stepError(s, 0, fmt.Errorf("cancelled: %w", ctx.Err())))
			}
		}
		if !ok {
			err := r.stepError(s, 0, &conditionError{kind: ErrPostcondition, results: sr.Post})
			if dry {
				return end(Blocked, err.(*StepError).Err.Error(), err)
			}
			return end(Failed, err.(*StepError).Err.Error(), err)
		}
	}
	if dry {
		return end(WouldRun, "checks only", nil)
	}
	return end(Succeeded, "", nil)
}

// savedBy returns the vars the step's conditions saved.
func (r *run) savedBy(s *plan.Step) map[string]any {
	var out map[string]any
	for _, cs := range [][]*plan.Condition{s.Pre, s.Post} {
		for _, c := range cs {
			if v, ok := r.vars[c.Save]; ok && c.Save != "" {
				if out == nil {
					out = map[string]any{}
				}
				out[c.Save] = v
			}
		}
	}
	return out
}

func (r *run) restore(s *plan.Step, prev *journalStep) {
	if prev.Outputs != nil {
		r.outputs[s.ID] = prev.Outputs
	} else if s.Action != "" {
		r.outputs[s.ID] = map[string]any{}
	}
	for k, v := range prev.Vars {
		r.vars[k] = v
	}
}

// duration resolves a runbook duration.
func (r *run) duration(d plan.Duration) (time.Duration, error) {
	if d.Ref == nil {
		return d.D, nil
	}
	v, err := d.Ref.Eval(r.resolve)
	if err != nil {
		return 0, err
	}
	switch t := v.(type) {
	case string:
		du, err := time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("line %d: %q is not a duration", d.Pos.Line, t)
		}
		return du, nil
	case time.Duration:
		return t, nil
	}
	return 0, fmt.Errorf("line %d: want a duration, got %s", d.Pos.Line, plan.TypeName(v))
}

// action runs the step's action with its timeout and retry policy.
func (r *run) action(ctx context.Context, s *plan.Step, sr *StepReport, ev func(Event)) (map[string]any, int, error) {
	act, err := r.reg.NewAction(s.Action)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrAction, err)
	}
	v, err := s.With.Eval(r.resolve)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: arguments: %w", ErrAction, err)
	}
	args, _ := v.(map[string]any)
	if args == nil {
		args = map[string]any{}
	}
	if val, ok := act.(actions.Validator); ok {
		if err := val.Validate(args); err != nil {
			return nil, 0, fmt.Errorf("%w: %s: invalid arguments: %w", ErrAction, s.Action, actions.Permanent(err))
		}
	}
	timeout := time.Duration(0)
	if s.Timeout.IsSet() {
		timeout, err = r.duration(s.Timeout)
	} else if r.p.Defaults.Timeout.IsSet() {
		timeout, err = r.duration(r.p.Defaults.Timeout)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: timeout: %w", ErrAction, err)
	}
	retry := s.Retry
	if retry == nil {
		retry = r.p.Defaults.Retry
	}
	attempts, interval, backoff, maxInterval := 1, time.Duration(0), 1.0, time.Duration(0)
	if retry != nil {
		attempts = max(retry.Attempts, 1)
		if interval, err = r.duration(retry.Interval); err != nil {
			return nil, 0, err
		}
		if maxInterval, err = r.duration(retry.MaxInterval); err != nil {
			return nil, 0, err
		}
		if retry.Backoff > 0 {
			backoff = retry.Backoff
		}
	}
	for n := 1; ; n++ {
		call := &actions.Call{Step: s.ID, Name: s.Action, Args: args, Targets: r.targets, TargetSources: r.sources, Clock: r.clock,
			Attempt: n, Approver: r.opts.Approver, Log: func(msg string) { ev(Event{Kind: ActionLog, Attempt: n, Message: msg}) }}
		ev(Event{Kind: AttemptStart, Attempt: n, Line: s.ActionPos.Line, Message: s.Action})
		t0 := r.clock.Now()
		out, err := r.attempt(ctx, act, call, timeout)
		took := r.clock.Now().Sub(t0)
		a := Attempt{N: n, Duration: took}
		if err != nil {
			a.Error = r.red.String(err.Error())
		}
		sr.Attempts = append(sr.Attempts, a)
		ev(Event{Kind: AttemptEnd, Attempt: n, Line: s.ActionPos.Line, Elapsed: took, Error: a.Error, Message: s.Action})
		if err == nil {
			return out, n, nil
		}
		err = fmt.Errorf("%w: %s: %w", ErrAction, s.Action, err)
		if n >= attempts || actions.IsPermanent(err) || ctx.Err() != nil {
			if n > 1 && n >= attempts {
				err = fmt.Errorf("%w (after %d attempts)", err, n)
			}
			return nil, n, err
		}
		if interval > 0 {
			if serr := r.clock.Sleep(ctx, interval); serr != nil {
				return nil, n, fmt.Errorf("cancelled while waiting to retry: %w", serr)
			}
			interval = time.Duration(math.Min(float64(interval)*backoff, float64(math.MaxInt64)))
			if maxInterval > 0 && interval > maxInterval {
				interval = maxInterval
			}
		}
	}
}

type result struct {
	out map[string]any
	err error
}

// attempt runs an action once, bounded by timeout, recovering panics. An
// action that ignores its context is abandoned when the context is done.
func (r *run) attempt(ctx context.Context, act actions.Action, call *actions.Call, timeout time.Duration) (map[string]any, error) {
	if timeout <= 0 && ctx.Done() == nil {
		// Nothing can interrupt the action: run it on this goroutine.
		return runInline(ctx, act, call)
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		actx, cancel = r.clock.WithTimeout(ctx, timeout)
	}
	defer cancel()
	done := make(chan result, 1)
	go func() {
		out, err := runInline(actx, act, call)
		done <- result{out, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-actx.Done():
		select {
		case res = <-done:
		default:
			res.err = actx.Err()
		}
	}
	if res.err != nil && actx.Err() != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w after %s: %w", ErrTimeout, timeout, res.err)
	}
	if res.err == nil && ctx.Err() != nil {
		return res.out, nil
	}
	return res.out, res.err
}

// runInline runs an action, turning a panic into a permanent error.
func runInline(ctx context.Context, act actions.Action, call *actions.Call) (out map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, actions.Permanent(fmt.Errorf("%w: %v\n%s", ErrPanic, p, debug.Stack()))
		}
	}()
	return act.Run(ctx, call)
}

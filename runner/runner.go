package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
	"github.com/csmplan/csmplan/plan"
)

// settleMargin is how long, beyond the kill grace of the commands it
// runs (remote.KillGraceOf), a cancelled action has to return before the
// run abandons it and goes on.
const settleMargin = 5 * time.Second

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
	// From, when set, is the id of the step the run starts at; Only, when
	// set, the ids of the only steps that run. The steps left out end
	// Skipped (in a dry run WouldSkip) with ByOperator set and a Reason
	// that begins with OperatorSkip; the steps that run are guarded by
	// their preconditions as always. A journal records the steps left out
	// as skipped, so that a resume does not run them either. Unknown ids,
	// both fields together, or either with a journal holding an earlier
	// run to resume are refused before the first step (ErrSelection).
	From string
	Only []string
	// Confirm, when set, is asked once, before the first mutating action
	// of the run (never in a dry run), with the mutating steps to come.
	// When it answers false, or fails, the run stops there, changing
	// nothing, with an error wrapping ErrDeclined (see PlannedChange).
	Confirm func(ctx context.Context, changes []PlannedChange) (bool, error)
	// Stop, when closed, asks the run to stop gracefully: waits, probes
	// and actions that change nothing are cancelled, no new action
	// starts, and a mutating action (actions.Spec.Mutates) already
	// running is let finish: its context is cancelled only when ctx is
	// done. The journal records its end, so that a resume checks its
	// postconditions, and the run stops before them. A RunStopping event
	// says what the run still waits for; the run ends Cancelled with
	// ErrInterrupted. Nil: only ctx stops the run (cancelling ctx
	// cancels everything at once, the mutating action included).
	Stop <-chan struct{}
	// Exec, when set, performs the calls of actions and probes (see
	// Exec). Nil: the run calls them itself, each action attempt bounded
	// by its timeout on Clock.
	Exec Exec
}

// Run executes the plan. It returns the report, always non-nil, and an
// error when the report's outcome is neither Succeeded nor WouldRun (and
// when the journal cannot record the run's end):
//   - Cancelled: ctx was done before the run ended. The error wraps
//     [ErrInterrupted] and ctx.Err(), never ErrAction nor a condition's
//     failure (see ErrInterrupted).
//   - Failed: a [*StepError] for a failed step (in a dry run, a blocked
//     one), combined with go-multierror with the errors of the steps that
//     failed before it under on_failure: continue and of a rollback;
//     ErrParams for bad params; ErrDuration for a duration, given through
//     a reference, that is not one.
//
// A dry run's report ends WouldRun when every step would run or be
// skipped, and Failed, with an error, when a step is blocked or failed,
// whatever its on_failure.
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
	// hard is the run's own context, which cancels mutating actions; the
	// steps run with one that Options.Stop cancels too (halt). announced:
	// the RunStopping event went out.
	hard      context.Context
	halt      func()
	announced bool
	// What a resumed run restored from the journal but cannot use (see
	// ErrNotRestored): outputs, by step, and vars that held a secret; the
	// steps found done whose outputs the journal does not have.
	secretOutputs map[string][]string
	secretVars    map[string]bool
	lostOutputs   map[string]bool

	// confirmed: Options.Confirm confirmed the changes to come.
	confirmed bool
}

func newRun(p *plan.Plan, opts Options) (*run, error) {
	if err := checkSelection(p, opts); err != nil {
		return nil, err
	}
	r := &run{p: p, opts: opts, clock: opts.Clock, reg: opts.Registry,
		vars: map[string]any{}, outputs: map[string]map[string]any{}, journal: opts.Journal,
		secretOutputs: map[string][]string{}, secretVars: map[string]bool{}, lostOutputs: map[string]bool{}}
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
		if v, ok := params[prm.Name]; ok && (prm.HasDefault || opts.Params[prm.Name] != nil) {
			secrets = append(secrets, plan.Format(v)) // not the zero value of a secret not given: nothing to hide
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
		d, err := r.duration(p.Defaults.Interval)
		if err != nil {
			return nil, r.red.Error(fmt.Errorf("defaults: interval: %w", err))
		}
		if d > 0 {
			r.interval = d
		}
	}
	if r.journal != nil {
		if (opts.From != "" || len(opts.Only) > 0) && r.journal.header != nil {
			return nil, fmt.Errorf("%w: the journal %s holds an earlier run to resume, which decides the steps that are done: resume without choosing steps, or start a new journal", ErrSelection, r.journal.path)
		}
		if err := r.journal.begin(p, params, r.clock, r.reg); err != nil {
			return nil, r.red.Error(err)
		}
		r.resumed = r.journal.previous
	}
	return r, nil
}

func (r *run) resolveRef(ref *plan.Ref) (any, error) {
	if err := r.notRestored(ref); err != nil {
		return nil, err
	}
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
			return nil, fmt.Errorf("%s has no value: the condition that saves it did not run%s", ref.Source, r.selectionNote())
		}
	case plan.ScopeSteps:
		out, ok := r.outputs[ref.Name]
		if !ok {
			return nil, fmt.Errorf("%s has no value: step %q did not run%s", ref.Source, ref.Name, r.selectionNote())
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
	if e.Kind != RunStart && e.Kind != RunStopping && !r.announced && r.stopAsked() {
		r.announce(nil, Event{}) // nothing that changes anything is in flight
	}
	if len(r.opts.Observers) == 0 && r.journal == nil {
		return
	}
	e.Time = r.clock.Now()
	e.Runbook = r.p.Name
	e.DryRun = r.opts.DryRun
	e.Message = r.red.String(e.Message)
	e.Error = r.red.String(e.Error)
	if r.journal != nil {
		r.journal.observe(e)
	}
	for _, o := range r.opts.Observers {
		o.Observe(e)
	}
}

func (r *run) run(ctx context.Context) (*Report, error) {
	ctx, release := r.stoppable(ctx)
	defer release()
	start := r.clock.Now()
	rep := &Report{Runbook: r.p.Name, DryRun: r.opts.DryRun, Steps: make([]StepReport, len(r.p.Steps))}
	r.report = rep
	for i, s := range r.p.Steps {
		rep.Steps[i] = StepReport{ID: s.ID, Title: s.Title, Line: s.Pos.Line, Outcome: NotRun}
	}
	r.emit(Event{Kind: RunStart, Count: len(r.p.Steps), Message: r.p.Title})
	var errs *multierror.Error
	var stop error
	for i, s := range r.p.Steps {
		if r.stopAsked() || ctx.Err() != nil {
			stop = interrupted(ctx, fmt.Sprintf("before step %q", s.ID))
			break
		}
		sr := &rep.Steps[i]
		err := r.step(ctx, i, s, sr)
		if err == nil {
			continue
		}
		err = r.red.Error(err)
		if errors.Is(err, ErrDeclined) && ctx.Err() == nil {
			stop = err // nothing changed: no rollback, whatever the policy
			r.notReached(i, "not run: the changes were not confirmed")
			break
		}
		if ctx.Err() != nil {
			if !errors.Is(err, ErrInterrupted) {
				// The step failed as the run was interrupted: the
				// interruption is what the run's error says.
				err = fmt.Errorf("%w: %w", interrupted(ctx, fmt.Sprintf("in step %q", s.ID)), err)
			}
			stop = err
			break
		}
		if r.opts.DryRun {
			if r.policy(s) == plan.Continue {
				errs = multierror.Append(errs, err)
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
	switch {
	case errors.Is(err, ErrInterrupted):
		rep.Outcome = Cancelled
	case err != nil:
		rep.Outcome = Failed
	case r.opts.DryRun:
		rep.Outcome = WouldRun
	default:
		rep.Outcome = Succeeded
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
		if r.journal != nil && ctx.Err() == nil {
			if jerr := r.journal.stepEnd(s.ID, o, r.values(s, s.Pre, s.Post), sr); jerr != nil && err == nil {
				err = jerr
			}
		}
		ev(e)
		return err
	}
	fail := func(o Outcome, attempt int, err error) error {
		return end(o, err.Error(), r.stepError(s, attempt, err))
	}
	cancelled := func(while string) error { return fail(Cancelled, 0, interrupted(ctx, while)) }
	dry := r.opts.DryRun
	unmet := Failed // the outcome of a step whose conditions do not hold
	if dry {
		unmet = Blocked
	}
	prev := r.resumed[s.ID] // nil in a dry run, which has no journal
	if prev != nil && prev.done() {
		r.restore(s, prev.values, prev.OutputsLost, nil)
		sr.Outputs = r.red.Map(r.outputs[s.ID])
		ev(Event{Kind: StepStart})
		return end(Resumed, "recorded as done in the journal", nil)
	}
	ev(Event{Kind: StepStart})
	if r.journal != nil {
		if err := r.journal.stepStart(s.ID); err != nil {
			return fail(Failed, 0, err)
		}
	}
	if reason := r.operatorSkip(i); reason != "" {
		sr.ByOperator = true
		if dry {
			return end(WouldSkip, reason, nil)
		}
		return end(Skipped, reason, nil)
	}
	// The action of an earlier run was interrupted: what it left behind
	// decides what this run does, so its Inspector is asked first.
	ins := actions.Unknown
	if prev != nil && prev.Attempt == attemptStarted {
		var err error
		ins, err = r.inspect(ctx, s, sr, ev)
		if ctx.Err() != nil {
			return cancelled("while inspecting the action that an earlier run left unfinished")
		}
		if err != nil {
			return fail(Failed, 0, err)
		}
	}
	if s.When != nil {
		res, cause := r.condition(ctx, s, s.When, PhaseWhen, ev)
		sr.When = &res
		if ctx.Err() != nil {
			return cancelled("while checking the when condition")
		}
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
			return fail(Failed, 0, &conditionError{kind: ErrCondition, results: []ConditionResult{res}, cause: cause})
		}
	}
	// A step that an earlier run left unfinished, or that failed, is done
	// if its postconditions hold (see unfinished); an attempt that an
	// Exec lost (ErrActionLost) is decided the same way, below.
	// from: the attempts made before one an Exec lost, and lost its error;
	// given: the lost attempts found not done, which do not count among
	// the step's attempts (at most maxGiven: a worker that dies at each
	// start does not loop forever).
	from, lost, given := 0, error(nil), 0
again:
	if prev != nil && ins != actions.NotDone {
		reason, err := r.unfinished(ctx, s, sr, ev, prev, ins, lost != nil)
		switch {
		case errors.Is(err, ErrInterrupted):
			return fail(Cancelled, 0, err)
		case err != nil:
			return fail(Failed, from, err)
		case reason != "":
			return end(Succeeded, reason, nil)
		}
	}
	if len(s.Pre) > 0 {
		var err error
		sr.Pre, err = r.conditions(ctx, s.Pre, ErrPrecondition, false, func(c *plan.Condition) (ConditionResult, error) {
			return r.condition(ctx, s, c, PhasePre, ev)
		})
		if ctx.Err() != nil {
			return cancelled("while checking the preconditions")
		}
		if err != nil {
			return fail(unmet, 0, err)
		}
	}
	if s.Action != "" {
		if dry {
			reason := "action " + s.Action
			if spec, _ := r.reg.Spec(actions.KindAction, s.Action); spec.Mutates {
				r.changed = true
				checked, err := r.preflight(ctx, s, ev)
				if ctx.Err() != nil {
					return cancelled("while checking what action " + s.Action + " needs")
				}
				if err != nil {
					return fail(Blocked, 0, err)
				}
				if checked {
					reason += " (what it needs is there)"
				}
			} else {
				reason += " (read-only, not run in a dry run)"
			}
			return end(WouldRun, reason, nil)
		}
		if err := r.confirm(ctx, i); err != nil {
			return end(NotRun, err.Error(), r.stepError(s, 0, err))
		}
		if r.stopAsked() || ctx.Err() != nil {
			return cancelled("before action " + s.Action + " started")
		}
		if r.journal != nil {
			if err := r.journal.actionStart(s.ID, r.values(s, s.Pre)); err != nil {
				return fail(Failed, 0, err)
			}
		}
		if lost != nil && from >= r.attempts(s)+given {
			return fail(Failed, from, fmt.Errorf("%w: %w, and the step is not done: its attempts are spent", ErrAction, named(s.Action, lost)))
		}
		out, attempt, err := r.action(ctx, s, sr, ev, from)
		if errors.Is(err, ErrActionLost) && ctx.Err() == nil {
			// Whether it took effect is unknown, as after a crash: its end
			// stays unrecorded, and what it left behind decides, as for a
			// resume.
			prev, from, lost = &journalStep{Attempt: attemptStarted}, attempt, err
			if ins, err = r.inspect(ctx, s, sr, ev); err != nil {
				return fail(Failed, attempt, err)
			}
			if ctx.Err() != nil {
				return cancelled("while inspecting the action whose attempt was lost")
			}
			if ins == actions.NotDone && given < maxGiven {
				given++ // it never took effect
			}
			goto again
		}
		if err == nil {
			r.setOutputs(s, out)
			sr.Outputs = r.red.Map(out)
		}
		if r.journal != nil && !errors.Is(err, ErrInterrupted) {
			if jerr := r.journal.actionEnd(s.ID, values{Outputs: out}, err); jerr != nil && err == nil {
				return fail(Failed, attempt, jerr)
			}
		}
		if err != nil {
			o := Failed
			if errors.Is(err, ErrInterrupted) {
				o = Cancelled
			}
			return fail(o, attempt, err)
		}
		if len(s.Post) > 0 && (r.stopAsked() || ctx.Err() != nil) {
			// Its end is in the journal: a resume checks the postconditions.
			return cancelled("after action " + s.Action + " ended, before its postconditions")
		}
	}
	if len(s.Post) > 0 {
		var err error
		sr.Post, err = r.conditions(ctx, s.Post, ErrPostcondition, false, func(c *plan.Condition) (ConditionResult, error) {
			return r.condition(ctx, s, c, PhasePost, ev)
		})
		if ctx.Err() != nil {
			return cancelled("while checking the postconditions")
		}
		if err != nil {
			return fail(unmet, 0, err)
		}
	}
	if dry {
		return end(WouldRun, "checks only", nil)
	}
	return end(Succeeded, "", nil)
}

// conditions checks the conditions cs with check, in turn, until the
// context is done, and returns their results. When one does not hold (it
// is unmet, or could not be checked), the error is a *conditionError of
// kind; with first set, the conditions after it are not checked.
func (r *run) conditions(ctx context.Context, cs []*plan.Condition, kind error, first bool, check func(*plan.Condition) (ConditionResult, error)) ([]ConditionResult, error) {
	results := make([]ConditionResult, 0, len(cs))
	ok := true
	var cause error
	for _, c := range cs {
		res, err := check(c)
		results = append(results, res)
		ok = ok && (res.Status == Met || res.Status == NotChecked)
		cause = cmp.Or(cause, err)
		if ctx.Err() != nil || !ok && first {
			break
		}
	}
	if !ok {
		return results, &conditionError{kind: kind, results: results, cause: cause}
	}
	return results, nil
}

// duration resolves a runbook duration. A value that is not a duration,
// or is negative, is ErrDuration.
func (r *run) duration(d plan.Duration) (time.Duration, error) {
	if d.Ref == nil {
		return d.D, nil
	}
	v, err := d.Ref.Eval(r.resolve)
	if err != nil {
		return 0, fmt.Errorf("line %d: %w", d.Pos.Line, err)
	}
	var du time.Duration
	switch t := v.(type) {
	case string:
		if du, err = time.ParseDuration(t); err != nil {
			return 0, fmt.Errorf("%w: line %d: %q is not a duration: use Go syntax such as 30s, 10m, 1h30m", ErrDuration, d.Pos.Line, t)
		}
	case time.Duration:
		du = t
	default:
		return 0, fmt.Errorf("%w: line %d: want a duration such as 30s, got %s", ErrDuration, d.Pos.Line, plan.TypeName(v))
	}
	if du < 0 {
		return 0, fmt.Errorf("%w: line %d: duration %q is negative", ErrDuration, d.Pos.Line, plan.Format(v))
	}
	return du, nil
}

// prepare makes the step's action, and resolves its arguments (checked by
// its Validator) and its timeout.
func (r *run) prepare(s *plan.Step) (act actions.Action, args map[string]any, timeout time.Duration, err error) {
	if act, err = r.reg.NewAction(s.Action); err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", ErrAction, err)
	}
	v, err := s.With.Eval(r.resolve)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: arguments: %w", ErrAction, err)
	}
	args, _ = v.(map[string]any)
	if args == nil {
		args = map[string]any{}
	}
	if val, ok := act.(actions.Validator); ok {
		if err := val.Validate(args); err != nil {
			return nil, nil, 0, fmt.Errorf("%w: %s: invalid arguments: %w", ErrAction, s.Action, actions.Permanent(err))
		}
	}
	if s.Timeout.IsSet() {
		timeout, err = r.duration(s.Timeout)
	} else if r.p.Defaults.Timeout.IsSet() {
		timeout, err = r.duration(r.p.Defaults.Timeout)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("timeout: %w", err)
	}
	return act, args, timeout, nil
}

// call is attempt n of the step's action with args; its messages go out
// as ActionLog events.
func (r *run) call(s *plan.Step, args map[string]any, n int, ev func(Event)) *actions.Call {
	return &actions.Call{Step: s.ID, Name: s.Action, Args: args, Targets: r.targets, TargetSources: r.sources, Clock: r.clock,
		Attempt: n, Approver: r.opts.Approver, Log: func(msg string) { ev(Event{Kind: ActionLog, Attempt: n, Message: msg}) },
		Progress: func(msg string) { ev(Event{Kind: ActionProgress, Attempt: n, Message: msg}) }}
}

// action runs the step's action with its timeout and retry policy.
// maxGiven bounds the lost attempts of a step that, found not done, do
// not count among its attempts.
const maxGiven = 3

// Attempts are numbered from from+1: from attempts were made before one
// that an Exec lost (ErrActionLost), which ends the attempts at once.
func (r *run) action(ctx context.Context, s *plan.Step, sr *StepReport, ev func(Event), from int) (map[string]any, int, error) {
	act, args, timeout, err := r.prepare(s)
	if err != nil {
		return nil, 0, err
	}
	retry := s.Retry
	if retry == nil {
		retry = r.p.Defaults.Retry
	}
	attempts, interval, backoff, maxInterval := 1, time.Duration(0), 1.0, time.Duration(0)
	if retry != nil {
		attempts = max(retry.Attempts, 1)
		if interval, err = r.duration(retry.Interval); err != nil {
			return nil, 0, fmt.Errorf("retry: interval: %w", err)
		}
		if maxInterval, err = r.duration(retry.MaxInterval); err != nil {
			return nil, 0, fmt.Errorf("retry: max_interval: %w", err)
		}
		if retry.Backoff > 0 {
			backoff = retry.Backoff
		}
	}
	// A mutating action runs with the run's own context: a Stop lets it
	// finish, and says so (RunStopping) while it runs.
	actx, stop := ctx, (<-chan struct{})(nil)
	if spec, _ := r.reg.Spec(actions.KindAction, s.Action); spec.Mutates {
		actx, stop = r.hard, r.opts.Stop
	}
	for n := from + 1; ; n++ {
		call := r.call(s, args, n, ev)
		ev(Event{Kind: AttemptStart, Attempt: n, Line: s.ActionPos.Line, Timeout: timeout, Message: s.Action})
		t0 := r.clock.Now()
		if r.announced {
			stop = nil
		}
		onStop := func() { r.announce(ev, Event{Attempt: n, Line: s.ActionPos.Line, Message: s.Action}) }
		var out map[string]any
		var err error
		if r.opts.Exec != nil {
			out, err = execAct(actx, r.opts.Exec, act, call, timeout)
		} else {
			out, err = bounded(actx, r.clock, timeout, func(ctx context.Context) (map[string]any, error) { return act.Run(ctx, call) }, stop, onStop)
		}
		stopped := actx.Err() != nil // the run was interrupted while the attempt ran
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
		if stopped {
			return nil, n, interrupted(actx, "while action "+s.Action+" ran")
		}
		if errors.Is(err, ErrActionLost) {
			return nil, n, err
		}
		err = fmt.Errorf("%w: %w", ErrAction, named(s.Action, err))
		if n >= attempts || actions.IsPermanent(err) {
			if n > 1 && n >= attempts {
				err = fmt.Errorf("%w (after %d attempts)", err, n)
			}
			return nil, n, err
		}
		if actx != ctx && (r.stopAsked() || ctx.Err() != nil) && actx.Err() == nil {
			// The attempt ended by itself: its failure is recorded.
			return nil, n, fmt.Errorf("%w (not retried: the run was asked to stop)", err)
		}
		if ctx.Err() != nil {
			return nil, n, interrupted(ctx, "while waiting to retry action "+s.Action)
		}
		if interval > 0 {
			if serr := r.clock.Sleep(ctx, interval); serr != nil {
				return nil, n, interrupted(ctx, "while waiting to retry action "+s.Action)
			}
			interval = time.Duration(math.Min(float64(interval)*backoff, float64(math.MaxInt64)))
			if maxInterval > 0 && interval > maxInterval {
				interval = maxInterval
			}
		}
	}
}

type result[T any] struct {
	v   T
	err error
}

// bounded calls f (an action's Run, an Inspector's Inspect) once, bounded
// by timeout on clock, recovering panics. Once the context is done, f has
// the time its commands have to end (remote.KillGraceOf, plus
// settleMargin) to return; a function that ignores its context is then
// abandoned. When stop is closed while f runs, onStop is called, once,
// from this goroutine.
func bounded[T any](ctx context.Context, clock actions.Clock, timeout time.Duration, f func(context.Context) (T, error), stop <-chan struct{}, onStop func()) (T, error) {
	if timeout <= 0 && ctx.Done() == nil && stop == nil {
		// Nothing can interrupt f: call it on this goroutine.
		return protect(ctx, f)
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		actx, cancel = clock.WithTimeout(ctx, timeout)
	}
	defer cancel()
	done := make(chan result[T], 1)
	go func() {
		v, err := protect(actx, f)
		done <- result[T]{v, err}
	}()
	var res result[T]
wait:
	for {
		select {
		case res = <-done:
			break wait
		case <-stop:
			onStop()
			stop = nil
		case <-actx.Done():
			// Real processes end on the wall clock, not the run's.
			t := time.NewTimer(max(remote.KillGraceOf(ctx), 0) + settleMargin)
			select {
			case res = <-done:
			case <-t.C:
				res.err = actx.Err()
			}
			t.Stop()
			break wait
		}
	}
	if res.err != nil && actx.Err() != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), context.DeadlineExceeded) {
		var zero T
		return zero, &timeoutError{after: timeout, err: res.err}
	}
	if res.err == nil && ctx.Err() != nil {
		return res.v, nil
	}
	return res.v, res.err
}

// protect calls f, turning a panic into a permanent error.
func protect[T any](ctx context.Context, f func(context.Context) (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, actions.Permanent(fmt.Errorf("%w: %v\n%s", ErrPanic, p, debug.Stack()))
		}
	}()
	return f(ctx)
}

package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/schema"
)

// Errors of a fleet run; test with errors.Is.
var (
	// ErrCanary: a canary failed, and no wave started.
	ErrCanary = errors.New("canary failed")
	// ErrFailureBudget: more units failed than max_failures tolerates,
	// and the units not started yet did not start.
	ErrFailureBudget = errors.New("too many units failed")
	// ErrUnitFailed: some units failed, within the failure budget.
	ErrUnitFailed = errors.New("units failed")
	// ErrNotApproved: the rollout was not approved after its canaries.
	ErrNotApproved = errors.New("rollout not approved")
	// ErrLimit: a --limit selector that selects no unit.
	ErrLimit = errors.New("bad limit")
	// ErrJournalDir: the journal directory cannot be used, or holds a
	// journal of an earlier run when Options.Resume is not set.
	ErrJournalDir = errors.New("bad journal directory")
)

// EventKind names what happened in a fleet run.
type EventKind string

// The kinds of fleet events.
const (
	FleetStart EventKind = "fleet.start"
	WaveStart  EventKind = "wave.start"
	UnitStart  EventKind = "unit.start"
	// UnitEvent wraps an event of a unit's run (Event.Run).
	UnitEvent EventKind = "unit.event"
	UnitEnd   EventKind = "unit.end"
	WaveEnd   EventKind = "wave.end"
	// FleetStopping: Options.Stop was closed, or ctx is done: no new
	// unit starts; Message says how many still run ("no new unit starts;
	// 2 running").
	FleetStopping EventKind = "fleet.stopping"
	FleetEnd      EventKind = "fleet.end"
)

// Event is one observable thing in a fleet run. Fields that do not apply
// to a kind are zero.
type Event struct {
	// Unit is the unit's name (unit.* events).
	Unit string
	Kind EventKind
	// Wave is the 1-based number of the wave (wave.*, unit.* events);
	// the canary wave, when there is one, is wave 1.
	Wave int
	// Run is the unit's run event, secrets redacted (unit.event).
	Run *runner.Event
	// Outcome of a unit, wave or the fleet that ended.
	Outcome runner.Outcome
	Message string
	Time    time.Time
}

// Observer receives the events of a fleet run, one at a time (calls are
// serialized), from the goroutines that run the units. It must not block
// for long: every unit waits for it.
type Observer interface {
	Observe(e Event)
}

// ObserverFunc adapts a function to [Observer].
type ObserverFunc func(Event)

// Observe calls f.
func (f ObserverFunc) Observe(e Event) { f(e) }

// Options configure a fleet run. The zero value runs with the runbook's
// registry, the wall clock, no journals and the fleet's rollout.
type Options struct {
	// Registry provides the actions and probes; nil: the runbook's.
	Registry *actions.Registry
	// Clock is the clock of every unit's run and of the fleet's
	// durations; nil: the wall clock.
	Clock actions.Clock
	// JournalDir holds one journal per unit, DIR/<unit>.journal, locked
	// while the unit runs: one unit never runs twice at once, across
	// processes too. It is created (0700) if missing. Empty: no journals.
	// Without Resume, a unit journal that records an earlier run is
	// refused before any unit starts (ErrJournalDir).
	JournalDir string
	// Resume: a unit whose journal records a succeeded run stays done
	// (outcome runner.Resumed, not run again); the others resume from
	// their journals (see runner.Journal), or start if they have none.
	Resume bool
	// Limit selects the units that run: unit names or LABEL=VALUE
	// selectors, any of which selects a unit. The others end Skipped, not
	// failures. Empty: every unit. A selector that selects no unit is
	// refused (ErrLimit).
	Limit []string
	// MaxParallel and MaxFailures, when set, override the rollout's.
	MaxParallel, MaxFailures *int
	// Observers get the fleet's events; each carries the unit's name.
	Observers []Observer
	// Approver approves the rollout after its canaries (rollout.canary.
	// approve) and answers the manual steps of every unit. Nil: approvals
	// are refused.
	Approver actions.Approver
	// Stop, when closed, stops the fleet gently: no new unit starts, and
	// every running unit's run stops as runner.Options.Stop says.
	Stop <-chan struct{}
	// Unit, when set, adjusts each unit's runner options before it runs
	// (observers of its own, a registry per unit for a simulator).
	Unit func(name string, o *runner.Options)
}

// Report is the record of a fleet run: a plain value, comparable with
// go-cmp. Durations come from the run's clock.
type Report struct {
	Fleet string
	// Outcome is Succeeded when no unit failed, Cancelled when the fleet
	// was stopped or ctx done, Failed otherwise.
	Outcome runner.Outcome
	// Units has a row per unit, in the order of the rollout plan (Waves).
	Units    []UnitReport
	Duration time.Duration
}

// UnitReport is the record of one unit.
type UnitReport struct {
	Name   string
	Labels map[string]string
	// Wave is the 1-based number of the unit's wave.
	Wave int
	// Outcome is that of the unit's run (Succeeded, Failed, Cancelled);
	// Resumed when its journal records a succeeded run; Skipped when
	// Options.Limit left it out; NotRun when the rollout stopped before
	// it (a failed canary, the failure budget, a refused approval, a
	// stop); Reason then says why.
	Outcome runner.Outcome
	Reason  string
	// Journal is the path of the unit's journal, or "".
	Journal string
	// Report is the unit's run report; nil when it did not run.
	Report *runner.Report
}

// Unit returns the row of the unit with the name, or nil.
func (r *Report) Unit(name string) *UnitReport {
	for i := range r.Units {
		if r.Units[i].Name == name {
			return &r.Units[i]
		}
	}
	return nil
}

// Count returns how many units have the outcome.
func (r *Report) Count(o runner.Outcome) int {
	n := 0
	for i := range r.Units {
		if r.Units[i].Outcome == o {
			n++
		}
	}
	return n
}

// Run runs the fleet's rollout: the canaries first (any that fails stops
// the rollout), then, after an approval when the rollout asks for one, the
// waves in order, each starting when the one before it has ended, at most
// MaxParallel units at once. Once more units have failed than MaxFailures
// tolerates, no new unit starts; the running ones finish.
//
// It returns the report, always non-nil, and an error when a unit failed
// (ErrUnitFailed, ErrCanary, ErrFailureBudget), the rollout was not
// approved (ErrNotApproved), or the fleet was stopped or ctx done (the
// error wraps runner.ErrInterrupted). Options that cannot be used (ErrLimit,
// ErrJournalDir) are refused before any unit starts.
func Run(ctx context.Context, f *Fleet, opts Options) (*Report, error) {
	fr := &fleetRun{f: f, opts: opts, clock: opts.Clock, obs: opts.Observers}
	if fr.clock == nil {
		fr.clock = actions.RealClock{}
	}
	start := fr.clock.Now()
	waves := f.waves()
	rep := &Report{Fleet: f.Name, Units: make([]UnitReport, 0, len(f.Units))}
	fr.rows = make([]int, len(f.Units))
	for wi, w := range waves {
		for _, i := range w {
			u := &f.Units[i]
			fr.rows[i] = len(rep.Units)
			rep.Units = append(rep.Units, UnitReport{Name: u.Name, Labels: u.Labels, Wave: wi + 1, Outcome: runner.NotRun})
		}
	}
	fr.rep = rep
	if err := fr.prepare(); err != nil {
		rep.Outcome = runner.Failed
		for i := range rep.Units {
			rep.Units[i].Reason = "the fleet did not start: " + err.Error()
		}
		return rep, err
	}
	fr.emit(Event{Kind: FleetStart, Message: fmt.Sprintf("%d units in %d waves", len(f.Units), len(waves))})
	endWatch := fr.watchStop(ctx)
	defer endWatch()
	canaryWave := len(f.Rollout.Canary) > 0
	for wi, w := range waves {
		if reason := fr.halted(ctx); reason != "" {
			fr.notRun(w, reason)
			continue
		}
		fr.wave(ctx, wi+1, w)
		if wi == 0 && canaryWave {
			fr.afterCanaries(ctx, w, len(waves) > 1)
		}
	}
	endWatch()
	rep.Duration = fr.clock.Now().Sub(start)
	err := fr.result()
	fr.emit(Event{Kind: FleetEnd, Outcome: rep.Outcome, Message: errText(err)})
	return rep, err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type fleetRun struct {
	f     *Fleet
	opts  Options
	clock actions.Clock
	obs   []Observer
	rep   *Report
	rows  []int // unit index -> row in rep.Units
	sel   []bool

	maxParallel, maxFailures int

	emitMu sync.Mutex // serializes observers

	mu        sync.Mutex
	failed    int
	canary    string // the first canary that failed
	refused   error  // the approval's refusal
	stopped   bool
	announced bool // the FleetStopping event went out
	running   int
}

// prepare checks the options: the limit, the journal directory.
func (fr *fleetRun) prepare() error {
	fr.maxParallel = max(fr.f.Rollout.MaxParallel, 1)
	if p := fr.opts.MaxParallel; p != nil {
		fr.maxParallel = max(*p, 1)
	}
	fr.maxFailures = fr.f.Rollout.MaxFailures
	if m := fr.opts.MaxFailures; m != nil {
		fr.maxFailures = max(*m, 0)
	}
	sel, err := selectUnits(fr.f, fr.opts.Limit)
	if err != nil {
		return err
	}
	fr.sel = sel
	dir := fr.opts.JournalDir
	if dir == "" {
		if fr.opts.Resume {
			return fmt.Errorf("%w: resuming needs the journal directory", ErrJournalDir)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrJournalDir, err)
	}
	if fr.opts.Resume {
		return nil
	}
	var exist []string
	for i := range fr.f.Units {
		if !fr.sel[i] {
			continue
		}
		if fi, err := os.Lstat(fr.journal(i)); err == nil && (fi.Size() > 0 || !fi.Mode().IsRegular()) {
			exist = append(exist, fr.f.Units[i].Name)
		}
	}
	if len(exist) > 0 {
		more := ""
		if len(exist) > 5 {
			more = fmt.Sprintf(" and %d more", len(exist)-5)
			exist = exist[:5]
		}
		return fmt.Errorf("%w: %s holds the journals of an earlier run of units %s%s: resume it (--resume), or use another directory", ErrJournalDir, dir, strings.Join(exist, ", "), more)
	}
	return nil
}

// selectUnits returns which units the selectors select.
func selectUnits(f *Fleet, limit []string) ([]bool, error) {
	sel := make([]bool, len(f.Units))
	if len(limit) == 0 {
		for i := range sel {
			sel[i] = true
		}
		return sel, nil
	}
	index := f.indexOf()
	for _, s := range limit {
		key, value, isLabel := strings.Cut(s, "=")
		n := 0
		if !isLabel {
			if i, ok := index[s]; ok {
				sel[i] = true
				n++
			}
		} else {
			for i := range f.Units {
				if f.Units[i].Label(key) == value {
					sel[i] = true
					n++
				}
			}
		}
		if n > 0 {
			continue
		}
		if isLabel {
			return nil, fmt.Errorf("%w: %s selects no unit", ErrLimit, s)
		}
		names := make([]string, len(f.Units))
		for i := range f.Units {
			names[i] = f.Units[i].Name
		}
		msg := fmt.Sprintf("%v: %s: %v (give a unit name or LABEL=VALUE)", ErrLimit, s, ErrUnknownUnit)
		if sg := schema.Suggest(s, names); sg != "" {
			msg += fmt.Sprintf("; did you mean %q?", sg)
		}
		return nil, &limitError{msg: msg}
	}
	return sel, nil
}

type limitError struct{ msg string }

func (e *limitError) Error() string   { return e.msg }
func (e *limitError) Unwrap() []error { return []error{ErrLimit, ErrUnknownUnit} }

func (fr *fleetRun) journal(i int) string {
	if fr.opts.JournalDir == "" {
		return ""
	}
	return filepath.Join(fr.opts.JournalDir, fr.f.Units[i].Name+".journal")
}

func (fr *fleetRun) emit(e Event) {
	if len(fr.obs) == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = fr.clock.Now()
	}
	fr.emitMu.Lock()
	defer fr.emitMu.Unlock()
	for _, o := range fr.obs {
		o.Observe(e)
	}
}

// watchStop watches Options.Stop and ctx to announce the fleet's
// stopping, until the function it returns is called (more than once is
// fine), which returns when the watch has ended.
func (fr *fleetRun) watchStop(ctx context.Context) (end func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-fr.opts.Stop:
		case <-ctx.Done():
		case <-done:
			return
		}
		fr.stopping()
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-exited
	}
}

// stopping notes that the fleet stops, and says so once.
func (fr *fleetRun) stopping() {
	fr.mu.Lock()
	fr.stopped = true
	running, announce := fr.running, !fr.announced
	fr.announced = true
	fr.mu.Unlock()
	if announce {
		fr.emit(Event{Kind: FleetStopping, Message: fmt.Sprintf("no new unit starts; %d running", running)})
	}
}

// halted returns why no new unit may start, or "".
func (fr *fleetRun) halted(ctx context.Context) string {
	stopped := ctx.Err() != nil
	select {
	case <-fr.opts.Stop:
		stopped = true
	default:
	}
	fr.mu.Lock()
	switch {
	case fr.canary != "":
		defer fr.mu.Unlock()
		return "canary " + fr.canary + " failed"
	case fr.refused != nil:
		defer fr.mu.Unlock()
		return fr.refused.Error()
	case fr.failed > fr.maxFailures:
		defer fr.mu.Unlock()
		return fmt.Sprintf("failed units: %d, more than max_failures (%d)", fr.failed, fr.maxFailures)
	case stopped || fr.stopped:
		fr.mu.Unlock()
		fr.stopping()
		return "the fleet was stopped"
	}
	fr.mu.Unlock()
	return ""
}

func (fr *fleetRun) notRun(w []int, reason string) {
	for _, i := range w {
		row := &fr.rep.Units[fr.rows[i]]
		if !fr.sel[i] {
			row.Outcome, row.Reason = runner.Skipped, "not selected (--limit)"
			continue
		}
		row.Reason = reason
	}
}

// wave runs the units of one wave, at most maxParallel at once.
func (fr *fleetRun) wave(ctx context.Context, n int, w []int) {
	fr.emit(Event{Kind: WaveStart, Wave: n, Message: fmt.Sprintf("wave %d: %d units", n, len(w))})
	slots := make(chan struct{}, fr.maxParallel)
	var wg sync.WaitGroup
	for k, i := range w {
		row := &fr.rep.Units[fr.rows[i]]
		if !fr.sel[i] {
			row.Outcome, row.Reason = runner.Skipped, "not selected (--limit)"
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-fr.opts.Stop:
		case <-ctx.Done():
		}
		if reason := fr.halted(ctx); reason != "" {
			fr.notRun(w[k:], reason)
			break
		}
		fr.mu.Lock()
		fr.running++
		fr.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			fr.unit(ctx, n, i, row) // counts its failure
			fr.mu.Lock()
			fr.running--
			fr.mu.Unlock()
			<-slots // after the failure is counted: the next start sees it
		}()
	}
	wg.Wait()
	outcome := runner.Succeeded
	for _, i := range w {
		switch fr.rep.Units[fr.rows[i]].Outcome {
		case runner.Failed:
			outcome = runner.Failed
		case runner.Cancelled, runner.NotRun:
			if outcome != runner.Failed {
				outcome = runner.Cancelled
			}
		}
	}
	fr.emit(Event{Kind: WaveEnd, Wave: n, Outcome: outcome})
}

// afterCanaries asks for the approval of the rollout, when it wants one.
func (fr *fleetRun) afterCanaries(ctx context.Context, w []int, more bool) {
	if !fr.f.Rollout.Approve || !more || fr.halted(ctx) != "" {
		return
	}
	names := make([]string, len(w))
	for k, i := range w {
		names[k] = fr.f.Units[i].Name
	}
	var err error
	ok := false
	if fr.opts.Approver == nil {
		err = errors.New("no approver")
	} else {
		ok, err = fr.opts.Approver.Approve(ctx, actions.ApprovalRequest{
			Step:    "canary",
			Prompt:  fmt.Sprintf("The canaries of fleet %s succeeded (%s). Go on with the other %d units?", fr.f.Name, strings.Join(names, ", "), len(fr.f.Units)-len(w)),
			Details: "Approving starts the waves of the rollout; refusing stops it, and the other units are not run.",
		})
	}
	if ok && err == nil {
		return
	}
	refusal := fmt.Errorf("%w after the canaries", ErrNotApproved)
	if err != nil {
		refusal = fmt.Errorf("%w after the canaries: %w", ErrNotApproved, err)
	}
	fr.mu.Lock()
	fr.refused = refusal
	fr.mu.Unlock()
}

// unit runs one unit, filling its row.
func (fr *fleetRun) unit(ctx context.Context, wave, i int, row *UnitReport) {
	u := &fr.f.Units[i]
	fr.emit(Event{Kind: UnitStart, Unit: u.Name, Wave: wave})
	defer func() {
		if row.Outcome == runner.Failed { // counted before anyone hears of it
			fr.mu.Lock()
			fr.failed++
			if wave == 1 && len(fr.f.Rollout.Canary) > 0 && fr.canary == "" {
				fr.canary = row.Name
			}
			fr.mu.Unlock()
		}
		fr.emit(Event{Kind: UnitEnd, Unit: u.Name, Wave: wave, Outcome: row.Outcome, Message: row.Reason})
	}()
	ro := runner.Options{Registry: fr.opts.Registry, Params: u.Params, Clock: fr.opts.Clock,
		Approver: fr.opts.Approver, Stop: fr.opts.Stop}
	if len(fr.obs) > 0 {
		ro.Observers = []runner.Observer{runner.ObserverFunc(func(e runner.Event) {
			fr.emit(Event{Kind: UnitEvent, Unit: u.Name, Wave: wave, Run: &e, Time: e.Time})
		})}
	}
	if path := fr.journal(i); path != "" {
		row.Journal = path
		j, done, err := openJournal(path, fr.opts.Resume)
		if err != nil {
			row.Outcome, row.Reason = runner.Failed, fmt.Sprintf("unit %s: %v", u.Name, err)
			return
		}
		if done {
			row.Outcome, row.Reason = runner.Resumed, "its journal records a succeeded run"
			return
		}
		defer j.Close()
		ro.Journal = j
	}
	if fr.opts.Unit != nil {
		fr.opts.Unit(u.Name, &ro)
	}
	rep, err := runner.Run(ctx, fr.f.Runbook, ro)
	row.Report, row.Outcome = rep, rep.Outcome
	if err != nil {
		row.Reason = err.Error()
		if row.Outcome == runner.Succeeded {
			row.Outcome = runner.Failed // the journal could not record the end
		}
	}
}

// openJournal opens and locks a unit's journal. Resuming, it reports
// done, the journal closed, when the journal's last run succeeded; a
// missing journal starts a new one.
func openJournal(path string, resume bool) (j *runner.Journal, done bool, err error) {
	if !resume {
		j, err = runner.OpenJournal(path, false)
		return j, false, err
	}
	j, err = runner.OpenJournal(path, true)
	if errors.Is(err, runner.ErrNothingToResume) {
		j, err = runner.OpenJournal(path, false)
		return j, false, err
	}
	if err != nil {
		return nil, false, err
	}
	// The lock is held: nothing writes the journal while it is read.
	log, err := runner.ReadJournal(path)
	if err != nil {
		j.Close()
		return nil, false, err
	}
	var last runner.Outcome
	for _, e := range log.Entries {
		switch e.Type {
		case "run":
			last = ""
		case "run.end":
			last = e.Outcome
		}
	}
	if last == runner.Succeeded {
		j.Close()
		return nil, true, nil
	}
	return j, false, nil
}

// result sets the fleet's outcome and returns its error.
func (fr *fleetRun) result() error {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return Settle(fr.f.Name, fr.rep, Verdict{Canary: fr.canary, Refused: fr.refused, Failed: fr.failed, MaxFailures: fr.maxFailures, Stopped: fr.stopped})
}

// Verdict is how a rollout ended, apart from its units' rows: what
// decides, with them, a fleet's outcome and error (see Settle).
type Verdict struct {
	// Canary names the canary that failed, "" when none did.
	Canary string
	// Refused is the error of the approval refused after the canaries,
	// nil when none was.
	Refused error
	// Failed is the failures counted against MaxFailures, the budget.
	Failed, MaxFailures int
	// Stopped: the fleet was stopped (Options.Stop, its context done).
	Stopped bool
}

// Settle sets rep's outcome from its rows and v, and returns the fleet's
// error, as Run does: a failed canary, a refused approval, the failure
// budget passed, units failed (ErrCanary, ErrNotApproved,
// ErrFailureBudget, ErrUnitFailed), then a stop (runner.ErrInterrupted).
// Another runner of fleets (a Temporal workflow) ends its fleets with it.
func Settle(name string, rep *Report, v Verdict) error {
	var failed, cancelled []string
	for _, u := range rep.Units {
		switch u.Outcome {
		case runner.Failed:
			failed = append(failed, u.Name)
		case runner.Cancelled:
			cancelled = append(cancelled, u.Name)
		}
	}
	names := func(list []string) string {
		if len(list) > 5 {
			return strings.Join(list[:5], ", ") + fmt.Sprintf(" and %d more", len(list)-5)
		}
		return strings.Join(list, ", ")
	}
	rep.Outcome = runner.Failed
	switch {
	case v.Canary != "":
		return fmt.Errorf("fleet %s: %w: %s; no wave started", name, ErrCanary, v.Canary)
	case v.Refused != nil:
		return fmt.Errorf("fleet %s: %w", name, v.Refused)
	case v.Failed > v.MaxFailures:
		return fmt.Errorf("fleet %s: %w: %d (%s), more than max_failures (%d); no new unit started", name, ErrFailureBudget, len(failed), names(failed), v.MaxFailures)
	case len(failed) > 0:
		return fmt.Errorf("fleet %s: %w: %s", name, ErrUnitFailed, names(failed))
	case v.Stopped || len(cancelled) > 0:
		rep.Outcome = runner.Cancelled
		return fmt.Errorf("fleet %s: %w: %d units done, %d cancelled, %d not run", name, runner.ErrInterrupted,
			rep.Count(runner.Succeeded)+rep.Count(runner.Resumed), len(cancelled), rep.Count(runner.NotRun))
	}
	rep.Outcome = runner.Succeeded
	return nil
}

package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// world is the fake world of the resume tests: an installer whose
// attempts are counted, which says "installing" then runs until its
// context is done, unless told to return (as its attempts after the first
// do: a test that sees it run twice fails rather than hangs); and whether
// it took effect.
type world struct {
	clock *actionstest.Clock

	mu sync.Mutex
	// runs are the times of the installer's attempts.
	runs []time.Time
	// inspects are the calls of its Inspector.
	inspects []*actions.Call
	// answer and err are what its Inspector says.
	answer actions.Inspection
	err    error
	// returns: an attempt returns at once with outputs, instead of
	// running until its context is done; and with takes, it takes effect.
	returns, takes bool
	outputs        actions.Outputs
	// up: the installer took effect (the probe installed holds).
	up bool
	// effect, when not zero, is how long after the installer first
	// started it takes effect; upAt, when not zero, when it does.
	effect time.Duration
	upAt   time.Time
}

func newWorld() *world { return &world{clock: actionstest.NewClock(actionstest.Epoch)} }

func (w *world) Run(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
	w.mu.Lock()
	w.runs = append(w.runs, w.clock.Now())
	returns, out := w.returns || len(w.runs) > 1, w.outputs
	w.up = w.up || returns && (w.takes || len(w.runs) > 1)
	w.mu.Unlock()
	if returns {
		return out, nil
	}
	call.Logf("installing on %v", call.Args["host"])
	<-ctx.Done()
	return nil, ctx.Err()
}

func (w *world) Inspect(_ context.Context, call *actions.Call) (actions.Inspection, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inspects = append(w.inspects, call)
	return w.answer, w.err
}

// installed says whether the installer took effect.
func (w *world) installed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.up || !w.upAt.IsZero() && !w.clock.Now().Before(w.upAt) {
		return true
	}
	return w.effect > 0 && len(w.runs) > 0 && !w.clock.Now().Before(w.runs[0].Add(w.effect))
}

func (w *world) attempts() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.runs)
}

func (w *world) set(f func(w *world)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(w)
}

// plainAction hides the Inspector of an action.
type plainAction struct{ a actions.Action }

func (p plainAction) Run(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
	return p.a.Run(ctx, call)
}

// registry returns a registry with the built-ins, the world's installer
// (an Inspector unless plain), the probe installed, and the fakes of kit.
func (w *world) registry(t *testing.T, kit *actionstest.Kit, plain bool) *actions.Registry {
	t.Helper()
	reg := kit.Registry()
	var act actions.Action = w
	if plain {
		act = plainAction{w}
	}
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "install", Mutates: true, Args: actionstest.AnyArgs,
		Outputs: []actions.Output{{Name: "file"}, {Name: "token"}}}, func() actions.Action { return act }))
	actions.MustRegister(reg.RegisterProbe(actions.Spec{Name: "installed"}, func() actions.Probe {
		return actions.ProbeFunc(func(context.Context, *actions.Call) (any, error) { return w.installed(), nil })
	}))
	return reg
}

// journalRun runs p with the journal at path (a new one, or resumed),
// cancelled at the first event for which stop is true (never when stop is
// nil). It returns the report, the error and the events.
func journalRun(t *testing.T, path string, resume bool, reg *actions.Registry, clock actions.Clock, p *plan.Plan, params map[string]any, stop func(runner.Event) bool) (*runner.Report, []runner.Event, error) {
	t.Helper()
	j, err := runner.OpenJournal(path, resume)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var events []runner.Event
	obs := runner.ObserverFunc(func(e runner.Event) {
		events = append(events, e)
		if stop != nil && stop(e) {
			cancel()
		}
	})
	rep, err := runner.Run(ctx, p, runner.Options{Registry: reg, Clock: clock, Params: params, Journal: j, Observers: []runner.Observer{obs}})
	if stop != nil && ctx.Err() == nil {
		t.Fatalf("the run was never interrupted: %v, %+v", err, rep)
	}
	return rep, events, err
}

// at returns a stop that is true at the first event of the kind in the step
// (and, when phase is not empty, of the phase).
func at(kind runner.EventKind, step string, phase runner.Phase) func(runner.Event) bool {
	return func(e runner.Event) bool {
		return e.Kind == kind && e.Step == step && (phase == "" || e.Phase == phase)
	}
}

// stopWhileWaiting is where the repro presses Ctrl-C: while the
// installer's postcondition is waited for.
var stopWhileWaiting = at(runner.WaitPoll, "install", runner.PhasePost)

// stopInAttempt kills the run while the installer runs.
var stopInAttempt = at(runner.ActionLog, "install", "")

// outputsRunbook installs, then uses what the installer returned and what
// its precondition saved.
const outputsRunbook = `
params:
  password: {type: string, secret: true}
steps:
  - id: install
    pre:
      - value: {n: 3}
        expect: {path: n, gte: 1}
        save: before
      - value: "pw=${params.password}"
        expect: {matches: "^pw="}
        save: cred
    action: install
    post:
      - probe: installed
        expect: {equals: true}
        wait: {timeout: 10m, interval: 1m}
  - id: use-file
    action: use
    with: {file: "${steps.install.outputs.file}", before: "${vars.before}"}
  - id: use-token
    action: use
    with: {token: "${steps.install.outputs.token}"}
    on_failure: continue
  - id: use-cred
    action: use
    with: {cred: "${vars.cred}"}
    on_failure: continue
`

// TestResumeKeepsOutputs interrupts a run while the installer's
// postcondition is waited for, after the installer returned, then resumes
// it: the installer is done (its postcondition holds), and a later step
// gets its outputs and the var its precondition saved. An output and a
// var that held the secret are not given back: the steps that use them
// fail with ErrNotRestored naming them and why, and the action never sees
// a redacted value. The same holds when the installer's step is done
// earlier (interrupted once it ended).
func TestResumeKeepsOutputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		takes   bool // the installer takes effect in the first run
		stop    func(runner.Event) bool
		outcome runner.Outcome // of the install step on resume
	}{
		{"interrupted while the postcondition waits", false, stopWhileWaiting, runner.Succeeded},
		{"interrupted once the step ended", true, at(runner.StepEnd, "install", ""), runner.Resumed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			w.returns, w.takes = true, tt.takes
			w.outputs = actions.Outputs{"file": "/var/install.log", "token": "tok-hunter2"}
			kit := actionstest.NewKit()
			kit.Action("use")
			reg := w.registry(t, kit, false)
			p := load(t, reg, outputsRunbook)
			params := map[string]any{"password": "hunter2"}
			path := filepath.Join(t.TempDir(), "run.journal")
			journalRun(t, path, false, reg, w.clock, p, params, tt.stop)

			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), "hunter2") {
				t.Errorf("the secret is in the journal:\n%s", data)
			}
			for _, want := range []string{`"redacted_outputs":["token"]`, `"redacted_vars":["cred"]`} {
				if !strings.Contains(string(data), want) {
					t.Errorf("the journal does not say %s:\n%s", want, data)
				}
			}

			w.set(func(w *world) { w.up = true })
			kit.Recorder.Reset()
			rep, _, err := journalRun(t, path, true, reg, w.clock, p, params, nil)
			if got := rep.Step("install").Outcome; got != tt.outcome {
				t.Errorf("install: %s (%s), want %s", got, rep.Step("install").Reason, tt.outcome)
			}
			if w.attempts() != 1 {
				t.Errorf("the installer ran %d times, want once", w.attempts())
			}
			if got := rep.Step("install").Outputs; got["file"] != "/var/install.log" || got["token"] != "tok-"+runner.Redacted {
				t.Errorf("install's outputs in the report: %v, want the file and the token redacted", got)
			}
			if o := rep.Step("use-file").Outcome; o != runner.Succeeded {
				t.Errorf("use-file: %s (%s), want it to get the installer's outputs", o, rep.Step("use-file").Reason)
			}
			var calls []map[string]any
			for _, c := range kit.Calls() {
				calls = append(calls, c.Args)
			}
			if len(calls) != 1 || calls[0]["file"] != "/var/install.log" || calls[0]["before"].(map[string]any)["n"] != int64(3) {
				t.Errorf("use was called with %v, want once (never with a redacted value), with the installer's file and the saved var", calls)
			}

			for _, tc := range []struct{ step, says string }{
				{"use-token", `${steps.install.outputs.token}: value not restored from the journal: output "token" of step "install" held a secret, which the journal keeps redacted`},
				{"use-cred", `${vars.cred}: value not restored from the journal: var "cred" held a secret, which the journal keeps redacted`},
			} {
				s := rep.Step(tc.step)
				if s.Outcome != runner.Failed || !strings.Contains(s.Reason, tc.says) {
					t.Errorf("%s: %s (%s), want failed saying %q", tc.step, s.Outcome, s.Reason, tc.says)
				}
			}
			if !errors.Is(err, runner.ErrNotRestored) {
				t.Errorf("err = %v, want ErrNotRestored", err)
			}
		})
	}
}

// TestResumeOutputsLost interrupts a run while the installer runs; the
// resumed run finds it done (its postcondition holds) without its outputs:
// a step that uses one fails with ErrNotRestored, saying why.
func TestResumeOutputsLost(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.effect = time.Minute
	kit := actionstest.NewKit()
	use := kit.Action("use")
	reg := w.registry(t, kit, true)
	p := load(t, reg, outputsRunbook)
	path := filepath.Join(t.TempDir(), "run.journal")
	journalRun(t, path, false, reg, w.clock, p, nil, stopInAttempt)
	w.clock.Advance(time.Hour)
	rep, _, err := journalRun(t, path, true, reg, w.clock, p, nil, nil)
	if s := rep.Step("install"); s.Outcome != runner.Succeeded || w.attempts() != 1 {
		t.Fatalf("install: %s (%s), %d attempts; want done by its postcondition, the installer run once", s.Outcome, s.Reason, w.attempts())
	}
	const says = `${steps.install.outputs.file}: value not restored from the journal: step "install" was found done when its run was resumed, but the journal has no outputs of its action`
	if !errors.Is(err, runner.ErrNotRestored) || !strings.Contains(err.Error(), says) {
		t.Errorf("err = %v\nwant ErrNotRestored saying %q", err, says)
	}
	if use.Calls() != 0 {
		t.Errorf("use ran %d times, want never", use.Calls())
	}
}

// installRunbook installs once its precondition holds, waits up to an hour
// for the installer to take effect, then logs.
const installRunbook = `
steps:
  - id: install
    pre:
      - probe: ready
        expect: {equals: true}
    action: install
    with: {host: h1}
    timeout: 2h
    post:
      - probe: installed
        expect: {equals: true}
        wait: {timeout: 1h, interval: 1m}
  - id: after
    action: log
    with: {message: installed}
`

// TestResumeStartedSurvivesInterruptions interrupts a run while its
// installer runs, then each resume at a chosen point, before one resume
// runs to its end: the installer, which takes effect 30 minutes after it
// starts, never runs twice. (The repro: kill during the install,
// resume, Ctrl-C while it waits for the postcondition, resume again: the
// installer used to run a second time.)
func TestResumeStartedSurvivesInterruptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		stops []func(runner.Event) bool // of the resumes that are interrupted
	}{
		{"while waiting, twice", []func(runner.Event) bool{stopWhileWaiting, stopWhileWaiting}},
		{"as the postcondition's check starts", []func(runner.Event) bool{at(runner.ConditionStart, "install", runner.PhasePost)}},
		{"as the step starts", []func(runner.Event) bool{at(runner.StepStart, "install", ""), at(runner.StepStart, "install", "")}},
		{"at each point", []func(runner.Event) bool{at(runner.StepStart, "install", ""), stopWhileWaiting,
			at(runner.ConditionStart, "install", runner.PhasePost), stopWhileWaiting}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			w.effect = 30 * time.Minute
			kit := actionstest.NewKit()
			kit.Probe("ready", actionstest.Returns(true))
			reg := w.registry(t, kit, true)
			p := load(t, reg, installRunbook)
			path := filepath.Join(t.TempDir(), "run.journal")
			journalRun(t, path, false, reg, w.clock, p, nil, stopInAttempt)
			for i, stop := range tt.stops {
				rep, _, err := journalRun(t, path, true, reg, w.clock, p, nil, stop)
				if !errors.Is(err, runner.ErrInterrupted) {
					t.Fatalf("resume %d: %v, want it interrupted", i+1, err)
				}
				if n := w.attempts(); n != 1 {
					t.Fatalf("resume %d: the installer ran %d times, want once: %+v", i+1, n, rep.Step("install"))
				}
			}
			rep, _, err := journalRun(t, path, true, reg, w.clock, p, nil, nil)
			if err != nil {
				t.Fatalf("last resume: %v", err)
			}
			if s := rep.Step("install"); s.Outcome != runner.Succeeded || len(s.Attempts) != 0 || s.Post[0].Status != runner.Met {
				t.Errorf("install: %s (%s), attempts %v; want done by waiting for its postcondition", s.Outcome, s.Reason, s.Attempts)
			}
			if n := w.attempts(); n != 1 {
				t.Errorf("the installer ran %d times, want once", n)
			}
		})
	}
}

// TestResumeInspector resumes a run killed while its installer ran, with
// the installer's Inspector giving each answer, and checks what the
// resumed run did, and how long it waited on the virtual clock: found done
// or in progress, the installer never runs again; not done, it runs again
// at once, without waiting out its postcondition's timeout; unknown, an
// error, or no Inspector: the postcondition gets its wait, then the
// installer runs again.
func TestResumeInspector(t *testing.T) {
	t.Parallel()
	errSSH := errors.New("ssh: connection refused")
	const never = -1
	tests := []struct {
		name   string
		plain  bool // the installer is no Inspector
		answer actions.Inspection
		err    error
		upIn   time.Duration // the install takes effect this long into the resume; never: only if it runs again

		outcome    runner.Outcome
		wantErr    error
		inspection string
		runs       int           // attempts in the resumed run
		runAt      time.Duration // when the attempt starts, into the resumed run
		waited     time.Duration // by the postcondition, when the installer does not run again
	}{
		{name: "done", answer: actions.Done, upIn: 0, outcome: runner.Succeeded, inspection: "done"},
		{name: "done, postcondition unmet", answer: actions.Done, upIn: never, outcome: runner.Failed, wantErr: runner.ErrPostcondition,
			inspection: "done", waited: time.Hour},
		{name: "in progress", answer: actions.InProgress, upIn: 10 * time.Minute, outcome: runner.Succeeded, inspection: "in progress", waited: 10 * time.Minute},
		{name: "in progress, postcondition unmet", answer: actions.InProgress, upIn: never, outcome: runner.Failed, wantErr: runner.ErrInProgress,
			inspection: "in progress", waited: time.Hour},
		{name: "not done", answer: actions.NotDone, upIn: never, outcome: runner.Succeeded, inspection: "not done", runs: 1, runAt: 0},
		{name: "unknown", answer: actions.Unknown, upIn: never, outcome: runner.Succeeded, inspection: "unknown", runs: 1, runAt: time.Hour},
		{name: "error", answer: actions.Done, err: errSSH, upIn: never, outcome: runner.Succeeded,
			inspection: "error: install: inspect: ssh: connection refused", runs: 1, runAt: time.Hour},
		{name: "no Inspector", plain: true, upIn: never, outcome: runner.Succeeded, runs: 1, runAt: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			kit := actionstest.NewKit()
			kit.Probe("ready", actionstest.Returns(true))
			reg := w.registry(t, kit, tt.plain)
			p := load(t, reg, installRunbook)
			path := filepath.Join(t.TempDir(), "run.journal")
			journalRun(t, path, false, reg, w.clock, p, nil, stopInAttempt)

			start := w.clock.Now()
			w.set(func(w *world) {
				w.answer, w.err = tt.answer, tt.err
				if tt.upIn != never {
					w.upAt = start.Add(tt.upIn)
				}
			})
			rep, events, err := journalRun(t, path, true, reg, w.clock, p, nil, nil)
			s := rep.Step("install")
			if s.Outcome != tt.outcome || tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantErr == nil && err != nil {
				t.Fatalf("install: %s (%s), err %v; want %s, %v", s.Outcome, s.Reason, err, tt.outcome, tt.wantErr)
			}
			if s.Inspection != tt.inspection {
				t.Errorf("Inspection = %q, want %q", s.Inspection, tt.inspection)
			}
			if n := w.attempts() - 1; n != tt.runs {
				t.Errorf("the installer ran %d times on resume, want %d", n, tt.runs)
			}
			var inspected []runner.Event
			for _, e := range events {
				switch e.Kind {
				case runner.ActionInspect:
					inspected = append(inspected, e)
				case runner.AttemptStart:
					if e.Step != "install" {
						break
					}
					if at := e.Time.Sub(start); at != tt.runAt {
						t.Errorf("the installer started again %s into the resume, want %s", at, tt.runAt)
					}
				}
			}
			if tt.runs == 0 && (len(s.Post) != 1 || s.Post[0].Waited != tt.waited) {
				t.Errorf("postcondition %+v, want it checked after waiting %s", s.Post, tt.waited)
			}
			if tt.plain {
				if len(inspected) != 0 || len(w.inspects) != 0 {
					t.Errorf("an action without Inspector was inspected: %v", inspected)
				}
				return
			}
			if len(inspected) != 1 || inspected[0].Message != tt.answer.String() && tt.err == nil || tt.err != nil && (inspected[0].Message != "unknown" || !strings.Contains(inspected[0].Error, errSSH.Error())) {
				t.Errorf("inspection events %+v, want one saying %q", inspected, tt.inspection)
			}
			if len(w.inspects) != 1 {
				t.Fatalf("Inspect called %d times, want once", len(w.inspects))
			}
			call := w.inspects[0]
			if call.Step != "install" || call.Name != "install" || call.Args["host"] != "h1" || call.Clock == nil || call.Log == nil || call.Attempt != 1 {
				t.Errorf("Inspect's call %+v: want the attempt's step, name, args, clock and Log", call)
			}
		})
	}
}

// TestResumeInspectionIsKept: what an Inspector found is kept in the
// journal for the resumes after the one that asked it, interrupted soon
// after: "not done" is not asked again, and the step runs again at once;
// "done" is not asked again, and the installer never runs again; "in
// progress" is asked again.
func TestResumeInspectionIsKept(t *testing.T) {
	t.Parallel()
	tests := []struct {
		answer   actions.Inspection
		stop     func(runner.Event) bool // where the resume that asked is interrupted
		inspects int                     // Inspect calls in all
		runs     int                     // attempts in all
	}{
		{actions.NotDone, at(runner.ConditionStart, "install", runner.PhasePre), 1, 2},
		{actions.Done, stopWhileWaiting, 1, 1},
		{actions.InProgress, stopWhileWaiting, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.answer.String(), func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			kit := actionstest.NewKit()
			kit.Probe("ready", actionstest.Returns(true))
			reg := w.registry(t, kit, false)
			p := load(t, reg, installRunbook)
			path := filepath.Join(t.TempDir(), "run.journal")
			journalRun(t, path, false, reg, w.clock, p, nil, stopInAttempt)
			w.set(func(w *world) { w.answer = tt.answer })
			journalRun(t, path, true, reg, w.clock, p, nil, tt.stop)
			w.set(func(w *world) { w.effect = 10 * time.Minute })
			start := w.clock.Now()
			rep, _, err := journalRun(t, path, true, reg, w.clock, p, nil, nil)
			if err != nil {
				t.Fatalf("last resume: %v", err)
			}
			if n := len(w.inspects); n != tt.inspects {
				t.Errorf("Inspect called %d times, want %d", n, tt.inspects)
			}
			if n := w.attempts(); n != tt.runs {
				t.Errorf("the installer ran %d times, want %d", n, tt.runs)
			}
			if tt.answer == actions.NotDone && len(w.runs) == 2 && w.runs[1] != start {
				t.Errorf("the installer ran again %s into the last resume, want at once", w.runs[1].Sub(start))
			}
			if s := rep.Step("install"); s.Outcome != runner.Succeeded {
				t.Errorf("install: %s (%s), want succeeded", s.Outcome, s.Reason)
			}
		})
	}
}

// A step whose action returned before the interruption, interrupted while
// its postconditions were checked: on resume its postconditions may refer
// to its own outputs, and they are there (the action does not run again).
func TestResumePostUsesOwnOutputs(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.returns, w.takes = true, true
	w.outputs = actions.Outputs{"file": "/var/install.log"}
	kit := actionstest.NewKit()
	reg := w.registry(t, kit, true) // no Inspector: the journal alone says the action returned
	p := load(t, reg, `
steps:
  - id: install
    action: install
    post:
      - value: ${steps.install.outputs.file}
        expect: {matches: "\\.log$"}
`)
	path := filepath.Join(t.TempDir(), "run.journal")
	journalRun(t, path, false, reg, w.clock, p, nil, at(runner.ConditionStart, "install", runner.PhasePost))
	rep, _, err := journalRun(t, path, true, reg, w.clock, p, nil, nil)
	if err != nil || rep.Steps[0].Outcome != runner.Succeeded {
		t.Fatalf("resume: %v, %+v; want the step done by its postcondition on its own outputs", err, rep.Steps[0])
	}
	if n := w.attempts(); n != 1 {
		t.Errorf("the action ran %d times, want once", n)
	}
}

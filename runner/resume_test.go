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

// registry returns a registry with the built-ins, the world's installer,
// the probe installed, and the fakes of kit.
func (w *world) registry(t *testing.T, kit *actionstest.Kit) *actions.Registry {
	t.Helper()
	reg := kit.Registry()
	var act actions.Action = w
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
func journalRun(t *testing.T, path string, resume bool, reg *actions.Registry, clock actions.Clock, p *plan.Plan, params map[string]any, stop func(runner.Event) bool) (*runner.Report, error, []runner.Event) {
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
	return rep, err, events
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
			reg := w.registry(t, kit)
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
			rep, err, _ := journalRun(t, path, true, reg, w.clock, p, params, nil)
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
	reg := w.registry(t, kit)
	p := load(t, reg, outputsRunbook)
	path := filepath.Join(t.TempDir(), "run.journal")
	journalRun(t, path, false, reg, w.clock, p, nil, stopInAttempt)
	w.clock.Advance(time.Hour)
	rep, err, _ := journalRun(t, path, true, reg, w.clock, p, nil, nil)
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
			reg := w.registry(t, kit)
			p := load(t, reg, installRunbook)
			path := filepath.Join(t.TempDir(), "run.journal")
			journalRun(t, path, false, reg, w.clock, p, nil, stopInAttempt)
			for i, stop := range tt.stops {
				rep, err, _ := journalRun(t, path, true, reg, w.clock, p, nil, stop)
				if !errors.Is(err, runner.ErrInterrupted) {
					t.Fatalf("resume %d: %v, want it interrupted", i+1, err)
				}
				if n := w.attempts(); n != 1 {
					t.Fatalf("resume %d: the installer ran %d times, want once: %+v", i+1, n, rep.Step("install"))
				}
			}
			rep, err, _ := journalRun(t, path, true, reg, w.clock, p, nil, nil)
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

package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// installer is an action that runs until released (it then returns its
// answer) or until its context is done; it notes whether its context was
// done when it returned.
type installer struct {
	release chan struct{}
	answer  error
	// onRun, when set, is called as the action starts; returned is closed
	// when it returns.
	onRun    func()
	returned chan struct{}

	mu        sync.Mutex
	runs      int
	cancelled bool
}

func newInstaller() *installer {
	return &installer{release: make(chan struct{}), returned: make(chan struct{})}
}

func (in *installer) Run(ctx context.Context, _ *actions.Call) (actions.Outputs, error) {
	in.mu.Lock()
	in.runs++
	in.mu.Unlock()
	defer close(in.returned)
	if in.onRun != nil {
		in.onRun()
	}
	select {
	case <-in.release:
		in.mu.Lock()
		defer in.mu.Unlock()
		in.cancelled = ctx.Err() != nil
		if in.answer != nil {
			return nil, in.answer
		}
		return actions.Outputs{"version": "6.3.11"}, nil
	case <-ctx.Done():
		in.mu.Lock()
		defer in.mu.Unlock()
		in.cancelled = true
		return nil, ctx.Err()
	}
}

func (in *installer) state() (runs int, cancelled bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.runs, in.cancelled
}

// stopRun runs body with the installer registered as the action "install"
// (mutating unless readOnly), the fake probe "up" (true) and the fake
// action "next", with a journal at path, and a Stop channel. on is called
// with each event, the function that closes Stop and the one that cancels
// the run's context.
func stopRun(t *testing.T, kit *actionstest.Kit, in *installer, readOnly bool, path, body string, on func(e runner.Event, stop, cancel func())) (*runner.Report, []runner.Event, error) {
	t.Helper()
	reg := kit.Registry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "install", Mutates: !readOnly}, func() actions.Action { return in }))
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopC := make(chan struct{})
	stop := sync.OnceFunc(func() { close(stopC) })
	var events []runner.Event
	obs := runner.ObserverFunc(func(e runner.Event) {
		events = append(events, e)
		on(e, stop, cancel)
	})
	rep, err := runner.Run(ctx, load(t, reg, body), runner.Options{Registry: reg, Clock: kit.Clock, Journal: j, Stop: stopC, Observers: []runner.Observer{obs}})
	return rep, events, err
}

func stopping(events []runner.Event) []runner.Event {
	var out []runner.Event
	for _, e := range events {
		if e.Kind == runner.RunStopping {
			out = append(out, e)
		}
	}
	return out
}

const installBody = `steps:
  - id: install
    title: Upgrade the primary
    action: install
    retry: {attempts: 3}
    post: [{probe: up, expect: {equals: true}, wait: {timeout: 30m}}]
  - id: next
    action: next
`

// TestStopLetsAMutatingActionFinish closes Stop while a mutating action
// runs: the action is not cancelled, its result is journaled, the run
// stops before its postconditions and the next step; RunStopping names
// it. A resume checks the postconditions and does not run it again.
func TestStopLetsAMutatingActionFinish(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	up := kit.Probe("up", actionstest.Returns(true))
	next := kit.Action("next", actionstest.Succeeds(nil))
	in := newInstaller()
	path := filepath.Join(t.TempDir(), "run.journal")
	rep, events, err := stopRun(t, kit, in, false, path, installBody, func(e runner.Event, stop, _ func()) {
		switch e.Kind {
		case runner.AttemptStart:
			stop()
		case runner.RunStopping:
			close(in.release) // only now: the run waited for it
		}
	})
	if !errors.Is(err, runner.ErrInterrupted) || !errors.Is(err, context.Canceled) || errors.Is(err, runner.ErrAction) {
		t.Errorf("err = %v, want an interruption", err)
	}
	if want := "interrupted after action install ended, before its postconditions: context canceled (stop requested)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to say %q", err, want)
	}
	if runs, cancelled := in.state(); runs != 1 || cancelled {
		t.Errorf("the installer ran %d times, cancelled %v; want once, never cancelled", runs, cancelled)
	}
	if rep.Outcome != runner.Cancelled || rep.Steps[0].Outcome != runner.Cancelled || rep.Steps[1].Outcome != runner.NotRun {
		t.Errorf("outcomes: run %s, steps %s and %s; want Cancelled, Cancelled, NotRun", rep.Outcome, rep.Steps[0].Outcome, rep.Steps[1].Outcome)
	}
	if up.Calls() != 0 || next.Calls() != 0 {
		t.Errorf("after the stop, the probe ran %d times and the next action %d times; want neither", up.Calls(), next.Calls())
	}
	st := stopping(events)
	if len(st) != 1 || st[0].Step != "install" || st[0].Index != 1 || st[0].Title != "Upgrade the primary" || st[0].Message != "install" || st[0].Attempt != 1 {
		t.Errorf("RunStopping events %+v, want one naming step install, action install, attempt 1", st)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"action.end"`) || !strings.Contains(string(data), `6.3.11`) {
		t.Errorf("the journal does not record the action's end and outputs:\n%s", data)
	}

	// The resume checks the postconditions, and runs what is left.
	j, err := runner.OpenJournal(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	reg := kit.Registry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "install", Mutates: true}, func() actions.Action { return in }))
	rep, err = runner.Run(context.Background(), load(t, reg, installBody), runner.Options{Registry: reg, Clock: kit.Clock, Journal: j})
	if err != nil || rep.Outcome != runner.Succeeded {
		t.Fatalf("resume: %v, %s", err, rep.Outcome)
	}
	if runs, _ := in.state(); runs != 1 || up.Calls() != 1 || next.Calls() != 1 {
		t.Errorf("resume: installer runs %d, probe calls %d, next calls %d; want 1, 1, 1", runs, up.Calls(), next.Calls())
	}
	if rep.Steps[0].Reason != "interrupted earlier; its postconditions hold" {
		t.Errorf("resume: step install: %q", rep.Steps[0].Reason)
	}
}

// TestStopDoesNotRetry: a mutating action that fails by itself after Stop
// is not retried; its failure is journaled (a resume runs it again) and
// the run ends Cancelled.
func TestStopDoesNotRetry(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("up", actionstest.Returns(true))
	kit.Action("next", actionstest.Succeeds(nil))
	in := newInstaller()
	in.answer = errBoom
	path := filepath.Join(t.TempDir(), "run.journal")
	rep, _, err := stopRun(t, kit, in, false, path, installBody, func(e runner.Event, stop, _ func()) {
		switch e.Kind {
		case runner.AttemptStart:
			stop()
		case runner.RunStopping:
			close(in.release)
		}
	})
	if !errors.Is(err, runner.ErrInterrupted) || !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "not retried: the run was asked to stop") {
		t.Errorf("err = %v, want an interruption, boom, not retried", err)
	}
	if runs, _ := in.state(); runs != 1 || len(rep.Steps[0].Attempts) != 1 || rep.Outcome != runner.Cancelled {
		t.Errorf("%d runs, %d attempts, outcome %s; want 1, 1, Cancelled", runs, len(rep.Steps[0].Attempts), rep.Outcome)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"action.end"`) || !strings.Contains(string(data), "boom") {
		t.Errorf("the journal does not record the failed attempt:\n%s", data)
	}
}

// TestStopThenCancel: after Stop, cancelling ctx cancels the mutating
// action the run was waiting for; the journal leaves it started, so that a
// resume asks what it left behind.
func TestStopThenCancel(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("up", actionstest.Returns(true))
	kit.Action("next", actionstest.Succeeds(nil))
	in := newInstaller()
	path := filepath.Join(t.TempDir(), "run.journal")
	rep, events, err := stopRun(t, kit, in, false, path, installBody, func(e runner.Event, stop, cancel func()) {
		switch e.Kind {
		case runner.AttemptStart:
			in.onRun = stop // the action is running when Stop is closed
		case runner.RunStopping:
			cancel()
		}
	})
	<-in.returned
	if !errors.Is(err, runner.ErrInterrupted) || err == nil || !strings.Contains(err.Error(), "interrupted while action install ran: context canceled") {
		t.Errorf("err = %v, want an interruption while the action ran", err)
	}
	if runs, cancelled := in.state(); runs != 1 || !cancelled {
		t.Errorf("the installer ran %d times, cancelled %v; want once, cancelled", runs, cancelled)
	}
	if rep.Outcome != runner.Cancelled || len(stopping(events)) != 1 {
		t.Errorf("outcome %s, RunStopping events %d; want Cancelled, 1", rep.Outcome, len(stopping(events)))
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"action.start"`) || strings.Contains(string(data), `"action.end"`) {
		t.Errorf("the journal should leave the action started:\n%s", data)
	}
}

// TestStopCancels: Stop cancels at once what changes nothing: a wait, a
// read-only action, a run about to start; RunStopping then names no step.
func TestStopCancels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		readOnly bool
		// at says at which event to close Stop; nil: before the run.
		at   runner.EventKind
		says string
	}{
		{"a wait", "steps:\n  - id: s\n    pre: [{probe: no, expect: {equals: true}, wait: {timeout: 1h, interval: 1m}}]\n    action: install\n",
			false, runner.WaitPoll, `step "s" (t.yaml:5): interrupted while checking the preconditions: context canceled (stop requested)`},
		{"a read-only action", "steps:\n  - id: s\n    action: install\n", true, runner.AttemptStart, "interrupted while action install ran: context canceled (stop requested)"},
		{"a postcondition's wait", "steps:\n  - id: s\n    action: next\n    post: [{probe: no, expect: {equals: true}, wait: {timeout: 1h, interval: 1m}}]\n",
			false, runner.WaitPoll, "interrupted while checking the postconditions"},
		{"the run, before it starts", "steps:\n  - id: s\n    action: install\n", false, "", `interrupted before step "s"`},
		{"a step, before its action", "steps:\n  - id: s\n    pre: [{probe: yes, expect: {equals: true}}]\n    action: install\n",
			false, runner.ConditionEnd, "interrupted before action install started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kit := actionstest.NewKit()
			kit.Probe("no", actionstest.Returns(false))
			kit.Probe("yes", actionstest.Returns(true))
			kit.Action("next", actionstest.Succeeds(nil))
			in := newInstaller()
			reg := kit.Registry()
			actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "install", Mutates: !tt.readOnly}, func() actions.Action { return in }))
			stopC := make(chan struct{})
			stop := sync.OnceFunc(func() { close(stopC) })
			if tt.at == "" {
				stop()
			}
			var events []runner.Event
			obs := runner.ObserverFunc(func(e runner.Event) {
				events = append(events, e)
				switch {
				case e.Kind == runner.AttemptStart && tt.at == runner.AttemptStart:
					in.onRun = stop // the action is running when Stop is closed
				case e.Kind == tt.at:
					stop()
				}
			})
			rep, err := runner.Run(context.Background(), load(t, reg, tt.body), runner.Options{Registry: reg, Clock: kit.Clock, Stop: stopC, Observers: []runner.Observer{obs}})
			if !errors.Is(err, runner.ErrInterrupted) || !errors.Is(err, context.Canceled) || err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err = %v, want an interruption saying %q", err, tt.says)
			}
			if rep.Outcome != runner.Cancelled {
				t.Errorf("outcome %s, want Cancelled", rep.Outcome)
			}
			if slept := kit.Clock.Slept(); slept > 2*60e9 {
				t.Errorf("the run waited %s after Stop", slept)
			}
			if tt.readOnly {
				<-in.returned
			}
			runs, cancelled := in.state()
			if tt.readOnly != (runs == 1) || tt.readOnly != cancelled {
				t.Errorf("the action ran %d times, cancelled %v", runs, cancelled)
			}
			st := stopping(events)
			if len(st) != 1 || st[0].Step != "" || st[0].Message != "" {
				t.Fatalf("RunStopping events %+v, want one naming nothing", st)
			}
			if last := events[len(events)-1]; last.Kind != runner.RunEnd {
				t.Errorf("the last event is %s", last.Kind)
			}
		})
	}
}

// TestCancelWaitsForTheAction: a cancelled action that takes a moment to
// end (as a command does between SIGTERM and its exit) is waited for, not
// abandoned: the report has what it said as it ended.
func TestCancelWaitsForTheAction(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	reg := kit.Registry()
	cancelled, proceed := make(chan struct{}), make(chan struct{})
	go func() {
		<-cancelled
		close(proceed)
	}()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "install", Mutates: true}, func() actions.Action {
		return actions.ActionFunc(func(ctx context.Context, _ *actions.Call) (actions.Outputs, error) {
			<-ctx.Done()
			close(cancelled)
			<-proceed
			return nil, errors.New("installer stopped cleanly")
		})
	}))
	ctx, cancel := context.WithCancel(context.Background())
	obs := runner.ObserverFunc(func(e runner.Event) {
		if e.Kind == runner.AttemptStart {
			cancel()
		}
	})
	rep, err := runner.Run(ctx, load(t, reg, "steps:\n  - id: s\n    action: install\n"), runner.Options{Registry: reg, Clock: kit.Clock, Observers: []runner.Observer{obs}})
	if !errors.Is(err, runner.ErrInterrupted) {
		t.Errorf("err = %v, want an interruption", err)
	}
	if a := rep.Steps[0].Attempts; len(a) != 1 || a[0].Error != "installer stopped cleanly" {
		t.Errorf("attempts %+v, want one that says how the installer stopped", a)
	}
}

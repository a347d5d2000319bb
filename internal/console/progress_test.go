package console

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// newClock returns a virtual clock: time moves when the test says.
func newClock() *actionstest.Clock { return actionstest.NewClock(actionstest.Epoch) }

// same fails t, saying what was shown, when got is not want.
func same(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got\n%q\nwant\n%q", what, got, want)
	}
}

// taken returns what b holds and empties it.
func taken(b *strings.Builder) string {
	s := b.String()
	b.Reset()
	return s
}

// TestProgressHoldsWhileAsking: while the operator is asked, the ticker
// draws nothing over the question.
func TestProgressHoldsWhileAsking(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	p := New(&b, Options{TTY: true, Plan: &plan.Plan{Filename: "rb.yaml"}, Now: func() time.Time { return now }})
	p.Observe(runner.Event{Kind: runner.AttemptStart, Index: 1, Count: 2, Message: "manual", Timeout: time.Hour})
	release := p.Hold()
	now = now.Add(3 * time.Second)
	p.tick()
	if b.String() != "" {
		t.Errorf("drawn while asking: %q", b.String())
	}
	release()
	p.tick()
	if want := "[1/2]   running manual: 3s of 1h"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	// An event ends the attempt's line; the ticker has nothing to draw.
	p.Observe(runner.Event{Kind: runner.AttemptEnd, Index: 1, Count: 2, Message: "manual"})
	b.Reset()
	p.tick()
	if b.String() != "" {
		t.Errorf("drawn after the attempt: %q", b.String())
	}
}

func TestShort(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{45 * time.Minute: "45m", 192 * time.Second: "3m12s", time.Hour: "1h",
		90 * time.Minute: "1h30m", 2500 * time.Millisecond: "2.5s", 63 * time.Second: "1m3s"} {
		if got := short(d); got != want {
			t.Errorf("short(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestProgressInALog: off a terminal, each event of a step is a plain
// line; text from outside is escaped; a wait is shown when what it
// observes changes, and every 10 checks otherwise.
func TestProgressInALog(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	c := newClock()
	p := New(&b, Options{Plan: &plan.Plan{Filename: "rb.yaml"}, Now: c.Now})
	ev := func(e runner.Event) runner.Event {
		e.Count = 3
		if e.Index == 0 {
			e.Index = 1
		}
		return e
	}
	steps := []struct {
		e    runner.Event
		want string
	}{
		{runner.Event{Kind: runner.RunStart, Runbook: "rb", Message: "The upgrade"}, "Running The upgrade (3 steps)\n"},
		{runner.Event{Kind: runner.StepStart, Title: "Back up"}, "[1/3] Back up ...\n"},
		{runner.Event{Kind: runner.ActionInspect, Message: "in progress"}, "[1/3]   the interrupted attempt, inspected: in progress\n"},
		{runner.Event{Kind: runner.ActionInspect, Error: "no answer\nmore"}, "[1/3]   the interrupted attempt, inspected: unknown (no answer)\n"},
		{runner.Event{Kind: runner.AttemptStart, Message: "exec", Attempt: 1, Timeout: 45 * time.Minute}, ""},
		{runner.Event{Kind: runner.ActionLog, Message: "copying \x1b[2J"}, "[1/3]   copying \\x1b[2J\n"},
		{runner.Event{Kind: runner.ActionProgress, Message: "50%"}, ""}, // the log line said enough for a minute
		{runner.Event{Kind: runner.AttemptEnd, Message: "exec", Attempt: 1, Error: "exit status 1\nlast line"},
			"[1/3]   attempt 1 of exec failed: exit status 1\n        last line\n"},
		{runner.Event{Kind: runner.ActionProgress, Message: "retrying"}, "[1/3]   retrying\n"},
		{runner.Event{Kind: runner.StepEnd, Title: "Back up", Outcome: runner.Failed, Elapsed: 2500 * time.Millisecond, Line: 7},
			"[1/3] ✗ Back up (failed, 2.5s)\n      at rb.yaml:7\n"},
		{runner.Event{Kind: runner.ConditionEnd, Condition: &runner.ConditionResult{Condition: "up", Status: runner.Met}}, ""},
		{runner.Event{Kind: runner.ConditionEnd, Phase: runner.PhaseWhen, Condition: &runner.ConditionResult{Condition: "up", Status: runner.Unmet}}, ""},
		{runner.Event{Kind: runner.ConditionEnd, Phase: runner.PhasePost, Condition: &runner.ConditionResult{Condition: "role is Active", Line: 9,
			Status: runner.Unmet, Unmet: []string{"role: want Active"}, Diff: "-a\n+b\n", Polls: 3, Waited: 90 * time.Second}},
			"[1/3]   unmet: role is Active (rb.yaml:9)\n        role: want Active\n        diff (-expected +observed):\n        -a\n        +b\n        after waiting 1m30s (3 checks)\n"},
		{runner.Event{Kind: runner.ConditionEnd, Phase: runner.PhasePre, Condition: &runner.ConditionResult{Condition: "probe", Line: 4,
			Status: runner.Error, Error: "refused\nmore", Polls: 1}},
			"[1/3]   error: probe (rb.yaml:4)\n        refused\n"},
		{runner.Event{Kind: runner.UndoStart, Message: "exec"}, "[1/3]   rolling back: exec\n"},
		{runner.Event{Kind: runner.UndoEnd, Error: "boom\nmore"}, "[1/3]   undo failed: boom\n"},
		{runner.Event{Kind: runner.UndoEnd}, "[1/3]   undone\n"},
		{runner.Event{Kind: runner.StepStart, Index: 2, Title: "Wait"}, "[2/3] Wait ...\n"},
		{runner.Event{Kind: runner.StepEnd, Index: 2, Title: "Wait", Outcome: runner.Succeeded, Elapsed: 500 * time.Millisecond}, "[2/3] ✓ Wait (succeeded)\n"},
		{runner.Event{Kind: runner.StepEnd, Index: 3, Title: "Third", Outcome: runner.Skipped, Message: "when does not hold"},
			"[3/3] - Third (skipped)\n      when does not hold\n"},
		{runner.Event{Kind: runner.StepEnd, Index: 3, Title: "Third", Outcome: runner.WouldSkip, Message: "checks only"}, "[3/3] - Third (would skip)\n"},
		{runner.Event{Kind: runner.StepEnd, Index: 3, Title: "Third", Outcome: runner.NotRun}, "[3/3] ! Third (not run)\n"},
		{runner.Event{Kind: runner.RunEnd}, ""},
	}
	for i, s := range steps {
		p.Observe(ev(s.e))
		if got := taken(&b); got != s.want {
			t.Errorf("event %d (%s): got %q, want %q", i, s.e.Kind, got, s.want)
		}
	}

	// A wait: shown when what it observes changes, else every 10 checks.
	poll := func(elapsed time.Duration, observed any, err string) runner.Event {
		return ev(runner.Event{Kind: runner.WaitPoll, Index: 2, Step: "wait", Elapsed: elapsed, Timeout: 10 * time.Minute,
			Condition: &runner.ConditionResult{Condition: "role is Active", Observed: observed, Error: err}})
	}
	p.Observe(ev(runner.Event{Kind: runner.StepStart, Index: 2, Title: "Wait"}))
	p.Observe(poll(time.Second, "Standby", ""))
	p.Observe(poll(2*time.Second, "Standby", ""))
	p.Observe(poll(3*time.Second, nil, "timeout"))
	for i := 4; i <= 12; i++ {
		p.Observe(poll(time.Duration(i)*time.Second, nil, "timeout"))
	}
	want := "[2/3] Wait ...\n" +
		"[2/3]   waiting for role is Active: 1s of 10m0s, observed \"Standby\"\n" +
		"[2/3]   waiting for role is Active: 3s of 10m0s, error: timeout\n" +
		"[2/3]   waiting for role is Active: 11s of 10m0s, error: timeout\n"
	same(t, "the wait", taken(&b), want)
}

// TestProgressOnATerminal: a wait's line is redrawn in place, cut to the
// width less the columns reserved; a step's end clears it; colours.
func TestProgressOnATerminal(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	p := New(&b, Options{TTY: true, Color: true, Plan: &plan.Plan{Filename: "rb.yaml"}, Width: func() int { return 40 }, Reserve: 9})
	p.Observe(runner.Event{Kind: runner.RunStart, Runbook: "rb", Count: 1, DryRun: true})
	p.Observe(runner.Event{Kind: runner.StepStart, Index: 1, Count: 1, Title: "T"})
	for i := 1; i <= 2; i++ {
		p.Observe(runner.Event{Kind: runner.WaitPoll, Index: 1, Count: 1, Elapsed: time.Duration(i) * time.Second, Timeout: time.Minute,
			Condition: &runner.ConditionResult{Condition: "n is 4", Observed: 3}})
	}
	p.Observe(runner.Event{Kind: runner.StepEnd, Index: 1, Count: 1, Title: "T", Outcome: runner.WouldRun, Elapsed: 1500 * time.Millisecond, Message: "would run exec"})
	p.Summary(&runner.Report{Outcome: runner.WouldRun, DryRun: true, Steps: []runner.StepReport{{Outcome: runner.WouldRun}}}, nil)
	want := "Dry run of \x1b[1mrb\x1b[0m (1 step)\n" +
		"[1/1]   waiting for n is 4: 1…" + // 40 columns, less 1 and the 9 reserved
		"\r\x1b[K[1/1]   waiting for n is 4: 2…" +
		"\r\x1b[K[1/1] \x1b[36m→\x1b[0m T \x1b[2m(would run\x1b[0m\x1b[2m, 1.5s\x1b[0m\x1b[2m)\x1b[0m\n" +
		"      \x1b[2mwould run exec\x1b[0m\n" +
		"\x1b[36mDry run\x1b[0m: 1 step: 1 would run in 0s\n"
	same(t, "the display", b.String(), want)
}

// testPlan is a runbook of one step whose action is called on a target.
func testPlan(t *testing.T) *plan.Plan {
	t.Helper()
	kit := actionstest.NewKit()
	kit.Action("change")
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\ntargets:\n  primary: {host: h}\nsteps:\n  - id: up\n    action: change\n    with: {target: primary}\n"
	p, err := plan.Parse("rb.yaml", []byte(src), plan.WithRegistry(kit.Registry()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTickOnATerminal: the running action's line, with its target, is
// redrawn; a passing status of the action replaces it; a log line of the
// action is printed above it; the summary ends it.
func TestTickOnATerminal(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	c := newClock()
	p := New(&b, Options{TTY: true, Plan: testPlan(t), Now: c.Now})
	p.Observe(runner.Event{Kind: runner.AttemptStart, Index: 1, Count: 1, Message: "change", Attempt: 1, Timeout: 45 * time.Minute})
	c.Advance(12 * time.Second)
	p.tick()
	p.Observe(runner.Event{Kind: runner.ActionProgress, Index: 1, Count: 1, Message: "copied 3 of 9"})
	p.tick()
	p.Observe(runner.Event{Kind: runner.ActionLog, Index: 1, Count: 1, Message: "note"})
	release := p.Hold()
	p.tick()
	release()
	p.tick()
	p.Summary(&runner.Report{Outcome: runner.Succeeded, Steps: []runner.StepReport{{Outcome: runner.Succeeded}}, Duration: 12 * time.Second}, nil)
	p.tick()
	want := "[1/1]   running change on primary: 12s of 45m" +
		"\r\x1b[K[1/1]   copied 3 of 9" +
		"\r\x1b[K[1/1]   copied 3 of 9" +
		"\r\x1b[K[1/1]   note\n" +
		"[1/1]   copied 3 of 9" +
		"\r\x1b[KSucceeded: 1 step: 1 succeeded in 12s\n"
	same(t, "the display", b.String(), want)
}

// TestTickInALog: off a terminal, a line each time the attempt has run
// for another Every; a line of the action's own puts the next one off.
func TestTickInALog(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	c := newClock()
	p := New(&b, Options{Now: c.Now, Every: 10 * time.Second})
	at := func(d time.Duration) { c.Advance(d); p.tick() }
	p.Observe(runner.Event{Kind: runner.AttemptStart, Index: 1, Count: 1, Message: "exec", Attempt: 1})
	at(5 * time.Second)
	at(5 * time.Second)
	at(25 * time.Second)
	p.Observe(runner.Event{Kind: runner.ActionLog, Index: 1, Count: 1, Message: "hi"})
	at(7 * time.Second) // 42s: the next line is due at 45s
	c.Advance(4 * time.Second)
	p.Observe(runner.Event{Kind: runner.ActionProgress, Index: 1, Count: 1, Message: "50%"})
	p.tick()
	want := "[1/1]   running exec: 10s\n" +
		"[1/1]   running exec: 35s\n" +
		"[1/1]   hi\n" +
		"[1/1]   50%\n"
	same(t, "the display", b.String(), want)
}

// TestEventTimes: with EventTimes, an attempt that started before its
// event arrived is measured from the event's Time; without, from its
// arrival.
func TestEventTimes(t *testing.T) {
	t.Parallel()
	c := newClock()
	started := c.Now()
	c.Advance(10 * time.Minute)
	for _, tc := range []struct {
		eventTimes bool
		at         time.Time
		want       string
	}{
		{true, started, "[1/1]   running exec: 10m\n"},
		{true, time.Time{}, ""}, // no time: from its arrival
		{false, started, ""},
	} {
		var b strings.Builder
		p := New(&b, Options{Now: c.Now, EventTimes: tc.eventTimes})
		p.Observe(runner.Event{Kind: runner.AttemptStart, Time: tc.at, Index: 1, Count: 1, Message: "exec", Attempt: 1})
		p.tick()
		same(t, fmt.Sprintf("EventTimes %v, an event at %v", tc.eventTimes, tc.at), b.String(), tc.want)
	}
}

// TestQuiet: a dry run for plan shows its start, the actions' log lines
// and, on a terminal only, what is being probed.
func TestQuiet(t *testing.T) {
	t.Parallel()
	events := []runner.Event{
		{Kind: runner.RunStart, Runbook: "rb", Count: 2, DryRun: true},
		{Kind: runner.StepStart, Index: 1, Count: 2, Title: "T"},
		{Kind: runner.ConditionStart, Index: 1, Count: 2, Condition: &runner.ConditionResult{Condition: "role is Active"}},
		{Kind: runner.ActionProgress, Index: 1, Count: 2, Message: "checking"},
		{Kind: runner.ActionLog, Index: 1, Count: 2, Message: "warning: x"},
		{Kind: runner.AttemptStart, Index: 1, Count: 2, Message: "exec"},
		{Kind: runner.WaitPoll, Index: 1, Count: 2, Condition: &runner.ConditionResult{Condition: "n is 4"}},
		{Kind: runner.StepEnd, Index: 1, Count: 2, Title: "T", Outcome: runner.WouldRun},
		{Kind: runner.RunEnd},
	}
	for _, tc := range []struct {
		tty  bool
		want string
	}{
		{true, "Dry run of rb (2 steps)\n" +
			"probing: role is Active on step 1" +
			"\r\x1b[K[1/2]   checking" +
			"\r\x1b[K[1/2]   warning: x\n" +
			"probing: n is 4 on step 1" +
			"\r\x1b[K"},
		{false, "Dry run of rb (2 steps)\n[1/2]   warning: x\n"},
	} {
		var b strings.Builder
		c := newClock()
		p := New(&b, Options{Quiet: true, TTY: tc.tty, Now: c.Now})
		for _, e := range events {
			p.Observe(e)
		}
		c.Advance(time.Hour)
		p.tick() // quiet: no line of a running action
		same(t, fmt.Sprintf("tty %v", tc.tty), b.String(), tc.want)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	steps := func(outcomes ...runner.Outcome) []runner.StepReport {
		var s []runner.StepReport
		for _, o := range outcomes {
			s = append(s, runner.StepReport{Outcome: o})
		}
		return s
	}
	for _, tc := range []struct {
		rep       *runner.Report
		builtin   bool
		out, errw string
	}{
		{nil, false, "", ""},
		{&runner.Report{Outcome: runner.Failed, Steps: steps(runner.Succeeded, runner.Failed, runner.NotRun), Duration: 62 * time.Second,
			Error: "step \"x\" (csm-upgrade.yaml:3): boom\nmore"}, true,
			"Failed: 3 steps: 1 succeeded, 1 failed, 1 not run in 1m2s\n",
			"error: step \"x\" (csm-upgrade.yaml:3, the built-in runbook; 'csmplan init' writes a copy): boom\n  more\n"},
		{&runner.Report{Outcome: runner.Failed, Steps: steps(runner.Failed), Error: "at csm-upgrade.yaml:3"}, false,
			"Failed: 1 step: 1 failed in 0s\n", "error: at csm-upgrade.yaml:3\n"},
		{&runner.Report{Outcome: runner.Failed, DryRun: true, Steps: steps(runner.Blocked, runner.WouldSkip)}, false,
			"Dry run: blocked: 2 steps: 1 skipped, 1 blocked in 0s\n", ""},
		{&runner.Report{Outcome: runner.Cancelled, Steps: steps(runner.Resumed, runner.Skipped, runner.Cancelled), Duration: 1500 * time.Millisecond}, false,
			"Interrupted: 3 steps: 1 done earlier, 1 skipped, 1 cancelled in 1.5s\n", ""},
		{&runner.Report{Outcome: "odd\x1b"}, false, "odd\\x1b: 0 steps:  in 0s\n", ""},
	} {
		var out, errw strings.Builder
		p := New(&out, Options{Builtin: tc.builtin})
		p.Summary(tc.rep, &errw)
		if out.String() != tc.out || errw.String() != tc.errw {
			t.Errorf("Summary(%+v): got %q and %q on errw, want %q and %q", tc.rep, out.String(), errw.String(), tc.out, tc.errw)
		}
	}
}

// syncWriter is a writer for a goroutine of its own: it says when it was
// written to.
type syncWriter struct {
	mu      sync.Mutex
	b       strings.Builder
	written chan struct{}
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.written <- struct{}{}:
	default:
	}
	return w.b.Write(p)
}

// TestTicker: the ticker draws the running action on its own goroutine
// until it is stopped.
func TestTicker(t *testing.T) {
	t.Parallel()
	w := &syncWriter{written: make(chan struct{}, 1)}
	p := New(w, Options{TTY: true})
	p.Observe(runner.Event{Kind: runner.AttemptStart, Index: 1, Count: 1, Message: "exec", Attempt: 1})
	stop := p.Ticker(time.Millisecond)
	select {
	case <-w.written:
	case <-time.After(time.Minute):
		t.Fatal("the ticker drew nothing in a minute")
	}
	stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !strings.HasPrefix(w.b.String(), "[1/1]   running exec: ") {
		t.Errorf("the ticker drew %q", w.b.String())
	}
}

// TestEvery: f is called on every tick, on a goroutine of its own, until
// stop, which returns once f has returned.
func TestEvery(t *testing.T) {
	t.Parallel()
	calls := make(chan struct{})
	stop := Every(time.Millisecond, func() { calls <- struct{}{} })
	for range 3 {
		select {
		case <-calls:
		case <-time.After(time.Minute):
			t.Fatal("f was not called in a minute")
		}
	}
	stopped := make(chan struct{})
	go func() {
		stop()
		close(stopped)
	}()
	// f may be blocked sending its next call: stop waits for it.
	for {
		select {
		case <-calls:
			continue
		case <-stopped:
		case <-time.After(time.Minute):
			t.Fatal("stop did not return in a minute")
		}
		break
	}
}

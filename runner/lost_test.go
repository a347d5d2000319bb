package runner_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// losingExec loses the first lose attempts of every action (after they ran:
// they took effect), answers Inspect with inspection, and Preflight with
// preflight; it notes every call.
type losingExec struct {
	lose       int
	inspection actions.Inspection
	preflight  error
	calls      []string
}

func (x *losingExec) Act(ctx context.Context, act actions.Action, call *actions.Call, _ time.Duration) (actions.Outputs, error) {
	x.calls = append(x.calls, fmt.Sprintf("act %s#%d", call.Name, call.Attempt))
	out, err := act.Run(ctx, call)
	if x.lose > 0 {
		x.lose--
		return nil, fmt.Errorf("worker gone: %w", runner.ErrActionLost)
	}
	return out, err
}

func (x *losingExec) Observe(ctx context.Context, p actions.Probe, call *actions.Call) (any, error) {
	return p.Observe(ctx, call)
}

func (x *losingExec) Inspect(_ context.Context, _ actions.Action, call *actions.Call, _ time.Duration) (actions.Inspection, error) {
	x.calls = append(x.calls, "inspect "+call.Name)
	return x.inspection, nil
}

func (x *losingExec) Preflight(_ context.Context, _ actions.Action, call *actions.Call, _ time.Duration) (bool, error) {
	x.calls = append(x.calls, "preflight "+call.Name)
	return true, x.preflight
}

// lostKit: the install action succeeds, and the version probe answers
// old until the given number of observations, then new.
func lostKit(oldFor int) *actionstest.Kit {
	kit := actionstest.NewKit()
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "install", Mutates: true}, actionstest.Succeeds(nil)))
	var seq []actionstest.Result
	if oldFor > 0 {
		seq = append(seq, actionstest.Returns("6.3.0").Times(oldFor))
	}
	kit.Probe("version", append(seq, actionstest.Returns("6.3.1"))...)
	return kit
}

const lostBook = `
steps:
  - id: install
    action: install
    retry: {attempts: %d}
    post:
      - probe: version
        expect: {equals: "6.3.1"}
        wait: {timeout: 1m, interval: 10s}
`

// An attempt an Exec loses is decided as a resume decides one an
// interrupted run left: its Inspector is asked, its postconditions are
// waited for, and when they hold the step succeeds without running the
// action again.
func TestLostAttemptSettledByItsPostconditions(t *testing.T) {
	t.Parallel()
	x := &losingExec{lose: 1}
	rep, _, err := run(t, lostKit(2), fmt.Sprintf(lostBook, 3), runner.Options{Exec: x})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	s := rep.Steps[0]
	if s.Outcome != runner.Succeeded || s.Reason != "its attempt was lost; its postconditions hold" {
		t.Errorf("step = %s %q", s.Outcome, s.Reason)
	}
	if d := cmp.Diff([]string{"act install#1", "inspect install"}, x.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if s.Inspection != "unknown" || len(s.Attempts) != 1 || !strings.Contains(s.Attempts[0].Error, "worker gone") {
		t.Errorf("inspection %q, attempts %+v", s.Inspection, s.Attempts)
	}
}

// When the postconditions do not hold, the action runs again, as attempt
// 2: the lost attempt counts among the step's retry attempts.
func TestLostAttemptRunsAgainWithinItsAttempts(t *testing.T) {
	t.Parallel()
	x := &losingExec{lose: 1}
	rep, _, err := run(t, lostKit(100), fmt.Sprintf(lostBook, 2), runner.Options{Exec: x})
	if !errors.Is(err, runner.ErrPostcondition) {
		t.Fatalf("err = %v, want ErrPostcondition (the version never changes)", err)
	}
	if d := cmp.Diff([]string{"act install#1", "inspect install", "act install#2"}, x.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if n := len(rep.Steps[0].Attempts); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

// With its attempts spent, a lost attempt whose postconditions do not
// hold fails the step, and says so; the action is not run again.
func TestLostAttemptWithAttemptsSpent(t *testing.T) {
	t.Parallel()
	x := &losingExec{lose: 1}
	_, _, err := run(t, lostKit(100), fmt.Sprintf(lostBook, 1), runner.Options{Exec: x})
	if !errors.Is(err, runner.ErrAction) || !errors.Is(err, runner.ErrActionLost) || !strings.Contains(err.Error(), "its attempts are spent") {
		t.Fatalf("err = %v", err)
	}
	if d := cmp.Diff([]string{"act install#1", "inspect install"}, x.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
}

// An Inspector that finds the lost attempt not done has the action run
// again at once, without waiting for the postconditions.
func TestLostAttemptFoundNotDone(t *testing.T) {
	t.Parallel()
	x := &losingExec{lose: 1, inspection: actions.NotDone}
	kit := lostKit(1)
	rep, _, err := run(t, kit, fmt.Sprintf(lostBook, 2), runner.Options{Exec: x})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if d := cmp.Diff([]string{"act install#1", "inspect install", "act install#2"}, x.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if got := kit.Clock.Slept(); got != 10*time.Second {
		t.Errorf("slept %s, want 10s (one wait interval, after attempt 2 only)", got)
	}
	if s := rep.Steps[0]; s.Inspection != "not done" || s.Outcome != runner.Succeeded {
		t.Errorf("step = %s, inspection %q", s.Outcome, s.Inspection)
	}
}

// An Inspector that finds it in progress, with postconditions that do not
// hold, stops the step with ErrInProgress: it is not started twice.
func TestLostAttemptInProgress(t *testing.T) {
	t.Parallel()
	x := &losingExec{lose: 1, inspection: actions.InProgress}
	_, _, err := run(t, lostKit(100), fmt.Sprintf(lostBook, 3), runner.Options{Exec: x})
	if !errors.Is(err, runner.ErrInProgress) || !strings.Contains(err.Error(), "the action whose attempt was lost is in progress") {
		t.Fatalf("err = %v, want ErrInProgress", err)
	}
	if d := cmp.Diff([]string{"act install#1", "inspect install"}, x.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
}

// A dry run's preflight goes through ExecChecks.
func TestExecChecksPreflight(t *testing.T) {
	t.Parallel()
	x := &losingExec{preflight: errors.New("no installer at /opt/setup.bin")}
	rep, _, err := run(t, lostKit(0), fmt.Sprintf(lostBook, 1), runner.Options{Exec: x, DryRun: true})
	if !errors.Is(err, runner.ErrPreflight) {
		t.Fatalf("err = %v, want ErrPreflight", err)
	}
	if s := rep.Steps[0]; s.Outcome != runner.Blocked || !strings.Contains(s.Reason, "no installer at /opt/setup.bin") {
		t.Errorf("step = %s %q", s.Outcome, s.Reason)
	}
	x = &losingExec{}
	rep, _, err = run(t, lostKit(0), fmt.Sprintf(lostBook, 1), runner.Options{Exec: x, DryRun: true})
	if err != nil || rep.Steps[0].Reason != "action install (what it needs is there)" {
		t.Errorf("err = %v, reason %q", err, rep.Steps[0].Reason)
	}
	if d := cmp.Diff([]string{"preflight install"}, x.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
}

// A lost attempt found not done never took effect: it does not count
// among the step's attempts, up to three such; then the step fails.
func TestLostAttemptNotDoneIsGivenBack(t *testing.T) {
	t.Parallel()
	x := &losingExec{lose: 1, inspection: actions.NotDone}
	rep, _, err := run(t, lostKit(0), fmt.Sprintf(lostBook, 1), runner.Options{Exec: x})
	if err != nil || rep.Steps[0].Outcome != runner.Succeeded {
		t.Fatalf("one attempt, lost and not done: %v", err)
	}
	if d := cmp.Diff([]string{"act install#1", "inspect install", "act install#2"}, x.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	x = &losingExec{lose: 100, inspection: actions.NotDone}
	_, _, err = run(t, lostKit(0), fmt.Sprintf(lostBook, 1), runner.Options{Exec: x})
	if !errors.Is(err, runner.ErrActionLost) || !strings.Contains(err.Error(), "its attempts are spent") {
		t.Fatalf("always lost: err = %v", err)
	}
	if n := strings.Count(strings.Join(x.calls, " "), "act install#"); n != 4 {
		t.Errorf("%d attempts, want 4 (1, and 3 given back): %v", n, x.calls)
	}
}

package runner_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// recordingExec performs the calls itself and notes them.
type recordingExec struct {
	calls    []string
	timeouts []time.Duration
	fail     error // when set, Act returns it
}

func (x *recordingExec) Act(ctx context.Context, act actions.Action, call *actions.Call, timeout time.Duration) (actions.Outputs, error) {
	x.calls = append(x.calls, fmt.Sprintf("act %s#%d", call.Name, call.Attempt))
	x.timeouts = append(x.timeouts, timeout)
	if x.fail != nil {
		return nil, x.fail
	}
	return act.Run(ctx, call)
}

func (x *recordingExec) Observe(ctx context.Context, p actions.Probe, call *actions.Call) (any, error) {
	x.calls = append(x.calls, "observe "+call.Name)
	return p.Observe(ctx, call)
}

const execBook = `
steps:
  - id: s
    pre:
      - probe: ha
        expect: {path: role, equals: Active}
        wait: {timeout: 1m, interval: 10s}
    action: flaky
    timeout: 30s
    retry: {attempts: 3, interval: 5s}
`

func execKit() *actionstest.Kit {
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns(map[string]any{"role": "Standby"}), actionstest.Returns(map[string]any{"role": "Active"}))
	kit.Action("flaky", actionstest.Fails(errBoom), actionstest.Succeeds(nil))
	return kit
}

// Options.Exec performs every call, and the run's report is the one
// without it.
func TestExecPerformsTheCalls(t *testing.T) {
	t.Parallel()
	want, _, err := run(t, execKit(), execBook, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := &recordingExec{}
	got, _, err := run(t, execKit(), execBook, runner.Options{Exec: x})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("report with Exec differs (-without +with):\n%s", d)
	}
	wantCalls := []string{"observe ha", "observe ha", "act flaky#1", "act flaky#2"}
	if d := cmp.Diff(wantCalls, x.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]time.Duration{30 * time.Second, 30 * time.Second}, x.timeouts); d != "" {
		t.Errorf("timeouts (-want +got):\n%s", d)
	}
}

// An executor's deadline error is the step's timeout, as without Exec.
func TestExecTimeoutIsTheStepTimeout(t *testing.T) {
	t.Parallel()
	x := &recordingExec{fail: fmt.Errorf("activity: %w", context.DeadlineExceeded)}
	rep, _, err := run(t, execKit(), `
steps:
  - id: s
    action: flaky
    timeout: 30s
`, runner.Options{Exec: x})
	if !errors.Is(err, runner.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if got := rep.Steps[0].Attempts[0].Error; got != "activity: timed out after 30s" {
		t.Errorf("attempt error = %q", got)
	}
}

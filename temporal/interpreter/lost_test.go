package interpreter_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/record"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

const lostBook = header + `
targets:
  primary: {host: a}
  secondary: {host: b}
steps:
  - id: install
    action: install
    with: {target: secondary}
    retry: {attempts: 2}
    post:
      - probe: version
        with: {target: secondary}
        expect: {equals: "6.3.1"}
        wait: {timeout: 5m, interval: 30s}
`

// suiteEnv is a test environment with the interpreter and the kit's
// activities registered; started lists the activities started, with their
// task queue and heartbeat timeout.
type suiteEnv struct {
	*testsuite.TestWorkflowEnvironment
	mu      sync.Mutex
	started []string
	hb      []time.Duration
}

func newSuiteEnv(kit *actionstest.Kit) *suiteEnv {
	reg := kit.Registry()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quiet)
	env := &suiteEnv{TestWorkflowEnvironment: suite.NewTestWorkflowEnvironment()}
	ip := &interpreter.Interpreter{Local: reg}
	env.RegisterWorkflowWithOptions(ip.Run, workflow.RegisterOptions{Name: interpreter.WorkflowName})
	(&interpreter.Activities{Registry: reg, Clock: kit.Clock}).Register(env)
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		env.mu.Lock()
		defer env.mu.Unlock()
		env.started = append(env.started, info.ActivityType.Name+"@"+info.TaskQueue)
		env.hb = append(env.hb, info.HeartbeatTimeout)
	})
	return env
}

func input(reg *actions.Registry, book string) interpreter.Input {
	acts, probes := interpreter.Specs(reg)
	return interpreter.Input{Filename: "t.yaml", Runbook: []byte(book), Actions: acts, Probes: probes}
}

func lostKit() *actionstest.Kit {
	kit := actionstest.NewKit()
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "install", Mutates: true}, actionstest.Succeeds(nil)))
	kit.Probe("version", actionstest.Returns("6.3.0"), actionstest.Returns("6.3.1"))
	return kit
}

// An action's attempt whose worker goes silent (a heartbeat timeout: the
// worker was killed) is lost: the workflow asks the action's Inspector
// on a worker, waits for the postconditions, and, as they come to hold,
// the step succeeds without running the action again: an installer runs
// once. Calls go to the target's queue, with the heartbeat timeout.
func TestLostAttemptIsNotRunAgain(t *testing.T) {
	t.Parallel()
	kit := lostKit()
	env := newSuiteEnv(kit)
	env.OnActivity(interpreter.ActActivity, mock.Anything, mock.Anything).
		Return(interpreter.CallResult{}, temporal.NewHeartbeatTimeoutError()).Once()
	in := input(kit.Registry(), lostBook)
	in.TargetQueues = map[string]string{"secondary": "site-b"}
	in.HeartbeatTimeout = 10 * time.Second
	env.ExecuteWorkflow(interpreter.WorkflowName, in)
	var res interpreter.Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	s := res.Report.Steps[0]
	if s.Outcome != runner.Succeeded || s.Reason != "its attempt was lost; its postconditions hold" {
		t.Fatalf("step = %s %q (%s)", s.Outcome, s.Reason, res.Error)
	}
	if len(s.Attempts) != 1 || !strings.Contains(s.Attempts[0].Error, "went silent for 10s, its heartbeat timeout") {
		t.Errorf("attempts %+v", s.Attempts)
	}
	want := []string{"csmplan.Act@site-b", "csmplan.Inspect@site-b", "csmplan.Observe@site-b", "csmplan.Observe@site-b"}
	if d := cmp.Diff(want, env.started); d != "" {
		t.Errorf("activities (-want +got):\n%s", d)
	}
	for _, hb := range env.hb {
		if hb != 10*time.Second {
			t.Errorf("heartbeat timeout %s, want 10s", hb)
		}
	}
	if n := slices.IndexFunc(kit.Calls(), func(c actionstest.Call) bool { return c.Name == "install" }); n >= 0 {
		t.Errorf("the install action ran: %+v", kit.Calls())
	}
	// The journal query gives the run's change record.
	v, err := env.QueryWorkflow(interpreter.JournalQuery)
	var lines []byte
	if err == nil {
		err = v.Get(&lines)
	}
	if err != nil {
		t.Fatal(err)
	}
	log, err := runner.ParseJournal("workflow", lines)
	if err != nil {
		t.Fatal(err)
	}
	rec := record.FromJournal(log)
	if len(rec.Steps) != 1 || rec.Steps[0].Outcome != runner.Succeeded || rec.Steps[0].Reason != s.Reason || rec.User != "unknown" {
		t.Errorf("record: %+v", rec)
	}
}

// A lost probe observation is an error that the wait retries.
func TestLostObservationIsRetriedByTheWait(t *testing.T) {
	t.Parallel()
	kit := lostKit()
	env := newSuiteEnv(kit)
	real := &interpreter.Activities{Registry: kit.Registry(), Clock: kit.Clock}
	lost := 0
	env.OnActivity(interpreter.ObserveActivity, mock.Anything, mock.Anything).
		Return(func(ctx context.Context, req interpreter.CallRequest) (interpreter.CallResult, error) {
			if lost++; lost == 1 {
				return interpreter.CallResult{}, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_HEARTBEAT, nil)
			}
			return real.Observe(ctx, req)
		})
	env.ExecuteWorkflow(interpreter.WorkflowName, input(kit.Registry(), lostBook))
	var res interpreter.Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	s := res.Report.Steps[0]
	if s.Outcome != runner.Succeeded || len(s.Post) != 1 || s.Post[0].Polls < 2 {
		t.Fatalf("step = %s %q, post %+v", s.Outcome, s.Reason, s.Post)
	}
}

// Cancelling the workflow cancels the run: the wait ends, and the report
// says Cancelled.
func TestCancelledWorkflowCancelsTheRun(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "install", Mutates: true}, actionstest.Succeeds(nil)))
	kit.Probe("version", actionstest.Returns("6.3.0"))
	env := newSuiteEnv(kit)
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Minute)
	env.ExecuteWorkflow(interpreter.WorkflowName, input(kit.Registry(), lostBook))
	var res interpreter.Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Report.Outcome != runner.Cancelled || res.Report.Steps[0].Outcome != runner.Cancelled {
		t.Fatalf("outcome %s, step %s: %s", res.Report.Outcome, res.Report.Steps[0].Outcome, res.Error)
	}
}

// The progress query pages the events: from the index asked, at most
// MaxProgressEvents, with the index of the next.
func TestProgressPages(t *testing.T) {
	t.Parallel()
	kit := lostKit()
	env := newSuiteEnv(kit)
	env.ExecuteWorkflow(interpreter.WorkflowName, input(kit.Registry(), lostBook))
	get := func(since int) (interpreter.Progress, error) {
		var pr interpreter.Progress
		v, err := env.QueryWorkflow(interpreter.ProgressQuery, since)
		if err == nil {
			err = v.Get(&pr)
		}
		return pr, err
	}
	all, err := get(0)
	if err != nil || !all.Done || all.Next != len(all.Events) || len(all.Events) < 6 {
		t.Fatalf("from 0: %d events, next %d, done %v, %v", len(all.Events), all.Next, all.Done, err)
	}
	rest, err := get(3)
	if err != nil || rest.Next != all.Next || !cmp.Equal(rest.Events, all.Events[3:]) {
		t.Errorf("from 3: next %d, events %v, %v", rest.Next, rest.Events, err)
	}
	if _, err := get(all.Next + 1); err == nil {
		t.Error("a query past the end was answered")
	}
}

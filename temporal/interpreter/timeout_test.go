package interpreter_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// An attempt that Temporal times out (its StartToCloseTimeout, the step's
// timeout) fails as the step's timeout: "timed out after 30s", retried
// per the runbook, which then goes on.
func TestActivityTimeoutIsTheStepsTimeout(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("hang")
	reg := kit.Registry()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quiet)
	env := suite.NewTestWorkflowEnvironment()
	ip := &interpreter.Interpreter{Local: reg}
	env.RegisterWorkflowWithOptions(ip.Run, workflow.RegisterOptions{Name: interpreter.WorkflowName})
	(&interpreter.Activities{Registry: reg, Clock: kit.Clock}).Register(env)
	env.OnActivity(interpreter.ActActivity, mock.Anything, mock.Anything).
		Return(interpreter.CallResult{}, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)).Times(2)
	acts, probes := interpreter.Specs(reg)
	book := header + `
steps:
  - id: slow
    action: hang
    timeout: 30s
    retry: {attempts: 2, interval: 1s}
    on_failure: continue
`
	env.ExecuteWorkflow(interpreter.WorkflowName, interpreter.Input{Runbook: []byte(book), Actions: acts, Probes: probes})
	var res interpreter.Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	s := res.Report.Steps[0]
	if s.Outcome != runner.Failed || len(s.Attempts) != 2 || s.Attempts[0].Error != "timed out after 30s" {
		t.Fatalf("step: %+v", s)
	}
	if !strings.Contains(s.Reason, "timed out after 30s (after 2 attempts)") {
		t.Errorf("reason %q", s.Reason)
	}
}

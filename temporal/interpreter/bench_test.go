package interpreter_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// steps200 is a runbook of 200 steps, each a probe and an action.
func steps200() string {
	var b strings.Builder
	b.WriteString(header + "steps:\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  - id: s%d\n    pre: [{probe: ha, expect: {path: role, equals: Active}}]\n    action: do\n    with: {n: %d}\n", i, i)
	}
	return b.String()
}

func benchKit() *actionstest.Kit {
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns(map[string]any{"role": "Active"}))
	kit.Action("do", actionstest.Succeeds(nil))
	return kit
}

// BenchmarkRunner200 is runner.Run of the 200 steps, in process.
func BenchmarkRunner200(b *testing.B) {
	src := []byte(steps200())
	for b.Loop() {
		kit := benchKit()
		reg := kit.Registry()
		p, err := plan.Parse("b.yaml", src, plan.WithRegistry(reg))
		if err != nil {
			b.Fatal(err)
		}
		rep, err := runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: kit.Clock})
		if err != nil || rep.Outcome != runner.Succeeded {
			b.Fatal(err)
		}
	}
}

// BenchmarkWorkflow200 is the interpreter workflow of the 200 steps under
// the test suite (activities in process, no server).
func BenchmarkWorkflow200(b *testing.B) {
	src := []byte(steps200())
	for b.Loop() {
		kit := benchKit()
		reg := kit.Registry()
		var suite testsuite.WorkflowTestSuite
		suite.SetLogger(quiet)
		env := suite.NewTestWorkflowEnvironment()
		ip := &interpreter.Interpreter{Local: reg}
		env.RegisterWorkflowWithOptions(ip.Run, workflow.RegisterOptions{Name: interpreter.WorkflowName})
		(&interpreter.Activities{Registry: reg, Clock: kit.Clock}).Register(env)
		acts, probes := interpreter.Specs(reg)
		env.ExecuteWorkflow(interpreter.WorkflowName, interpreter.Input{Runbook: src, Actions: acts, Probes: probes})
		var res interpreter.Result
		if err := env.GetWorkflowResult(&res); err != nil || res.Report.Outcome != runner.Succeeded {
			b.Fatal(err, res.Error)
		}
	}
}

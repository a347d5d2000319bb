package csmworker_test

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/temporal/csmworker"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// The worker has the command's actions and probes, and the queue probe.
func TestRegistryIsTheCommandsWithTheQueueProbe(t *testing.T) {
	t.Parallel()
	reg, err := csmworker.Registry()
	if err != nil {
		t.Fatal(err)
	}
	cli := csmplan.Registry()
	for _, kind := range []actions.Kind{actions.KindAction, actions.KindProbe} {
		for _, name := range cli.Names(kind) {
			if _, ok := reg.Spec(kind, name); !ok {
				t.Errorf("%s %s of the command is missing", kind, name)
			}
		}
	}
	if !slices.Contains(reg.Names(actions.KindAction), "csm.takeover") {
		t.Error("no csm.takeover: not the command's registry")
	}
	if _, ok := reg.Spec(actions.KindProbe, interpreter.QueueSpec.Name); !ok {
		t.Error("no queue probe")
	}
	if _, ok := cli.Spec(actions.KindProbe, interpreter.QueueSpec.Name); ok {
		t.Error("the shared registry was changed")
	}
}

// A runbook of the command's built-ins runs on a worker made by Register.
func TestRegisteredWorkerRunsARunbook(t *testing.T) {
	t.Parallel()
	reg, err := csmworker.Registry()
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	csmworker.Register(env, reg)
	acts, probes := interpreter.Specs(reg)
	book := `apiVersion: csmplan/v1
kind: Runbook
name: w
targets:
  east: {task_queue: site-east}
steps:
  - id: queue
    pre:
      - probe: temporal.task_queue
        with: {target: east}
        expect: {equals: site-east}
  - id: note
    action: log
    with: {message: hello}
`
	env.ExecuteWorkflow(interpreter.WorkflowName, interpreter.Input{Runbook: []byte(book), Actions: acts, Probes: probes})
	var res interpreter.Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Report.Outcome != runner.Succeeded {
		t.Fatalf("outcome %s: %s", res.Report.Outcome, res.Error)
	}
}

// A fleet runs on a worker made by Register: the fleet workflow and its
// units' workflows are registered.
func TestRegisteredWorkerRunsAFleet(t *testing.T) {
	t.Parallel()
	reg, err := csmworker.Registry()
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	csmworker.Register(env, reg)
	acts, probes := interpreter.Specs(reg)
	book := "apiVersion: csmplan/v1\nkind: Runbook\nname: w\nsteps:\n  - id: note\n    action: log\n    with: {message: hello}\n"
	in := interpreter.FleetInput{Name: "f", Run: interpreter.Input{Runbook: []byte(book), Actions: acts, Probes: probes},
		Units: []interpreter.FleetUnit{{Name: "a", Wave: 1, Selected: true}, {Name: "b", Wave: 1, Selected: true}},
		Waves: [][]string{{"a", "b"}}, MaxParallel: 2}
	env.ExecuteWorkflow(interpreter.FleetWorkflowName, in)
	var res interpreter.FleetResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Report.Outcome != runner.Succeeded || res.Report.Count(runner.Succeeded) != 2 {
		t.Fatalf("outcome %s: %s", res.Report.Outcome, res.Error)
	}
}

// New makes a worker on a client without reaching the server.
func TestNewMakesAWorker(t *testing.T) {
	t.Parallel()
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := csmworker.New(c, "site-east")
	if err != nil || w == nil {
		t.Fatalf("New: %v, %v", w, err)
	}
}

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/temporal/csmworker"
	"github.com/csmplan/csmplan/temporal/devserver"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// BenchmarkRunbookOnDevServer runs a runbook of 200 steps (each a probe
// and an action, fakes) as a workflow on a real Temporal server (the dev
// server, in memory, in this process) with a worker in this process: the
// cost per step of the durable run, against interpreter's
// BenchmarkRunner200 (runner.Run in process).
func BenchmarkRunbookOnDevServer(b *testing.B) {
	srv, err := devserver.Start(devserver.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	cl, err := client.Dial(client.Options{HostPort: srv.Address(), Logger: quietLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns(map[string]any{"role": "Active"}))
	kit.Action("do", actionstest.Succeeds(nil))
	reg := kit.Registry()
	w := worker.New(cl, "bench", worker.Options{})
	csmworker.Register(w, reg)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var book strings.Builder
	book.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: bench\nsteps:\n")
	for i := range 200 {
		fmt.Fprintf(&book, "  - id: s%d\n    pre: [{probe: ha, expect: {path: role, equals: Active}}]\n    action: do\n    with: {n: %d}\n", i, i)
	}
	acts, probes := interpreter.Specs(reg)
	in := interpreter.Input{Runbook: []byte(book.String()), Actions: acts, Probes: probes}
	n := 0
	for b.Loop() {
		n++
		run, err := cl.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: fmt.Sprintf("bench-%d", n), TaskQueue: "bench"}, interpreter.WorkflowName, in)
		if err != nil {
			b.Fatal(err)
		}
		var res interpreter.Result
		if err := run.Get(context.Background(), &res); err != nil || res.Report.Outcome != runner.Succeeded {
			b.Fatal(err, res.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n*200), "µs/step")
}

// quietLogger drops the SDK's log lines.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/csmplan/csmplan/temporal/csmworker"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// devServer starts `csmplan-temporal dev` on a free port, with its
// database in dir, and returns its address.
func devServer(t testing.TB, ctx context.Context, dir string) (*proc, string) {
	t.Helper()
	dev := start(t, ctx, dir, temporalBin, "dev", "--port", "0", "--db", filepath.Join(dir, "temporal.db"))
	line := dev.waitFor("temporal dev server listening on ")
	addr := regexp.MustCompile(`listening on (\S+)`).FindStringSubmatch(line)[1]
	return dev, addr
}

// The default runbook upgrades a simulated pair through Temporal, with
// real processes: a dev server, a worker of the workflows and the
// primary's calls, a worker of the secondary's (task queue site-b). The
// first worker is killed (SIGKILL) while the primary's installer runs,
// and so is the process that started the run; the worker is started
// again, and the same run command attaches to the run and follows it to
// its end. The installer ran once on each server, the simulator's
// invariants held, and the history of the run replays.
func TestEndToEndUpgradeSurvivesKilledWorkerAndStarter(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	_, addr := devServer(t, ctx, dir)
	params := filepath.Join(dir, "pair.yaml")
	sim := start(t, ctx, dir, csmplanBin, "sim", "--install-time", "15s", "--params-out", params)
	sim.waitFor("Press Ctrl-C")

	workerA := start(t, ctx, dir, temporalBin, "worker", "--address", addr)
	workerA.waitFor("polling task queue csmplan at " + addr)
	workerB := start(t, ctx, dir, temporalBin, "worker", "--address", addr, "--task-queue", "site-b")
	workerB.waitFor("polling task queue site-b")

	// A dry run first: the installer is preflighted on the worker.
	dry := start(t, ctx, dir, temporalBin, "run", "--address", addr, "--params", params, "-p", "installer=/nonexistent/setup.bin",
		"--target-queue", "secondary=site-b", "--dry-run")
	if code := dry.exitCode(); code != exitFailed || !strings.Contains(dry.output(), "/nonexistent/setup.bin") {
		t.Fatalf("dry run with a missing installer: exit %d, want 1 and the installer named: %v", code, dry)
	}

	args := []string{"run", "--address", addr, "--params", params, "--target-queue", "secondary=site-b", "--yes", "--heartbeat-timeout", "3s"}
	run1 := start(t, ctx, dir, temporalBin, args...)
	id := regexp.MustCompile(`started workflow (\S+)`).FindStringSubmatch(run1.waitFor("started workflow "))[1]
	workerA.waitFor("step upgrade-primary: csm.install attempt 1 started")
	sim.waitFor("simulated pair: primary install-start")
	workerA.kill()
	run1.kill()

	workerA = start(t, ctx, dir, temporalBin, "worker", "--address", addr)
	workerA.waitFor("polling task queue csmplan")
	run2 := start(t, ctx, dir, temporalBin, args...)
	run2.waitFor("attached to workflow " + id)
	if code := run2.exitCode(); code != exitOK {
		t.Fatalf("the run attached again: exit %d, want 0: %v", code, run2)
	}
	out := run2.output()
	for _, want := range []string{"attempt 1 of csm.install failed: action's attempt lost: the worker making the call (on the workflow's task queue) went silent for 3s",
		"✓ Run the installer on the primary (succeeded", "Succeeded: 15 steps"} {
		if !strings.Contains(out, want) {
			t.Errorf("the run's output lacks %q: %v", want, run2)
		}
	}
	if n := strings.Count(workerB.output(), "step upgrade-secondary: csm.install attempt 1 started"); n != 1 {
		t.Errorf("the site-b worker ran the secondary's installer %d times, want 1: %v", n, workerB)
	}

	sim.signal(os.Interrupt)
	if line := sim.waitFor("simulator:"); line != "simulator: invariants held" {
		t.Errorf("simulator: %q: %v", line, sim)
	}
	if !strings.Contains(sim.output(), "simulated pair: installers run: primary 1, secondary 1\n") {
		t.Errorf("the installers ran other than once per server: %v", sim)
	}

	status := start(t, ctx, dir, temporalBin, "status", "--address", addr, id)
	if code := status.exitCode(); code != exitOK || !strings.Contains(status.output(), "completed") || !strings.Contains(status.output(), "outcome: succeeded") {
		t.Errorf("status: exit %d: %v", code, status)
	}
	report := start(t, ctx, dir, temporalBin, "report", "--address", addr, id)
	if code := report.exitCode(); code != exitOK || !strings.Contains(report.output(), "its attempt was lost; its postconditions hold") {
		t.Errorf("report: exit %d: %v", code, report)
	}

	// The run's history replays on the workflow's code: it is
	// deterministic, the lost attempt included.
	cl, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	it := cl.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	// No secret in the history, nor in the record.
	pf, err := os.ReadFile(params)
	if err != nil {
		t.Fatal(err)
	}
	password := regexp.MustCompile(`(?m)^password: (\S+)$`).FindStringSubmatch(string(pf))[1]
	raw, err := proto.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), password) || strings.Contains(report.output(), password) {
		t.Errorf("the password %q is in the run's history or record", password)
	}
	reg, err := csmworker.Registry()
	if err != nil {
		t.Fatal(err)
	}
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions((&interpreter.Interpreter{Local: reg}).Run, workflow.RegisterOptions{Name: interpreter.WorkflowName})
	if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
		t.Errorf("the run's history does not replay: %v", err)
	}
}

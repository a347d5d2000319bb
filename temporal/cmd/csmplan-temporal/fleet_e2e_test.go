package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fleetSetup starts a dev server, n simulated pairs with their fleet
// file, and two workers on the workflows' task queue; it returns the run
// command's arguments and the simulator.
func fleetSetup(tb testing.TB, ctx context.Context, n int) ([]string, *proc) {
	dir := tb.TempDir()
	_, addr := devServer(tb, ctx, dir)
	file := filepath.Join(dir, "fleet.yaml")
	sim := start(tb, ctx, dir, csmplanBin, "sim", "--pairs", strconv.Itoa(n), "--fleet-out", file, "--install-time", "0s", "--max-parallel", strconv.Itoa(min(n, 50)))
	sim.waitFor("Press Ctrl-C")
	for range 2 {
		start(tb, ctx, dir, temporalBin, "worker", "--address", addr).waitFor("polling task queue csmplan")
	}
	return []string{"run", "--address", addr, "--fleet", file, "--yes"}, sim
}

// fleetRun runs the fleet and stops the simulator.
func fleetRun(tb testing.TB, ctx context.Context, args []string, sim *proc) *proc {
	run := start(tb, ctx, tb.TempDir(), temporalBin, args...)
	run.exitCode()
	sim.signal(os.Interrupt)
	sim.waitFor("simulator:")
	return run
}

// A fleet runs as a parent workflow with a child per unit: every pair is
// upgraded, once, and the simulator's invariants held on them all.
func TestEndToEndFleet(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute) // a guard only
	defer cancel()
	args, sim := fleetSetup(t, ctx, 3)
	run := fleetRun(t, ctx, args, sim)
	if code := run.exitCode(); code != exitOK {
		t.Fatalf("run --fleet: exit %d: %v", code, run)
	}
	out := run.output()
	id := regexp.MustCompile(`started fleet workflow ([^\s:]+)`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no fleet workflow started: %v", run)
	}
	for _, want := range []string{"[pair-001] wave 1: running (workflow " + id[1] + "/pair-001)", "[pair-003] succeeded", "succeeded in", "3 units (3 succeeded)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the fleet's output lacks %q: %v", want, run)
		}
	}
	if !strings.Contains(sim.output(), "simulator: invariants held on 3 pairs") {
		t.Errorf("simulator: %v", sim)
	}
	// A unit's record is its own workflow's.
	rep := start(t, ctx, t.TempDir(), temporalBin, "report", "--address", args[2], id[1]+"/pair-002")
	if code := rep.exitCode(); code != exitOK || !strings.Contains(rep.output(), "# Change record: csm-upgrade (succeeded)") || !strings.Contains(rep.output(), "Run the installer on the secondary") {
		t.Errorf("the report of a unit: exit %d: %v", code, rep)
	}
}

// BenchmarkFleetOfPairs times the upgrade of a fleet of simulated pairs
// through Temporal (a dev server on SQLite, two workers on its task queue,
// max_parallel 50), with real processes; the setup (servers, pairs,
// workers) is not timed. Run it with -benchtime=1x: the pairs upgrade
// once.
func BenchmarkFleetOfPairs(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("pairs=%d", n), func(b *testing.B) {
			ctx, cancel := context.WithTimeout(b.Context(), 30*time.Minute) // a guard only
			defer cancel()
			args, sim := fleetSetup(b, ctx, n)
			var run *proc
			for b.Loop() {
				run = fleetRun(b, ctx, args, sim)
			}
			if code := run.exitCode(); code != exitOK || !strings.Contains(sim.output(), fmt.Sprintf("invariants held on %d pairs", n)) {
				b.Fatalf("exit %d: %v\n%v", code, run, sim)
			}
		})
	}
}

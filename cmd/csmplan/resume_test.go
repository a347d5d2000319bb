package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestResumeTwiceInstallsOnce is issue 10's repro through the binary: an
// upgrade of a standalone simulated pair is interrupted (Ctrl-C twice) while the
// primary's installer runs, resumed, interrupted again while the resume
// waits for the installer to take effect, and resumed again: the installer
// runs once on each server (it used to run a second time on the primary),
// and the upgrade completes safely.
func TestResumeTwiceInstallsOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.jsonl")
	// The primary stays down for longer than the client's retries of one
	// check of the postcondition (1s, 2s and 4s apart): a resume that does
	// not wait for it finds it unmet, and runs the installer again.
	sim := startSim(t, ctx, dir, "--install-time", "10s")
	args := []string{"run", "--params", sim.params, "--journal", journal}

	run := start(t, ctx, dir, append(args, "--json")...)
	run.waitFor(installWait...)
	run.forceStop() // the first Ctrl-C would let csm.install finish
	if code := run.exitCode(10 * time.Second); code != exitInterrupted {
		t.Fatalf("first run: exit code %d, want %d: %v", code, exitInterrupted, run)
	}

	// The probe of the postcondition waits while the primary is down: the
	// events (--json) say when its check starts.
	args = append(args, "--resume")
	run = start(t, ctx, dir, append(args, "--json")...)
	run.waitFor(`"type":"condition.start"`, `"step":"upgrade-primary"`, `"phase":"post"`)
	run.signal(os.Interrupt)
	if code := run.exitCode(10 * time.Second); code != exitInterrupted {
		t.Fatalf("first resume: exit code %d, want %d: %v", code, exitInterrupted, run)
	}

	r := cli(t, dir, args...)
	r.want(t, exitOK, "stdout", "[7/15]   the interrupted attempt, inspected: ", "[7/15] ✓ Run the installer on the primary (succeeded", "\nSucceeded: 15 steps")
	starts := map[string]int{}
	for _, rec := range journalRecords(t, journal) {
		if rec["type"] == "action.start" {
			starts[rec["step"].(string)]++
		}
	}
	for _, id := range []string{"upgrade-primary", "upgrade-secondary"} {
		if starts[id] != 1 {
			t.Errorf("the journal records %d starts of %s's installer, want 1", starts[id], id)
		}
	}
	if line := sim.stop(syscall.SIGTERM); line != heldSimulator {
		t.Errorf("sim said %q, want %q: %v", line, heldSimulator, sim.proc)
	}
	if out := sim.output(); !strings.Contains(out, "simulated pair: installers run: primary 1, secondary 1\n") {
		t.Errorf("the simulator counts other installs:\n%s", out)
	}
}

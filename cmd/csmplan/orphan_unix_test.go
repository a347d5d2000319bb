//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestResumeWaitsForAnOrphanInstaller is issue 10's repro of an orphan: an
// installer that takes a while before it touches the server is running
// when the runner is killed (SIGKILL: the installer, in a process group of
// its own, goes on). The resume finds it on the host and waits for it; it
// never starts a second one, and the upgrade completes safely.
func TestResumeWaitsForAnOrphanInstaller(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.jsonl")
	started := filepath.Join(dir, "started")
	if err := syscall.Mkfifo(started, 0o600); err != nil {
		t.Fatal(err)
	}
	sim := startSim(t, ctx, dir, "--install-time", "1s")
	// The site's installer: a wrapper that says it started (once: the
	// FIFO), waits 3s, then runs the simulator's installer.
	data, err := os.ReadFile(sim.params)
	if err != nil {
		t.Fatal(err)
	}
	var params map[string]any
	if err := yaml.Unmarshal(data, &params); err != nil {
		t.Fatal(err)
	}
	script := `[ -p '` + started + `' ] && echo started > '` + started + `' && rm -f '` + started + `'; sleep 3; exec "$0" "$@"`
	params["installer"] = append([]any{"/bin/sh", "-c", script}, params["installer"].([]any)...)
	if data, err = yaml.Marshal(params); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sim.params, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--params", sim.params, "--journal", journal}

	run := start(t, ctx, dir, args...)
	if _, err := os.ReadFile(started); err != nil { // blocks until the installer runs
		t.Fatal(err)
	}
	run.signal(os.Kill)
	if code := run.exitCode(2 * time.Minute); code != -1 {
		t.Fatalf("first run: exit code %d, want -1 (killed): %v", code, run)
	}

	r := cli(t, dir, append(args, "--resume")...)
	r.want(t, exitOK, "stdout", "an installer still runs on the host (pid ", "the interrupted attempt, inspected: in progress",
		"[7/15] ✓ Run the installer on the primary (succeeded", "\nSucceeded: 15 steps")
	starts := map[string]int{}
	for _, rec := range journalRecords(t, journal) {
		if rec["type"] == "action.start" {
			starts[rec["step"].(string)]++
		}
	}
	if starts["upgrade-primary"] != 1 || starts["upgrade-secondary"] != 1 {
		t.Errorf("the journal records %v starts of the installers, want one each", starts)
	}
	if line := sim.stop(syscall.SIGTERM); line != heldSimulator {
		t.Errorf("sim said %q, want %q: %v", line, heldSimulator, sim.proc)
	}
}

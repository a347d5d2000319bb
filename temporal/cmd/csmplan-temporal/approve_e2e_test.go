package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const gateBook = `apiVersion: csmplan/v1
kind: Runbook
name: gate
steps:
  - id: gate
    action: manual
    with: {prompt: "Is the maintenance window open?"}
  - id: touch
    action: exec
    with: {argv: [touch, done.txt]}
`

// A manual step waits for its signal: run, off a terminal and without
// --yes, says how to answer; approve answers; the run goes on and ends,
// and its worker ran the step after the gate. A refusal fails the run.
func TestEndToEndApproval(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	_, addr := devServer(t, ctx, dir)
	book := filepath.Join(dir, "gate.yaml")
	if err := os.WriteFile(book, []byte(gateBook), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, ctx, dir, temporalBin, "worker", "--address", addr).waitFor("polling task queue csmplan")

	run := start(t, ctx, dir, temporalBin, "run", "--address", addr, "--id", "gate-1", book)
	hint := run.waitFor("answer with `")
	if want := "csmplan-temporal approve --step gate --address " + addr + " gate-1"; !strings.Contains(hint, want) {
		t.Errorf("hint %q, want %q", hint, want)
	}
	st := start(t, ctx, dir, temporalBin, "status", "--address", addr, "gate-1")
	if code := st.exitCode(); code != exitOK || !strings.Contains(st.output(), "waiting for approval of step gate: Is the maintenance window open?") {
		t.Errorf("status: exit %d: %v", code, st)
	}
	ap := start(t, ctx, dir, temporalBin, "approve", "--address", addr, "gate-1")
	if code := ap.exitCode(); code != exitOK {
		t.Fatalf("approve: exit %d: %v", code, ap)
	}
	if code := run.exitCode(); code != exitOK || !strings.Contains(run.output(), "Succeeded: 2 steps") {
		t.Fatalf("run: exit %d: %v", code, run)
	}
	if _, err := os.Stat(filepath.Join(dir, "done.txt")); err != nil {
		t.Errorf("the step after the gate did not run: %v", err)
	}

	run = start(t, ctx, dir, temporalBin, "run", "--address", addr, "--id", "gate-2", book)
	run.waitFor("answer with `")
	if code := start(t, ctx, dir, temporalBin, "approve", "--address", addr, "--refuse", "gate-2").exitCode(); code != exitOK {
		t.Fatalf("approve --refuse: exit %d", code)
	}
	if code := run.exitCode(); code != exitFailed || !regexp.MustCompile(`Failed: 2 steps`).MatchString(run.output()) {
		t.Errorf("refused run: exit %d: %v", code, run)
	}
}

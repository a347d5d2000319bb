//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bigRunbooks writes two runbooks whose output is far larger than a pipe
// holds: bad.yaml, with 100 problems of long lines (validate prints 1 KB
// for each), and good.yaml, with long step docs (doc prints 1 MB).
func bigRunbooks(t *testing.T, dir string) {
	var bad, good strings.Builder
	bad.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: bad\nsteps:\n")
	good.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: good\nsteps:\n")
	for i := range 100 {
		fmt.Fprintf(&bad, "  - id: s%d\n    action: log\n    with: {message: hi}\n    tiemout_%s: 5m\n", i, strings.Repeat("x", 300))
		fmt.Fprintf(&good, "  - id: s%d\n    doc: %s\n    action: log\n    with: {message: hi}\n", i, strings.Repeat("y", 10000))
	}
	writeFile(t, dir, "bad.yaml", bad.String())
	writeFile(t, dir, "good.yaml", good.String())
}

// TestSignalStopsPrinting sends one SIGTERM to a command that prints more
// than its reader takes (the reader stops after the first line): the
// command must end at once with exit 130, not finish printing first, nor
// stay blocked on its output.
func TestSignalStopsPrinting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bigRunbooks(t, dir)
	// validate prints each file's problems as it checks it: 12 files, 1.2 MB.
	validate := []string{"validate"}
	for range 12 {
		validate = append(validate, "bad.yaml")
	}
	for _, args := range [][]string{validate, {"doc", "good.yaml"}} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			// A failure guard only: the test waits for the process to end.
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, args...)
			cmd.Dir, cmd.Env, cmd.WaitDelay = dir, testEnv(), 5*time.Second
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = pw, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
				t.Fatalf("first line: %v; stderr: %s", err, stderr.String())
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("csmplan %s did not end after SIGTERM", args[0])
			}
			if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
				t.Errorf("exit code %d (%v), want %d; stderr: %s", code, err, exitInterrupted, stderr.String())
			}
		})
	}
}

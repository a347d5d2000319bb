//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// longWaitRunbook waits, polling often, until a file named go exists in
// its directory: the test decides when the wait ends.
const longWaitRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: long-wait
steps:
  - id: wait
    title: Wait for the go file
    pre:
      - title: the go file exists
        probe: exec
        with: {argv: [test, -f, go]}
        expect: {path: exit_code, equals: 0}
        wait: {timeout: 10m, interval: 5ms}
  - id: after
    action: log
    with: {message: the wait is over}
`

// TestClosedOutput pipes the output of a run into a reader that closes
// after the first line, as `csmplan run --json | head -1` does, while the
// run waits: the run must go on to its end, keep its journal, and say on
// stderr that its output was lost.
func TestClosedOutput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"json", []string{"--json"}},
		{"progress", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "wait.yaml", longWaitRunbook)
			journal := filepath.Join(dir, "j.jsonl")

			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			// A failure guard only: the test waits for the process to end.
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, append([]string{"run", "wait.yaml", "--journal", journal}, tt.args...)...)
			cmd.Dir, cmd.Env, cmd.WaitDelay = dir, testEnv(), 5*time.Second
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = pw, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			first, err := bufio.NewReader(pr).ReadString('\n')
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("first line: %v; stderr: %s", err, stderr.String())
			}
			pr.Close() // the reader has gone; every write from now on fails
			writeFile(t, dir, "go", "")
			err = cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("the run did not end: stderr: %s", stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != exitOK {
				t.Fatalf("exit code %d (%v), want 0; first line %q; stderr:\n%s", code, err, first, stderr.String())
			}
			for _, s := range []string{"csmplan run: output closed at ", "broken pipe", "the run went on to its end, succeeded; see the journal " + journal} {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr does not contain %q:\n%s", s, stderr.String())
				}
			}
			recs := journalRecords(t, journal)
			if end := runEnd(recs); end["type"] != "run.end" || end["outcome"] != "succeeded" {
				t.Errorf("last journal record %v, want run.end succeeded", end)
			}
			if ends := stepEnds(recs); ends["after"] != "succeeded" {
				t.Errorf("journal: step after ended %q, want succeeded", ends["after"])
			}
		})
	}
}

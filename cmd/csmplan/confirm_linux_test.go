package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// ptyRun runs the binary in dir on a terminal. When answer is not "", it
// waits for the confirmation question and types answer and Enter. It
// returns what the terminal showed (line ends as \n) and the exit code.
func ptyRun(t *testing.T, dir, answer string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only
	defer cancel()
	master, tty := openPTY(t, 80)
	defer master.Close()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = dir, testEnv(), 5*time.Second
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		tty.Close()
		t.Fatal(err)
	}
	tty.Close() // the process holds it now: its end is the master's EOF (EIO)

	var mu sync.Mutex
	var out bytes.Buffer
	more := make(chan struct{}, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			select {
			case more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	shown := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.ReplaceAll(out.String(), "\r\n", "\n")
	}
	if answer != "" {
		for !strings.Contains(shown(), confirmPrompt) {
			select {
			case <-more:
			case <-readDone:
				t.Fatalf("csmplan %s: the terminal closed before the question:\n%s", strings.Join(args, " "), shown())
			case <-ctx.Done():
				t.Fatalf("csmplan %s: no question in time:\n%s", strings.Join(args, " "), shown())
			}
		}
		if _, err := master.Write([]byte(answer + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("csmplan %s: %v", strings.Join(args, " "), err)
	}
	<-readDone
	return shown(), cmd.ProcessState.ExitCode()
}

// On a terminal, run shows the changes to come and asks once, before the
// first one; only yes goes on.
func TestConfirmOnATerminal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, code := ptyRun(t, dir, "y", "run", "--simulate")
	if code != exitFailed {
		t.Fatalf("exit code %d, want %d:\n%s", code, exitFailed, out)
	}
	for _, want := range []string{
		"[2/15] ✓ Check the pair is the pair, the standby is synchronized and at the primary's level (succeeded)",
		"The run is about to change things. The steps that change something, from here on:\n",
		"  3. Download a configuration backup of the primary: csm.backup on primary\n",
		"  5. Take over on the secondary: csm.takeover on secondary\n",
		"  15. Re-establish the HA relationship and compare with step 1: csm.set_standby on secondary\n",
		confirmPrompt,
		"Not confirmed (\"y\" is not yes): the run stops here; this run changed nothing.\n",
		"[3/15] ! Download a configuration backup of the primary (not run)\n",
		"changes not confirmed: the operator did not confirm the 11 change(s) to come; this run changed nothing",
		"\n" + heldSimulator,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "csm.backup on primary (") || strings.Count(out, confirmPrompt) != 1 {
		t.Errorf("a change was made, or the question asked more than once:\n%s", out)
	}

	out, code = ptyRun(t, dir, "yes", "run", "--simulate")
	if code != exitOK || strings.Count(out, confirmPrompt) != 1 || !strings.Contains(out, "\nSucceeded: 15 steps") {
		t.Errorf("answered yes: exit code %d, want 0, asked once:\n%s", code, out)
	}

	// --yes: no question.
	out, code = ptyRun(t, dir, "", "run", "--simulate", "--yes")
	if code != exitOK || strings.Contains(out, confirmPrompt) {
		t.Errorf("--yes: exit code %d, want 0, no question:\n%s", code, out)
	}
}

// Off a terminal (CI, a pipe), run does not ask.
func TestNoConfirmOffATerminal(t *testing.T) {
	t.Parallel()
	r := cli(t, t.TempDir(), "run", "--simulate")
	r.want(t, exitOK, "stdout", "\nSucceeded: 15 steps")
	if strings.Contains(r.stdout+r.stderr, confirmPrompt) {
		t.Errorf("run asked off a terminal; %v", r)
	}
}

// On a terminal, a fleet says what it will run and asks once before its
// first unit starts; only yes goes on.
func TestConfirmFleetOnATerminal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, code := ptyRun(t, dir, "no", "run", "--simulate", "--pairs", "2")
	if code != exitFailed || !strings.Contains(out, "Not confirmed: the fleet stops here; it changed nothing.") ||
		strings.Contains(out, "[pair-001] started") || strings.Count(out, confirmPrompt) != 1 {
		t.Errorf("answered no: exit code %d, want %d, nothing started, asked once:\n%s", code, exitFailed, out)
	}
	out, code = ptyRun(t, dir, "yes", "run", "--simulate", "--pairs", "2")
	if code != exitOK || strings.Count(out, confirmPrompt) != 1 || !strings.Contains(out, "simulator: invariants held on 2 pairs") {
		t.Errorf("answered yes: exit code %d, want 0, asked once:\n%s", code, out)
	}
}

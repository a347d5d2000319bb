package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan/internal/ptytest"
)

// screen collects what a program writes on a terminal; wait returns once
// it holds a text.
type screen struct {
	mu   sync.Mutex
	text strings.Builder
	more chan struct{}
}

func (s *screen) read(master *os.File) {
	buf := make([]byte, 4096)
	for {
		n, err := master.Read(buf)
		s.mu.Lock()
		s.text.Write(buf[:n])
		s.mu.Unlock()
		select {
		case s.more <- struct{}{}:
		default:
		}
		if err != nil {
			close(s.more)
			return
		}
	}
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

func (s *screen) wait(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	for !strings.Contains(s.String(), text) {
		select {
		case _, ok := <-s.more:
			if !ok && !strings.Contains(s.String(), text) {
				t.Fatalf("the terminal never showed %q:\n%s", text, s)
			}
		case <-ctx.Done():
			t.Fatalf("the terminal did not show %q in time:\n%s", text, s)
		}
	}
}

// On a terminal, run asks before it starts the workflow, listing what
// changes, and asks at a manual step; 'yes' to both runs it to its end.
func TestRunAsksOnATerminal(t *testing.T) {
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
	master, tty := ptytest.Open(t, 100)
	cmd := exec.CommandContext(ctx, temporalBin, "run", "--address", addr, "--id", "gate-tty", book)
	cmd.Dir, cmd.Env, cmd.WaitDelay = dir, append(os.Environ(), "NO_COLOR=1"), 5*time.Second
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scr := &screen{more: make(chan struct{}, 1)}
	go scr.read(master)
	scr.wait(t, ctx, "Start the workflow? Only 'yes' is accepted: ")
	if !strings.Contains(scr.String(), "2. touch (exec)") {
		t.Errorf("the changing steps are not listed:\n%s", scr)
	}
	if _, err := master.WriteString("yes\n"); err != nil {
		t.Fatal(err)
	}
	scr.wait(t, ctx, "Approve step gate? Only 'yes' approves: ")
	if _, err := master.WriteString("yes\n"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v:\n%s", err, scr)
	}
	if !strings.Contains(scr.String(), "Succeeded: 2 steps") {
		t.Errorf("no summary:\n%s", scr)
	}
}

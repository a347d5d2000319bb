//go:build unix

package actions_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
)

// TestExecCancelKillsProcessGroup runs a shell that starts a child process
// (cat) which blocks opening a FIFO no one writes to, tells the test the
// child's pid through another FIFO and waits for it. Cancelling the context
// must return promptly with context.Canceled and kill the child too, not
// only the shell.
func TestExecCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	for _, kind := range []actions.Kind{actions.KindAction, actions.KindProbe} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			started, blocked := filepath.Join(dir, "started"), filepath.Join(dir, "blocked")
			for _, p := range []string{started, blocked} {
				if err := syscall.Mkfifo(p, 0o600); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
			}
			args := map[string]any{"argv": sh(`cat "$2" & echo "$!" > "$1"; wait`, started, blocked)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				r := builtins(t)
				var err error
				if kind == actions.KindAction {
					a, _ := r.NewAction("exec")
					_, err = a.Run(ctx, newCall("exec", args))
				} else {
					p, _ := r.NewProbe("exec")
					_, err = p.Observe(ctx, newCall("exec", args))
				}
				errc <- err
			}()

			// Opening the FIFO for reading blocks until the shell opens it
			// for writing; it then writes the pid of its child.
			f, err := os.Open(started)
			if err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(f).ReadString('\n')
			f.Close()
			pid, convErr := strconv.Atoi(strings.TrimSpace(line))
			if err != nil || convErr != nil || pid <= 0 {
				t.Fatalf("read %q, %v from the shell; want the pid of its child", line, err)
			}
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // in case the test fails
			cancel()

			guard := time.NewTimer(10 * time.Second)
			defer guard.Stop()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("error %v, want it to wrap context.Canceled", err)
				}
			case <-guard.C:
				t.Fatal("exec did not return within 10s of the cancellation")
			}

			// The kill is asynchronous and the orphan is reaped by init:
			// allow it a moment (real time, without sleeping).
			deadline := time.Now().Add(5 * time.Second)
			for !dead(pid) {
				if time.Now().After(deadline) {
					t.Fatalf("the shell's child %d is still alive after the cancellation: the process group was not killed", pid)
				}
				runtime.Gosched()
			}
		})
	}
}

// dead reports whether the process pid has exited: it no longer exists, or
// it is a zombie waiting to be reaped.
func dead(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: "123 (cat) Z ...".
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && strings.HasPrefix(string(stat[i+1:]), " Z")
}

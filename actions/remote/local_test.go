package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// failAfter is how long a test waits for something that must happen promptly
// before declaring it a failure instead of hanging until the test binary's
// timeout. It never delays a passing test.
const failAfter = 30 * time.Second

func TestLocalExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		argv []string
		want int
	}{
		{"success", []string{"true"}, 0},
		{"failure", []string{"false"}, 1},
		{"exit 7", []string{"sh", "-c", "exit 7"}, 7},
		{"killed by SIGTERM", []string{"sh", "-c", "kill -TERM $$"}, 128 + 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, err := Local{}.Run(context.Background(), Command{Argv: tc.argv})
			if err != nil {
				t.Fatalf("Run(%q): %v", tc.argv, err)
			}
			if code != tc.want {
				t.Errorf("Run(%q) = %d, want %d", tc.argv, code, tc.want)
			}
		})
	}
}

func TestLocalStreams(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code, err := Local{}.Run(context.Background(), Command{
		Argv:   []string{"sh", "-c", "cat; echo oops >&2"},
		Stdin:  strings.NewReader("line 1\nline 2\n"),
		Stdout: &stdout,
		Stderr: &stderr,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; want 0, nil", code, err)
	}
	if got, want := stdout.String(), "line 1\nline 2\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := stderr.String(), "oops\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestLocalNoShell(t *testing.T) {
	t.Parallel()
	// Each argument reaches the program verbatim: no shell expands it.
	args := []string{"$HOME", "`id`", "a b", "*", "'", `"`, ""}
	var stdout bytes.Buffer
	code, err := Local{}.Run(context.Background(), Command{
		Argv:   append([]string{"printf", `%s\n`}, args...),
		Stdout: &stdout,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; want 0, nil", code, err)
	}
	if got, want := stdout.String(), strings.Join(args, "\n")+"\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestLocalEnv(t *testing.T) {
	t.Parallel()
	value := "it's \"quoted\" $HOME\nnext line"
	var stdout bytes.Buffer
	code, err := Local{}.Run(context.Background(), Command{
		Argv:   []string{"sh", "-c", `printf '%s|%s|%s' "$CSMPLAN_TEST_VAR" "$PATH" "$HOME"`},
		Env:    map[string]string{"CSMPLAN_TEST_VAR": value, "HOME": "/overridden"},
		Stdout: &stdout,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; want 0, nil", code, err)
	}
	parts := strings.Split(stdout.String(), "|")
	if len(parts) != 3 {
		t.Fatalf("stdout = %q, want three |-separated fields", stdout.String())
	}
	if parts[0] != value {
		t.Errorf("CSMPLAN_TEST_VAR = %q, want %q", parts[0], value)
	}
	if parts[1] != os.Getenv("PATH") {
		t.Errorf("PATH = %q, want the inherited %q", parts[1], os.Getenv("PATH"))
	}
	if parts[2] != "/overridden" {
		t.Errorf("HOME = %q, want the Env value /overridden", parts[2])
	}
}

func TestLocalDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a dir with 'quotes'")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	code, err := Local{}.Run(context.Background(), Command{Argv: []string{"pwd", "-P"}, Dir: dir, Stdout: &stdout})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; want 0, nil", code, err)
	}
	if got := strings.TrimSuffix(stdout.String(), "\n"); got != want {
		t.Errorf("pwd = %q, want %q", got, want)
	}
}

func TestLocalBadCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cmd     Command
		wantErr string
		wantIs  error
	}{
		{"not found", Command{Argv: []string{"csmplan-no-such-program"}}, "csmplan-no-such-program", exec.ErrNotFound},
		{"empty argv", Command{}, "empty argv", nil},
		{"empty program", Command{Argv: []string{""}}, "argv[0]", nil},
		{"NUL in argument", Command{Argv: []string{"echo", "a\x00b"}}, "argv[1] contains a NUL", nil},
		{"bad env name", Command{Argv: []string{"true"}, Env: map[string]string{"A=B": "x"}}, `env name "A=B"`, nil},
		{"env name with digit first", Command{Argv: []string{"true"}, Env: map[string]string{"1X": "x"}}, `env name "1X"`, nil},
		{"missing dir", Command{Argv: []string{"true"}, Dir: "/csmplan/no/such/dir"}, "/csmplan/no/such/dir", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, err := Local{}.Run(context.Background(), tc.cmd)
			if err == nil {
				t.Fatalf("Run = %d, nil; want an error", code)
			}
			if code != -1 {
				t.Errorf("code = %d, want -1", code)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
		})
	}
}

func TestLocalCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	marker := filepath.Join(t.TempDir(), "ran")
	_, err := Local{}.Run(ctx, Command{Argv: []string{"touch", marker}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, statErr := os.Stat(marker); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("the command ran although ctx was already cancelled (stat: %v)", statErr)
	}
}

// TestLocalCancelKillsProcessGroup runs a shell whose child (a grandchild of
// Run) blocks reading a pipe that is never written or closed. Cancelling must
// kill both: the grandchild holds stdout open and WaitDelay is an hour, so
// Run returns (stdout reaches EOF) only once the grandchild has died too.
func TestLocalCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	stdoutR, stdoutW := io.Pipe()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// The inner sh prints its pid and becomes cat; the outer sh
		// waits for it (the trailing "true" keeps it from exec'ing).
		code, err := Local{WaitDelay: time.Hour}.Run(ctx, Command{
			Argv:   []string{"sh", "-c", `sh -c 'echo $$; exec cat'; true`},
			Stdin:  stdinR,
			Stdout: stdoutW,
		})
		stdoutW.Close()
		done <- result{code, err}
	}()

	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the grandchild's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("grandchild pid %q: %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()

	cancel()
	select {
	case r := <-done:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Run error = %v, want one wrapping context.Canceled", r.err)
		}
		if r.code != -1 {
			t.Errorf("Run code = %d, want -1", r.code)
		}
	case <-time.After(failAfter):
		t.Fatalf("Run did not return %s after cancel: the grandchild (pid %d) survived", failAfter, pid)
	}
}

func TestLocalStdinNotDrained(t *testing.T) {
	t.Parallel()
	// A command that ignores its input must not keep Run waiting for an
	// input stream that never ends.
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	done := make(chan error, 1)
	go func() {
		code, err := Local{WaitDelay: time.Hour}.Run(context.Background(), Command{Argv: []string{"true"}, Stdin: stdinR})
		if err == nil && code != 0 {
			err = errors.New("exit code " + strconv.Itoa(code))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(failAfter):
		t.Fatal("Run waited for stdin after the command had exited")
	}
}

func TestLocalOutputHeldOpen(t *testing.T) {
	t.Parallel()
	// The command exits at once but leaves cat behind holding stdout: Run
	// gives up after WaitDelay and says so. cat reads the saved stdin (an
	// asynchronous command's own stdin is /dev/null), which Run closes on
	// return, so it ends by itself; it is also killed to be sure.
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	var stdout syncBuffer
	code, err := Local{WaitDelay: time.Millisecond}.Run(context.Background(), Command{
		Argv:   []string{"sh", "-c", `exec 3<&0; cat <&3 & echo $!`},
		Stdin:  stdinR,
		Stdout: &stdout,
	})
	if pid, convErr := strconv.Atoi(strings.TrimSpace(stdout.String())); convErr == nil {
		if p, findErr := os.FindProcess(pid); findErr == nil {
			_ = p.Kill()
		}
	}
	if !errors.Is(err, exec.ErrWaitDelay) {
		t.Fatalf("Run = %d, %v; want an error wrapping exec.ErrWaitDelay", code, err)
	}
	if code != 0 {
		t.Errorf("code = %d, want the command's 0", code)
	}
}

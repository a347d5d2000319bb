//go:build unix

package remote

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The fake installer: it starts a child (a real process tree, one process
// group), waits until the child has set its trap, prints "started", and
// runs until its child ends. Each records every SIGTERM it gets in
// DIR/leader.log and DIR/child.log. In mode "graceful" both exit on
// SIGTERM (the installer once its child has); in mode "ignore" they go on.
const (
	fakeInstaller = `d=$1; mode=$2
if [ "$mode" = ignore ]; then
  trap 'echo TERM >> "$d/leader.log"' TERM
else
  trap 'echo TERM >> "$d/leader.log"; wait $child; exit 143' TERM
fi
sh "$d/child.sh" "$d" "$mode" &
child=$!
while [ ! -e "$d/child.ready" ]; do sleep 0.01; done
echo started
while :; do wait $child; done
`
	fakeChild = `d=$1; mode=$2
if [ "$mode" = ignore ]; then
  trap 'echo TERM >> "$d/child.log"' TERM
else
  trap 'echo TERM >> "$d/child.log"; exit 143' TERM
fi
: > "$d/child.ready"
while :; do sleep 0.05; done
`
)

// installerArgv writes the fake installer into a new directory and
// returns that directory and the argv that runs it in mode.
func installerArgv(t *testing.T, mode string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "installer.sh"), []byte(fakeInstaller), 0o755)
	writeFile(t, filepath.Join(dir, "child.sh"), []byte(fakeChild), 0o755)
	return dir, []string{"sh", filepath.Join(dir, "installer.sh"), dir, mode}
}

// readLog returns the content of a log the fake installer writes.
func readLog(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// cancelInstaller runs the fake installer in mode with ex, cancels its
// context once it has started, and returns Run's results and how long Run
// took to return after the cancellation, and its error. stdout, when not nil, is the
// write end of a pipe given to the command as its standard output;
// otherwise a pipe of Run's is.
func cancelInstaller(t *testing.T, ex Executor, argv []string, stdout *os.File, lines io.Reader) (int, time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	var out io.Writer = stdout
	var pw *io.PipeWriter
	if stdout == nil {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		lines, out = pr, pw
	}
	go func() {
		code, err := ex.Run(ctx, Command{Argv: argv, Stdout: out})
		if pw != nil {
			pw.Close()
		}
		done <- result{code, err}
	}()
	br := bufio.NewReader(lines)
	if line, err := br.ReadString('\n'); line != "started\n" {
		t.Fatalf("first line %q, %v; want started", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, br) }()
	cancel()
	t0 := time.Now()
	select {
	case r := <-done:
		took := time.Since(t0)
		if stdout != nil {
			stdout.Close() // only the processes left, if any, hold it now
		}
		return r.code, took, r.err
	case <-time.After(failAfter):
		t.Fatal("Run did not return after cancel")
		return 0, 0, nil
	}
}

// TestLocalCancelTerminates: cancelling Run sends SIGTERM to the
// installer and to its child, which exit by themselves; no SIGKILL is
// needed (the grace is far longer than the test).
func TestLocalCancelTerminates(t *testing.T) {
	t.Parallel()
	dir, argv := installerArgv(t, "graceful")
	code, _, err := cancelInstaller(t, Local{KillGrace: time.Hour}, argv, nil, nil)
	if code != -1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %d, %v; want -1 and context.Canceled", code, err)
	}
	if got := readLog(t, dir, "leader.log"); got != "TERM\n" {
		t.Errorf("the installer got %q, want one TERM", got)
	}
	if got := readLog(t, dir, "child.log"); got != "TERM\n" {
		t.Errorf("its child got %q, want one TERM", got)
	}
}

// TestLocalCancelKillsAfterGrace: an installer (and child) that ignore
// SIGTERM are killed with SIGKILL once the grace has passed: Run returns
// no sooner, and then every process of the tree is gone (the pipe they
// held as stdout reaches EOF). The grace comes from the context.
func TestLocalCancelKillsAfterGrace(t *testing.T) {
	t.Parallel()
	_, argv := installerArgv(t, "ignore")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	const grace = 200 * time.Millisecond
	ex := graceExecutor{Local{}, grace}
	code, took, err := cancelInstaller(t, ex, argv, pw, pr)
	if code != -1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %d, %v; want -1 and context.Canceled", code, err)
	}
	if took < grace {
		t.Errorf("Run returned %s after cancel, before the grace of %s", took, grace)
	}
	eof := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, pr)
		eof <- err
	}()
	select {
	case err := <-eof:
		if err != nil {
			t.Errorf("reading the installer's output: %v", err)
		}
	case <-time.After(failAfter):
		t.Fatal("a process of the installer's tree survived SIGKILL")
	}
}

// graceExecutor runs e with a context that carries grace (WithKillGrace).
type graceExecutor struct {
	e     Executor
	grace time.Duration
}

func (g graceExecutor) Run(ctx context.Context, cmd Command) (int, error) {
	return g.e.Run(WithKillGrace(ctx, g.grace), cmd)
}

func TestKillGrace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		ctx  context.Context
		own  time.Duration
		want time.Duration
	}{
		{ctx, 0, DefaultKillGrace},
		{ctx, time.Second, time.Second},
		{WithKillGrace(ctx, 3*time.Second), 0, 3 * time.Second},
		{WithKillGrace(ctx, 3*time.Second), -1, -1},
		{WithKillGrace(ctx, 0), 0, DefaultKillGrace},
	} {
		if got := killGrace(tt.ctx, tt.own); got != tt.want {
			t.Errorf("killGrace(own %s) = %s, want %s", tt.own, got, tt.want)
		}
	}
}

// TestSSHCancelTerminates: over SSH, cancelling sends SIGTERM (the test
// server delivers it to the command's process group): the installer and
// its child record it and exit; an installer that ignores it is killed
// with SIGKILL after the grace.
func TestSSHCancelTerminates(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	t.Run("graceful", func(t *testing.T) {
		cfg := f.config()
		cfg.KillGrace = time.Hour
		s := newTestSSH(t, cfg)
		dir, argv := installerArgv(t, "graceful")
		code, _, err := cancelInstaller(t, s, argv, nil, nil)
		if code != -1 || !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %d, %v; want -1 and context.Canceled", code, err)
		}
		<-f.srv.execs // the command has ended (the server's sh -c died of the TERM)
		if got := readLog(t, dir, "leader.log") + readLog(t, dir, "child.log"); got != "TERM\nTERM\n" {
			t.Errorf("the installer and its child got %q, want one TERM each", got)
		}
	})
	t.Run("ignores TERM", func(t *testing.T) {
		cfg := f.config()
		cfg.KillGrace = 200 * time.Millisecond
		s := newTestSSH(t, cfg)
		_, argv := installerArgv(t, "ignore")
		code, took, err := cancelInstaller(t, s, argv, nil, nil)
		if code != -1 || !errors.Is(err, context.Canceled) || took < cfg.KillGrace {
			t.Errorf("Run = %d, %v after %s; want -1 and context.Canceled after the grace %s", code, err, took, cfg.KillGrace)
		}
		if rec := <-f.srv.execs; !rec.signaled {
			t.Errorf("the installer ended with %+v, want killed by a signal", rec)
		}
	})
}

// TestRealSSHDCancelTerminates: through OpenSSH, a cancelled installer and
// its child get SIGTERM. OpenSSH delivers signals only to sessions with
// privilege separation, not to root logins: as root the test is skipped.
func TestRealSSHDCancelTerminates(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("OpenSSH's sshd ignores signal requests for root logins: run the tests as another user to check SIGTERM through sshd")
	}
	d := startRealSSHD(t)
	cfg := d.config(t)
	cfg.KillGrace = time.Hour
	s := newTestSSH(t, cfg)
	dir, argv := installerArgv(t, "graceful")
	code, _, err := cancelInstaller(t, s, argv, nil, nil)
	if code != -1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %d, %v; want -1 and context.Canceled", code, err)
	}
	if got := readLog(t, dir, "leader.log") + readLog(t, dir, "child.log"); !strings.Contains(got, "TERM") {
		t.Errorf("the installer and its child got %q, want TERM", got)
	}
}

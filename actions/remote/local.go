package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// DefaultWaitDelay is the [Local.WaitDelay] used when the field is zero.
const DefaultWaitDelay = 5 * time.Second

// Local runs commands on this machine with os/exec. Argv[0] is looked up in
// PATH and run directly, never through a shell; Env is added to the current
// process's environment (a name given in Env wins over the inherited value);
// an empty Dir means the current directory.
//
// Each command runs in its own process group. When ctx is done the whole
// group gets SIGTERM, so that children the command started (a shell's
// pipeline, an installer's helpers) hear it too, and SIGKILL once
// [Local.KillGrace] has passed, or at once when the command has exited
// and left some of them behind; Run returns an error wrapping ctx.Err().
// On systems without process groups and SIGTERM (Windows) the command
// itself is killed at once.
//
// The zero value is ready to use.
type Local struct {
	// WaitDelay bounds how long Run waits, once the command has exited,
	// for its stdout and stderr to be closed: a background process the
	// command left behind may hold them open. When the delay expires the
	// pipes are closed, the output is cut short, and Run returns the exit
	// code with an error wrapping exec.ErrWaitDelay. Zero means
	// DefaultWaitDelay; a negative value is treated as zero.
	WaitDelay time.Duration
	// KillGrace is how long a cancelled command's process group has,
	// after SIGTERM, to exit before SIGKILL. Zero means the grace that
	// ctx carries (see [WithKillGrace]), else DefaultKillGrace; a
	// negative value means SIGKILL at once.
	KillGrace time.Duration
}

var _ Executor = Local{}

// Run runs cmd and returns its exit code. A command killed by a signal it did
// not get from Run reports 128 plus the signal number, as a shell would. When
// ctx is done first, the code is -1 and the error wraps ctx.Err(). A program
// that cannot be found gives an error wrapping exec.ErrNotFound.
func (l Local) Run(ctx context.Context, cmd Command) (int, error) {
	if err := cmd.validate(); err != nil {
		return -1, fmt.Errorf("remote: local: %w", err)
	}
	prog := cmd.Argv[0]
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("remote: local: %s not started: %w", prog, err)
	}

	// Not exec.CommandContext: cancellation is Run's own (terminate).
	c := exec.Command(prog, cmd.Argv[1:]...)
	if len(cmd.Env) > 0 {
		// Later duplicates win in os/exec, so Env overrides inherited values.
		c.Env = append(os.Environ(), envList(cmd.Env)...)
	}
	c.Dir = cmd.Dir
	c.Stdout = cmd.Stdout
	c.Stderr = cmd.Stderr
	newGroup(c)
	c.WaitDelay = l.WaitDelay
	if c.WaitDelay <= 0 {
		c.WaitDelay = DefaultWaitDelay
	}

	// os/exec makes Wait wait for its stdin copier, which blocks for as
	// long as a Reader that is not an *os.File has no data: a command that
	// exits without reading all of its input would hang Run. Run copies
	// stdin itself and stops caring once the command is gone.
	var stdinW *os.File
	switch in := cmd.Stdin.(type) {
	case nil:
	case *os.File:
		c.Stdin = in
	default:
		r, w, err := os.Pipe()
		if err != nil {
			return -1, fmt.Errorf("remote: local: %s: stdin pipe: %w", prog, err)
		}
		c.Stdin, stdinW = r, w
	}

	err := c.Start()
	if stdinW != nil {
		// The child has its own copy of the read end (or never started).
		_ = c.Stdin.(*os.File).Close()
		if err == nil {
			closeW := sync.OnceFunc(func() { _ = stdinW.Close() })
			go func() {
				// A write error means the command stopped reading;
				// that is its business, not an error of Run.
				_, _ = io.Copy(stdinW, cmd.Stdin)
				closeW()
			}()
			defer closeW()
		} else {
			_ = stdinW.Close()
		}
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return -1, fmt.Errorf("remote: local: %s not started: %w", prog, ctxErr)
		}
		if cmd.Dir != "" {
			// exec reports a bad working directory as a failure of
			// the program itself ("fork/exec /bin/x: no such file").
			if fi, statErr := os.Stat(cmd.Dir); statErr != nil {
				return -1, fmt.Errorf("remote: local: start %s: working directory: %w", prog, statErr)
			} else if !fi.IsDir() {
				return -1, fmt.Errorf("remote: local: start %s: working directory %s is not a directory: %w", prog, cmd.Dir, err)
			}
		}
		return -1, fmt.Errorf("remote: local: start %s: %w", prog, err)
	}

	exited := make(chan struct{})
	signalled := make(chan bool, 1)
	go func() { signalled <- terminate(ctx, c, killGrace(ctx, l.KillGrace), exited) }()
	err = c.Wait()
	close(exited)
	if <-signalled {
		return -1, fmt.Errorf("remote: local: %s: %w", prog, ctx.Err())
	}
	return localResult(ctx, prog, c.WaitDelay, c.ProcessState, err)
}

// terminate waits until ctx is done or the command has exited (exited is
// closed once Wait has returned). When ctx is done first, it sends
// SIGTERM to the command's group, then SIGKILL when grace has passed or
// when the command has exited, whichever comes first, and returns true.
func terminate(ctx context.Context, c *exec.Cmd, grace time.Duration, exited <-chan struct{}) bool {
	select {
	case <-exited:
		return false
	case <-ctx.Done():
	}
	if grace > 0 {
		_ = signalGroup(c, false)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-exited:
			// What the command left behind is killed.
		}
	}
	_ = signalGroup(c, true)
	return true
}

// localResult turns the outcome of exec.Cmd.Wait into Run's results.
func localResult(ctx context.Context, prog string, delay time.Duration, ps *os.ProcessState, err error) (int, error) {
	code := -1
	signaled := false
	if ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			signaled = true
			code = 128 + int(ws.Signal())
		} else {
			code = ps.ExitCode()
		}
	}
	isExit := errors.As(err, new(*exec.ExitError))
	ctxErr := ctx.Err()
	switch {
	case ctxErr != nil && (ps == nil || signaled || err != nil && !isExit):
		// Killed (or interrupted) because ctx was done.
		return -1, fmt.Errorf("remote: local: %s: %w", prog, ctxErr)
	case err == nil:
		return 0, nil
	case isExit:
		return code, nil
	case errors.Is(err, exec.ErrWaitDelay):
		return code, fmt.Errorf("remote: local: %s exited but its output was still held open %s later (by a background process?): %w", prog, delay, err)
	default:
		return code, fmt.Errorf("remote: local: %s: %w", prog, err)
	}
}

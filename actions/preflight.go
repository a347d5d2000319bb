package actions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/csmplan/csmplan/actions/remote"
)

// Preflighter is an optional ability of an [Action] that changes the world:
// checking, without changing anything, what its Run will need, such as an
// installer that exists and is executable on the target's host, or a
// directory that can be written. A dry run calls it instead of Run, after
// the step's preconditions, and reports the step blocked, with the error as
// the reason, when it fails; a real run never calls it.
//
// Preflight must not change the world. It is called with the arguments Run
// would get; arguments that refer to outputs of earlier steps, which a dry
// run does not have, keep the step from being preflighted at all.
type Preflighter interface {
	Preflight(ctx context.Context, call *Call) error
}

// ErrPreflight is wrapped by the errors of preflight checks that found
// something missing (a program that cannot be run, a directory that cannot
// be written), as opposed to a check that could not be made. Make such an
// error with [NotReady].
var ErrPreflight = errors.New("not ready to run")

type notReady struct{ err error }

func (e *notReady) Error() string   { return e.err.Error() }
func (e *notReady) Unwrap() []error { return []error{e.err, ErrPreflight} }

// NotReady marks err, what a preflight check found missing, as
// ErrPreflight, without changing its text. It returns nil for a nil err.
func NotReady(err error) error {
	if err == nil {
		return nil
	}
	return &notReady{err: err}
}

// checkProgramScript is the POSIX shell script that CheckProgram runs on a
// host: $1 is the program, a path (with a slash) or a name looked up in
// PATH.
const checkProgramScript = `case $1 in */*) test -f "$1" && test -x "$1" ;; *) command -v -- "$1" >/dev/null 2>&1 ;; esac`

// CheckProgram checks that program can be run through ex, in the
// directory dir (empty: the executor's default). On this machine
// (remote.Local, or a nil ex) it is looked up as Local runs it: a path is
// checked to be an executable file, a bare name is looked up in PATH.
// Through any other executor (SSH) a POSIX shell on the host checks it
// (`test -x`, `command -v`), which proves the login too. where names the
// host in messages. A program that cannot be run is an error wrapping
// ErrPreflight ([NotReady]); an executor that fails (a refused login)
// returns its error.
func CheckProgram(ctx context.Context, ex remote.Executor, program, dir, where string) error {
	if _, local := ex.(remote.Local); ex == nil || local {
		p := program
		if strings.ContainsRune(p, filepath.Separator) || strings.ContainsRune(p, '/') {
			if dir != "" && !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
		}
		if _, err := exec.LookPath(p); err != nil {
			return NotReady(fmt.Errorf("the program %s cannot be run on %s: %w", program, where, lookPathCause(err)))
		}
		return nil
	}
	var errOut bytes.Buffer
	code, err := ex.Run(ctx, remote.Command{Argv: []string{"sh", "-c", checkProgramScript, "sh", program}, Dir: dir, Stderr: &errOut})
	if err != nil {
		return fmt.Errorf("checking %s on %s: %w", program, where, err)
	}
	if code != 0 {
		return NotReady(fmt.Errorf("the program %s is not an executable file on %s", program, where))
	}
	return nil
}

// lookPathCause is what exec.LookPath found wrong, without the Go words
// around it (`exec: "x": stat x: `).
func lookPathCause(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	var pe *fs.PathError
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return errors.New("not found in PATH")
	case errors.As(err, &pe):
		return pe.Err // without Go's "stat"
	}
	return err
}

var _ Preflighter = (*execAction)(nil)

// Preflight checks that the program can be run on the host of the call's
// target (this machine when it names none), in its dir: see
// [CheckProgram].
func (e *execAction) Preflight(ctx context.Context, call *Call) error {
	a, err := parseExec(call.Args, true)
	if err != nil {
		return err
	}
	var target map[string]any
	where := "this machine"
	if name, _ := OptStringArg(call.Args, "target", ""); name != "" {
		if _, target, err = call.Target("target"); err != nil {
			return err
		}
		where = fmt.Sprintf("target %q", name)
	}
	ex, err := e.newExecutor(target)
	if err != nil {
		return fmt.Errorf("exec %q: %w", a.argv[0], err)
	}
	if c, ok := ex.(io.Closer); ok {
		defer c.Close()
	}
	return CheckProgram(ctx, ex, a.argv[0], a.dir, where)
}

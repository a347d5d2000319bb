package csm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/csmplan/csmplan/actions"
)

// preflighters check, for a dry run, what the actions that run commands
// or write files will need (see [actions.Preflighter]).
var preflighters = map[string]func(ctx context.Context, call *actions.Call, s *session) error{
	"csm.install": preflightCommand,
	"csm.server":  preflightCommand,
	"csm.backup":  preflightBackup,
}

var _ actions.Preflighter = (*actionDef)(nil)

// Preflight checks, without changing anything, what the action will need:
// for csm.install and csm.server, that the program of argv exists and is
// executable on the target's host (through the target's executor: over
// SSH, which proves the login too); for csm.backup, that dir is, or can
// be made, a directory this process can write. The other actions have
// nothing to check.
func (d *actionDef) Preflight(ctx context.Context, call *actions.Call) error {
	if d.preflight == nil {
		return nil
	}
	if err := d.Validate(call.Args); err != nil {
		return err
	}
	s, err := d.p.connect(ctx, call, false)
	if err != nil {
		return fmt.Errorf("%s: %w", d.spec.Name, err)
	}
	if err := d.preflight(s.ctx, call, s); err != nil {
		return fmt.Errorf("%s: %w", d.spec.Name, err) // the messages name the server
	}
	return nil
}

func preflightCommand(ctx context.Context, call *actions.Call, s *session) error {
	c, err := parseCommand(call.Args, DefaultInstallWait, DefaultInstallPoll)
	if err != nil {
		return err
	}
	ex, done, err := s.executor()
	if err != nil {
		return err
	}
	defer done()
	return actions.CheckProgram(ctx, ex, c.argv[0], "", s.t.server())
}

func preflightBackup(_ context.Context, call *actions.Call, _ *session) error {
	dir, err := actions.NonBlankStringArg(call.Args, "dir")
	if err != nil {
		return err
	}
	if err := checkWritableDir(dir); err != nil {
		return fmt.Errorf("backup directory %s: %w", dir, err)
	}
	return nil
}

// checkWritableDir checks that dir is a directory this process can write,
// or that the nearest directory above it that exists is one, so that
// os.MkdirAll can make it. It changes nothing.
func checkWritableDir(dir string) error {
	dir = filepath.Clean(dir)
	for p := dir; ; {
		fi, err := os.Stat(p)
		above := "" // names the directory above dir that is wrong
		if p != dir {
			above = p + ", where it would be made, "
		}
		switch {
		case err == nil && !fi.IsDir():
			return actions.NotReady(fmt.Errorf("%sis not a directory", cmpOr(above, "it ")))
		case err == nil:
			if err := writable(p); err != nil {
				return actions.NotReady(fmt.Errorf("%scannot be written: %w", cmpOr(above, "it "), err))
			}
			return nil
		case !errors.Is(err, fs.ErrNotExist):
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // without Go's "stat"
			}
			if above != "" {
				return actions.NotReady(fmt.Errorf("%s: %w", p, err))
			}
			return actions.NotReady(err)
		}
		up := filepath.Dir(p)
		if up == p {
			return actions.NotReady(errors.New("no directory above it exists"))
		}
		p = up
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

package actions_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

// hostExec is an executor that stands for a remote host: it notes the
// commands and answers with code or err.
type hostExec struct {
	code int
	err  error
	got  []remote.Command
}

func (h *hostExec) Run(_ context.Context, c remote.Command) (int, error) {
	h.got = append(h.got, c)
	return h.code, h.err
}

func TestCheckProgramLocal(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("executable bits")
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "setup.bin")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, ok := range []struct{ prog, dir string }{{prog, ""}, {"./setup.bin", dir}, {"sh", ""}} {
		if err := actions.CheckProgram(ctx, remote.Local{}, ok.prog, ok.dir, "this machine"); err != nil {
			t.Errorf("%s in %q: %v", ok.prog, ok.dir, err)
		}
	}
	for prog, want := range map[string]string{
		filepath.Join(dir, "none"): "the program " + filepath.Join(dir, "none") + " cannot be run on this machine: no such file or directory",
		dir:                        "cannot be run on this machine: is a directory",
		"no-such-program-xyz":      "the program no-such-program-xyz cannot be run on this machine: not found in PATH",
		plain:                      "cannot be run on this machine: permission denied",
	} {
		err := actions.CheckProgram(ctx, nil, prog, "", "this machine")
		if !errors.Is(err, actions.ErrPreflight) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "stat ") || strings.Contains(err.Error(), "exec:") {
			t.Errorf("%s: %v, want ErrPreflight saying %q without Go's words", prog, err, want)
		}
	}
}

// Through an executor that is not this machine, a shell on the host
// checks the program; the executor's own failure (a refused login) is
// not ErrPreflight.
func TestCheckProgramRemote(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := &hostExec{}
	if err := actions.CheckProgram(ctx, h, "/opt/setup.bin", "/tmp", "csm1"); err != nil {
		t.Fatal(err)
	}
	if len(h.got) != 1 || h.got[0].Argv[0] != "sh" || h.got[0].Argv[len(h.got[0].Argv)-1] != "/opt/setup.bin" || h.got[0].Dir != "/tmp" {
		t.Errorf("commands %+v", h.got)
	}
	h.code = 1
	err := actions.CheckProgram(ctx, h, "/opt/setup.bin", "", "csm1")
	if !errors.Is(err, actions.ErrPreflight) || err.Error() != "the program /opt/setup.bin is not an executable file on csm1" {
		t.Errorf("exit 1: %v", err)
	}
	login := errors.New("ssh: login refused")
	h.err = login
	err = actions.CheckProgram(ctx, h, "/opt/setup.bin", "", "csm1")
	if errors.Is(err, actions.ErrPreflight) || !errors.Is(err, login) || !strings.Contains(err.Error(), "checking /opt/setup.bin on csm1") {
		t.Errorf("refused login: %v", err)
	}
	if actions.NotReady(nil) != nil {
		t.Error("NotReady(nil) is not nil")
	}
}

// The exec action is a Preflighter: its program is checked where it
// would run.
func TestExecPreflight(t *testing.T) {
	t.Parallel()
	a, err := actions.Default().NewAction("exec")
	if err != nil {
		t.Fatal(err)
	}
	pf, ok := a.(actions.Preflighter)
	if !ok {
		t.Fatal("exec is not a Preflighter")
	}
	call := &actions.Call{Name: "exec", Args: map[string]any{"argv": []any{"no-such-program-xyz", "-v"}}}
	if err := pf.Preflight(t.Context(), call); !errors.Is(err, actions.ErrPreflight) || !strings.Contains(err.Error(), "no-such-program-xyz cannot be run on this machine") {
		t.Errorf("missing program: %v", err)
	}
	call.Args["argv"] = []any{"sh", "-c", "exit 3"}
	if err := pf.Preflight(t.Context(), call); err != nil {
		t.Errorf("sh: %v", err)
	}
	call.Args["target"] = "nowhere"
	if err := pf.Preflight(t.Context(), call); err == nil || !strings.Contains(err.Error(), `no target named "nowhere"`) {
		t.Errorf("unknown target: %v", err)
	}
	call.Targets = map[string]map[string]any{"csm1": {"host": "127.0.0.1"}}
	call.Args["target"] = "csm1"
	if err := pf.Preflight(t.Context(), call); err != nil {
		t.Errorf("local target: %v", err)
	}
	call.Targets["csm1"]["ssh"] = map[string]any{"user": "u", "port": 0}
	if err := pf.Preflight(t.Context(), call); err == nil || !strings.Contains(err.Error(), "ssh.port") {
		t.Errorf("bad ssh: %v", err)
	}
	delete(call.Args, "argv")
	if err := pf.Preflight(t.Context(), call); err == nil {
		t.Error("no argv: no error")
	}
}

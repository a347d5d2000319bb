package csm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

func preflight(t *testing.T, r *actions.Registry, call *actions.Call) error {
	t.Helper()
	a, err := r.NewAction(call.Name)
	if err != nil {
		t.Fatal(err)
	}
	pf, ok := a.(actions.Preflighter)
	if !ok {
		t.Fatalf("%s is not a Preflighter", call.Name)
	}
	return pf.Preflight(context.Background(), call)
}

// csm.install and csm.server check their program on the target's host,
// through its executor, and touch neither the server nor anything else.
func TestPreflightCommand(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, nil)
	code := 0
	ex := &fakeExec{run: func(context.Context, remote.Command) (int, error) { return code, nil }}
	r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
	install := newCall("csm.install", f.target(), newFakeClock(), map[string]any{"argv": []any{"/opt/setup.bin", "-i", "silent"}})
	if err := preflight(t, r, install); err != nil {
		t.Fatal(err)
	}
	if cmds := ex.commands(); len(cmds) != 1 || cmds[0].Argv[len(cmds[0].Argv)-1] != "/opt/setup.bin" {
		t.Errorf("commands %+v, want one check of /opt/setup.bin", cmds)
	}
	code = 1
	err := preflight(t, r, install)
	host, port := f.hostPort()
	want := "csm.install: the program /opt/setup.bin is not an executable file on csm1 (" + host + ":"
	if !errors.Is(err, actions.ErrPreflight) || !strings.HasPrefix(err.Error(), want) || port == 0 {
		t.Errorf("err = %v, want ErrPreflight %q", err, want)
	}
	server := newCall("csm.server", f.target(), newFakeClock(), map[string]any{"op": "stop", "argv": []any{"/opt/stop.sh"}})
	if err := preflight(t, r, server); !errors.Is(err, actions.ErrPreflight) || !strings.Contains(err.Error(), "/opt/stop.sh") {
		t.Errorf("csm.server: %v", err)
	}
	if n := f.tokenCount(); n != 0 {
		t.Errorf("%d logins to the server, want none", n)
	}
	// The executor cannot be made: said, and not blocked as missing.
	r = registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return nil, errors.New("no route") }})
	if err := preflight(t, r, install); err == nil || errors.Is(err, actions.ErrPreflight) || !strings.Contains(err.Error(), "no route") {
		t.Errorf("executor error: %v", err)
	}
	// This machine.
	dir := t.TempDir()
	prog := filepath.Join(dir, "setup.bin")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = registry(t, Options{})
	install.Args["argv"] = []any{prog}
	if err := preflight(t, r, install); err != nil {
		t.Errorf("local installer: %v", err)
	}
	install.Args["argv"] = []any{prog + ".none"}
	if err := preflight(t, r, install); !errors.Is(err, actions.ErrPreflight) || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("missing local installer: %v", err)
	}
	delete(install.Args, "argv")
	if err := preflight(t, r, install); err == nil || errors.Is(err, actions.ErrPreflight) {
		t.Errorf("no argv: %v", err)
	}
	// Nothing to check.
	if err := preflight(t, r, newCall("csm.takeover", f.target(), newFakeClock(), nil)); err != nil {
		t.Errorf("csm.takeover: %v", err)
	}
}

// csm.backup checks that its directory can be written, or made, without
// making it.
func TestPreflightBackup(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, nil)
	r := registry(t, Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]string{
		dir:                                  "",
		filepath.Join(dir, "new", "backups"): "",
		file:                                 "csm.backup: backup directory " + file + ": it is not a directory",
		filepath.Join(file, "x"):             "csm.backup: backup directory " + filepath.Join(file, "x") + ": not a directory",
	} {
		err := preflight(t, r, newCall("csm.backup", f.target(), newFakeClock(), map[string]any{"dir": d}))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", d, err)
		case want != "" && (!errors.Is(err, actions.ErrPreflight) || err.Error() != want):
			t.Errorf("%s: %v, want %q", d, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the preflight made the directory: %v", err)
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	if writable(ro) == nil && writable("/proc/1") != nil {
		ro = "/proc/1" // root writes anywhere, but not there (Linux)
	}
	if writable(ro) != nil {
		err := preflight(t, r, newCall("csm.backup", f.target(), newFakeClock(), map[string]any{"dir": filepath.Join(ro, "b")}))
		if !errors.Is(err, actions.ErrPreflight) || !strings.Contains(err.Error(), ro+", where it would be made, cannot be written") {
			t.Errorf("read-only parent: %v", err)
		}
	}
	if err := checkWritableDir("rel/ative"); err != nil {
		t.Errorf("relative directory under the current one: %v", err)
	}
}

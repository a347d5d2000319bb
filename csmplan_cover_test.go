package csmplan_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

func TestNewRegistryRefusesBadOptions(t *testing.T) {
	t.Parallel()
	reg, err := csmplan.NewRegistry(csmplan.CSMOptions{HTTPTimeout: -1})
	if err == nil || !strings.Contains(err.Error(), "HTTPTimeout") {
		t.Fatalf("NewRegistry with a negative HTTPTimeout: %v, want an error naming HTTPTimeout", err)
	}
	if reg != nil {
		t.Errorf("NewRegistry returned a registry with its error: %v", reg)
	}
}

func TestNewRegistryHoldsBuiltinsAndCSM(t *testing.T) {
	t.Parallel()
	reg, err := csmplan.NewRegistry(csmplan.CSMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		kind actions.Kind
		name string
	}{{actions.KindAction, "log"}, {actions.KindAction, "csm.takeover"}, {actions.KindProbe, "csm.ha"}} {
		if _, ok := reg.Spec(want.kind, want.name); !ok {
			t.Errorf("NewRegistry has no %v %q", want.kind, want.name)
		}
	}
	// A registry of one's own is not the shared one: what is registered
	// into it stays there.
	if reg == csmplan.Registry() {
		t.Fatal("NewRegistry returned the shared registry")
	}
	err = reg.RegisterAction(actions.Spec{Name: "cover.mine", Summary: "mine"}, func() actions.Action { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := csmplan.Registry().Spec(actions.KindAction, "cover.mine"); ok {
		t.Error("an action registered into a new registry shows in the shared one")
	}
	if first, again := csmplan.Registry(), csmplan.Registry(); first != again {
		t.Error("Registry returns a different registry on each call")
	}
}

func TestDefaultRunbookIsACopyOfWhatLoadDefaultLoads(t *testing.T) {
	t.Parallel()
	src := csmplan.DefaultRunbook()
	if !bytes.Contains(src, []byte("kind: Runbook")) {
		t.Fatalf("DefaultRunbook is not a runbook:\n%.300s", src)
	}
	p, err := csmplan.Load(csmplan.DefaultRunbookName, src)
	if err != nil {
		t.Fatal(err)
	}
	def, err := csmplan.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != def.Name || len(p.Steps) != len(def.Steps) {
		t.Errorf("DefaultRunbook loads as %q with %d steps; LoadDefault gives %q with %d", p.Name, len(p.Steps), def.Name, len(def.Steps))
	}
	for i := range src {
		src[i] = 'x'
	}
	if again := csmplan.DefaultRunbook(); !bytes.Contains(again, []byte("kind: Runbook")) {
		t.Error("changing the bytes DefaultRunbook returned changed the default runbook")
	}
	if _, err := csmplan.LoadDefault(); err != nil {
		t.Errorf("LoadDefault after changing a copy: %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	t.Run("a runbook", func(t *testing.T) {
		t.Parallel()
		path := write("ok.yaml", "apiVersion: csmplan/v1\nkind: Runbook\nname: from-a-file\nsteps:\n  - id: ha\n    action: log\n    with: {message: hi}\n    pre:\n      - probe: csm.ha\n        with: {target: t}\n        expect: {path: role, equals: Active}\ntargets:\n  t: {host: h, username: u, password: p}\n")
		p, err := csmplan.LoadFile(path)
		if err != nil {
			t.Fatalf("LoadFile: %v", err)
		}
		if p.Name != "from-a-file" || len(p.Steps) != 1 || p.Steps[0].Pre[0].Probe != "csm.ha" {
			t.Errorf("LoadFile loaded %q with steps %v", p.Name, p.Steps)
		}
	})

	t.Run("a missing file", func(t *testing.T) {
		t.Parallel()
		_, err := csmplan.LoadFile(filepath.Join(dir, "missing.yaml"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadFile of a missing file: %v, want fs.ErrNotExist", err)
		}
	})

	t.Run("problems name the file", func(t *testing.T) {
		t.Parallel()
		path := write("bad.yaml", "apiVersion: csmplan/v1\nkind: Runbook\nname: bad\nsteps:\n  - id: one\n    action: csm.nothing\n")
		_, err := csmplan.LoadFile(path)
		if !errors.Is(err, plan.ErrUnknown) {
			t.Fatalf("LoadFile: %v, want plan.ErrUnknown (checked against the shared registry)", err)
		}
		errs := plan.Errors(err)
		if len(errs) != 1 || errs[0].File != path || errs[0].Pos.Line != 6 {
			t.Errorf("problems: %v; want one at %s:6", errs, path)
		}
	})
}

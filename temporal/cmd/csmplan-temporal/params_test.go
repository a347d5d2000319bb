package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/temporal/csmworker"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

func defaultPlan(t *testing.T) *plan.Plan {
	t.Helper()
	reg, err := csmworker.Registry()
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Parse(csmplan.DefaultRunbookName, csmplan.DefaultRunbook(), plan.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Secrets become references a worker resolves: from the params file, the
// environment or -p NAME=@FILE; never their values.
func TestReadParamsPassesSecretsByReference(t *testing.T) {
	p := defaultPlan(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "pair.yaml")
	body := "primary: 10.0.0.1:9559\nsecondary: 10.0.0.2:9559\nusername: csmadmin\npassword: s3cret-in-file\ninstaller: [/opt/setup.bin]\ntarget_version: 6.3.11.0\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err := readParams(p, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	values, err := ps.values()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(interpreter.SecretRef("params:"+file+"#password"), values["password"]); d != "" {
		t.Errorf("password from the file (-want +got):\n%s", d)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret-in-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err = readParams(p, file, []string{"password=@" + pw, "installer=/opt/other.bin"})
	if err != nil {
		t.Fatal(err)
	}
	values, _ = ps.values()
	if d := cmp.Diff(interpreter.SecretRef("file:"+pw), values["password"]); d != "" {
		t.Errorf("password from -p @FILE (-want +got):\n%s", d)
	}
	if got := values["installer"].Decode(); !cmp.Equal(got, []any{"/opt/other.bin"}) {
		t.Errorf("installer = %v", got)
	}
	t.Setenv("CSMPLAN_PARAM_PASSWORD", "s3cret-in-env")
	ps, err = readParams(p, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	values, _ = ps.values()
	if d := cmp.Diff(interpreter.SecretRef("env:CSMPLAN_PARAM_PASSWORD"), values["password"]); d != "" {
		t.Errorf("password from the environment (-want +got):\n%s", d)
	}
	for _, v := range values {
		if s := v.Decode(); s == "s3cret-in-file" || s == "s3cret-in-pw" || s == "s3cret-in-env" {
			t.Errorf("a secret in the input: %v", values)
		}
	}
}

func TestReadParamsRefuses(t *testing.T) {
	p := defaultPlan(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "pair.yaml")
	if err := os.WriteFile(file, []byte("primary: 10.0.0.1:9559\npoll_interval: often\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file  string
		flags []string
		want  string
	}{
		{"", []string{"password=clear"}, "give it as -p password=@FILE"},
		{"", []string{"nonsense"}, `want NAME=VALUE`},
		{"", []string{"password=@" + filepath.Join(dir, "none")}, "-p password=@FILE"},
		{file, nil, file + ":2:"},
		{filepath.Join(dir, "missing.yaml"), nil, "--params"},
	} {
		if _, err := readParams(p, c.file, c.flags); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: err = %v, want %q", c.file, c.flags, err, c.want)
		}
	}
}

func TestTargetQueues(t *testing.T) {
	p := defaultPlan(t)
	got, err := targetQueues(p, []string{"secondary=site-b", " primary = site-a "})
	if err != nil || !cmp.Equal(got, map[string]string{"secondary": "site-b", "primary": "site-a"}) {
		t.Errorf("queues %v, %v", got, err)
	}
	for flag, want := range map[string]string{"tertiary=x": "its targets: primary, secondary", "secondary": "want TARGET=QUEUE", "=q": "want TARGET=QUEUE"} {
		if _, err := targetQueues(p, []string{flag}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", flag, err, want)
		}
	}
}

// The same inputs give the same id, wherever the run starts from; other
// params give another.
func TestWorkflowIDIsTheInputs(t *testing.T) {
	in := interpreter.Input{Runbook: []byte("x"), Params: map[string]interpreter.Value{"a": {K: "s", S: "1"}}, User: "ann", Host: "h1"}
	other := in
	other.User, other.Host = "bob", "h2"
	other.TargetQueues, other.HeartbeatTimeout = map[string]string{"secondary": "site-b"}, time.Second
	id := workflowID("csm upgrade/1", in)
	if id != workflowID("csm upgrade/1", other) || !strings.HasPrefix(id, "csmplan-csm-upgrade-1-") {
		t.Errorf("ids %q, %q", id, workflowID("csm upgrade/1", other))
	}
	other.Params = map[string]interpreter.Value{"a": {K: "s", S: "2"}}
	if workflowID("csm upgrade/1", other) == id {
		t.Error("other params, same id")
	}
}

package fleet_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
)

func TestParse(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install")
	src := `apiVersion: csmplan/v1
kind: Fleet
name: csm-fleet
title: Q4
runbook: rb.yaml
params:
  port: 9000
  password: "@shared.pw"
units:
  - name: east-test
    labels: {site: east, env: test}
    params: {host: e1}
  - name: east-prod
    labels: {site: east, env: prod}
    params: {host: e2, port: "9100", password: "@@lit"}
  - name: west-prod
    labels: {site: west, env: prod}
    params: {host: w1, password: "@west.pw"}
rollout:
  order: [env, site, name]
  canary: {units: [east-test], approve: true}
  waves: {by: site}
  max_parallel: 2
  max_failures: 50%
`
	dir := writeFiles(t, map[string]string{"rb.yaml": testRunbook, "fleet.yaml": src, "shared.pw": "s3cret\n", "west.pw": "w3st\r\n"})
	f, err := fleet.Load(filepath.Join(dir, "fleet.yaml"), kit.Registry(), fleet.WithEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "csm-fleet" || f.Title != "Q4" || f.Runbook == nil || f.Runbook.Name != "up" {
		t.Errorf("fleet = %q %q %v", f.Name, f.Title, f.Runbook)
	}
	// SecretFrom: where each secret was read; @@lit is a literal, from
	// nowhere.
	wantUnits := []fleet.Unit{
		{Name: "east-test", Labels: map[string]string{"site": "east", "env": "test"}, Params: map[string]any{"host": "e1", "port": int64(9000), "password": "s3cret"},
			SecretFrom: map[string]string{"password": "file:" + filepath.Join(dir, "shared.pw")}, Pos: plan.Pos{Line: 10, Column: 5}},
		{Name: "east-prod", Labels: map[string]string{"site": "east", "env": "prod"}, Params: map[string]any{"host": "e2", "port": "9100", "password": "@lit"}, Pos: plan.Pos{Line: 13, Column: 5}},
		{Name: "west-prod", Labels: map[string]string{"site": "west", "env": "prod"}, Params: map[string]any{"host": "w1", "port": int64(9000), "password": "w3st"},
			SecretFrom: map[string]string{"password": "file:" + filepath.Join(dir, "west.pw")}, Pos: plan.Pos{Line: 16, Column: 5}},
	}
	if d := cmp.Diff(wantUnits, f.Units); d != "" {
		t.Errorf("units (-want +got):\n%s", d)
	}
	wantRollout := fleet.Rollout{Order: []string{"env", "site", "name"}, Canary: []string{"east-test"}, Approve: true, WaveBy: "site", MaxParallel: 2, MaxFailures: 1}
	if d := cmp.Diff(wantRollout, f.Rollout); d != "" {
		t.Errorf("rollout (-want +got):\n%s", d)
	}
	if d := cmp.Diff([][]string{{"east-test"}, {"east-prod"}, {"west-prod"}}, f.Waves()); d != "" {
		t.Errorf("waves (-want +got):\n%s", d)
	}
	if u := f.Unit("west-prod"); u == nil || u.Label("name") != "west-prod" || u.Label("site") != "west" {
		t.Errorf("Unit(west-prod) = %+v", u)
	}
	if f.Unit("nope") != nil {
		t.Error("Unit(nope) is not nil")
	}
}

// TestSecretFromEnv checks that CSMPLAN_PARAM_<NAME> gives a secret to
// every unit that does not give its own, over the shared one.
func TestSecretFromEnv(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install")
	src := fleetOf([]string{"a"}, nil, "") + "  - name: b\n    params: {host: b, password: \"@b.pw\"}\nparams: {password: \"@shared.pw\"}\n"
	dir := writeFiles(t, map[string]string{"rb.yaml": testRunbook, "fleet.yaml": src, "b.pw": "bee-secret", "shared.pw": "shared"})
	env := func(k string) (string, bool) {
		if k == "CSMPLAN_PARAM_PASSWORD" {
			return "from-env", true
		}
		return "", false
	}
	f, err := fleet.Load(filepath.Join(dir, "fleet.yaml"), kit.Registry(), fleet.WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := f.Unit("a").Params["password"], f.Unit("b").Params["password"]; a != "from-env" || b != "bee-secret" {
		t.Errorf("passwords: a %v, b %v; want from-env, bee-secret", a, b)
	}
	// Each secret's source: the environment's over the shared file, the
	// unit's own file over the environment's.
	if a, b := f.Unit("a").SecretFrom, f.Unit("b").SecretFrom; a["password"] != "env:CSMPLAN_PARAM_PASSWORD" || b["password"] != "file:"+filepath.Join(dir, "b.pw") || len(a) != 1 || len(b) != 1 {
		t.Errorf("SecretFrom: a %v, b %v", a, b)
	}
	// A secret from the environment that does not bind is reported at
	// each unit that takes it, naming the variable, never the value.
	short := func(k string) (string, bool) { return "ab", k == "CSMPLAN_PARAM_PASSWORD" }
	_, err = fleet.Load(filepath.Join(dir, "fleet.yaml"), kit.Registry(), fleet.WithEnv(short))
	errs := plan.Errors(err)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), filepath.Join(dir, "fleet.yaml")+":6:5: unit a: param password (from CSMPLAN_PARAM_PASSWORD): ") || strings.Contains(err.Error(), "ab ") {
		t.Errorf("short secret from the environment: %v", err)
	}
}

// TestDefaultRunbook checks that a fleet without runbook: takes the
// default one, and is refused without one.
func TestDefaultRunbook(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install")
	p, err := plan.Parse("builtin.yaml", []byte(testRunbook), plan.WithRegistry(kit.Registry()))
	if err != nil {
		t.Fatal(err)
	}
	src := []byte("apiVersion: csmplan/v1\nkind: Fleet\nname: f\nunits: [{name: a, params: {host: a}}]\n")
	f, err := fleet.Parse("f.yaml", src, kit.Registry(), fleet.WithDefaultRunbook(p), fleet.WithEnv(noEnv))
	if err != nil || f.Runbook != p {
		t.Fatalf("with a default: %v, %v", f, err)
	}
	_, err = fleet.Parse("f.yaml", src, kit.Registry(), fleet.WithEnv(noEnv))
	if !errors.Is(err, fleet.ErrRunbook) || !strings.HasPrefix(err.Error(), "f.yaml:1:1: ") {
		t.Errorf("without a default: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	const head = "apiVersion: csmplan/v1\nkind: Fleet\nname: f\nrunbook: rb.yaml\n"
	tests := []struct {
		name  string
		src   string
		files map[string]string
		kind  error
		want  []string // every error line, in order
	}{
		{name: "unknown key", kind: plan.ErrSchema,
			src:  head + "units:\n  - name: a\n    lables: {x: y}\n    params: {host: a}\n",
			want: []string{`fleet.yaml:7:5: unknown key "lables" in unit (did you mean "labels"?)`}},
		{name: "duplicate unit", kind: fleet.ErrDuplicateUnit,
			src:  head + "units:\n  - name: a\n    params: {host: a}\n  - name: a\n    params: {host: a}\n",
			want: []string{"fleet.yaml:8:11: unit a is given twice (first at line 6)"}},
		{name: "unknown canary", kind: fleet.ErrUnknownUnit,
			src:  head + "units:\n  - name: east\n    params: {host: a}\nrollout:\n  canary: {units: [eats, east, east]}\n",
			want: []string{`fleet.yaml:9:20: canary eats is no unit of the fleet (did you mean "east"?)`, "fleet.yaml:9:32: canary east is given twice"}},
		{name: "max_failures over 100%", kind: fleet.ErrRollout,
			src:  head + "units: [{name: a, params: {host: a}}]\nrollout: {max_failures: 150%}\n",
			want: []string{"fleet.yaml:6:25: max_failures: 150% is more than 100% of the units"}},
		{name: "max_failures not a count", kind: plan.ErrSchema,
			src:  head + "units: [{name: a, params: {host: a}}]\nrollout: {max_failures: many}\n",
			want: []string{"fleet.yaml:6:25: "}},
		{name: "waves size and by", kind: fleet.ErrRollout,
			src:  head + "units: [{name: a, params: {host: a}}]\nrollout:\n  waves: {size: 2, by: site}\n",
			want: []string{"fleet.yaml:7:24: waves are split by size or by a label, not both: give size or by"}},
		{name: "bad params of units", kind: runner.ErrParams,
			src: head + "units:\n  - name: a\n    params: {host: a, port: abc}\n  - name: b\n    params: {hots: b}\n",
			want: []string{
				"fleet.yaml:7:29: unit a: param port: ",
				"fleet.yaml:8:5: unit b: param host: required",
				`fleet.yaml:9:14: unit b: param hots: unknown param; did you mean "host"?`,
			}},
		{name: "bad shared param reported once", kind: runner.ErrParams,
			src:  head + "params: {host: BAD}\nunits: [{name: a}, {name: b}, {name: c, params: {host: c}}]\n",
			want: []string{"fleet.yaml:5:16: param host: "}},
		{name: "secret in clear", kind: fleet.ErrSecret,
			src:  head + "units:\n  - name: a\n    params: {host: a, password: hunter2}\n",
			want: []string{"fleet.yaml:7:33: param password is secret: give it as @FILE (a file relative to the fleet file) or in CSMPLAN_PARAM_PASSWORD, never in clear"}},
		{name: "secret file missing", kind: fleet.ErrSecret,
			src:  head + "params: {password: \"@nofile\"}\nunits: [{name: a, params: {host: a}}, {name: b, params: {host: b, password: \"@\"}}]\n",
			want: []string{"fleet.yaml:5:20: param password: open ", "fleet.yaml:6:77: param password: no file name after @"}},
		{name: "syntax", kind: plan.ErrSyntax,
			src:  head + "units: [\n",
			want: []string{"fleet.yaml:"}},
		{name: "not a mapping", kind: plan.ErrSchema,
			src:  "- a\n",
			want: []string{"fleet.yaml:1:1: a fleet file is a mapping; got a list"}},
		{name: "empty", kind: plan.ErrSyntax,
			src:  "\n",
			want: []string{"fleet.yaml:1:1: fleet file is empty: want a mapping"}},
		{name: "missing runbook file", kind: fleet.ErrRunbook,
			src:  "apiVersion: csmplan/v1\nkind: Fleet\nname: f\nrunbook: none.yaml\nunits: [{name: a}]\n",
			want: []string{"fleet.yaml:4:10: runbook: read runbook: open "}},
		{name: "bad runbook", kind: plan.ErrSchema,
			files: map[string]string{"bad.yaml": "apiVersion: csmplan/v1\nkind: Runbook\nname: x\nstepz: []\n"},
			src:   "apiVersion: csmplan/v1\nkind: Fleet\nname: f\nrunbook: bad.yaml\nunitz: [{name: a}]\n",
			want:  []string{"fleet.yaml:5:1: ", "bad.yaml:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kit := actionstest.NewKit()
			kit.Action("up.install")
			files := map[string]string{"rb.yaml": testRunbook, "fleet.yaml": tt.src}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeFiles(t, files)
			_, err := fleet.Load(filepath.Join(dir, "fleet.yaml"), kit.Registry(), fleet.WithEnv(noEnv))
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v: want it to wrap %v", err, tt.kind)
			}
			errs := plan.Errors(err)
			if len(errs) < len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for i, w := range tt.want {
				got := strings.TrimPrefix(errs[i].Error(), dir+string(filepath.Separator))
				if !strings.HasPrefix(got, w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, got, w)
				}
			}
			if len(errs) > len(tt.want) && tt.name != "bad runbook" && tt.name != "syntax" {
				t.Errorf("more errors than wanted:\n%v", err)
			}
		})
	}
}

// TestLoadRenders checks that a fleet's problems draw a code frame, as a
// runbook's do.
func TestLoadRenders(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install")
	src := "apiVersion: csmplan/v1\nkind: Fleet\nname: f\nrunbook: rb.yaml\nunits:\n  - name: a\n    params: {host: a, prot: 1}\n"
	dir := writeFiles(t, map[string]string{"rb.yaml": testRunbook})
	_, err := fleet.Parse(filepath.Join(dir, "fleet.yaml"), []byte(src), kit.Registry(), fleet.WithEnv(noEnv))
	var b strings.Builder
	plan.Render(&b, err, plan.RenderOptions{})
	if !strings.Contains(b.String(), "7 |     params: {host: a, prot: 1}") || !strings.Contains(b.String(), "^^^^") {
		t.Errorf("render:\n%s", b.String())
	}
}

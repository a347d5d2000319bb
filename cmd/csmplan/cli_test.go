package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/csmplan/csmplan"
)

func TestHelp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runFlags := []string{"-p NAME=VALUE", "-params FILE", "-journal FILE", "-resume", "-dry-run", "-yes", "-json", "-simulate", "-fault NAME", "-install-time"}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"Usage:", "csmplan <command>", "run", "plan", "validate", "doc", "init", "schema", "actions", "sim", "Exit codes"}},
		{[]string{"--help"}, []string{"Commands:"}},
		{[]string{"help"}, []string{"Commands:"}},
		{[]string{"help", "run"}, append([]string{"Usage: csmplan run [flags] [RUNBOOK]", "Flags:"}, runFlags...)},
		{[]string{"run", "-h"}, append([]string{"Usage: csmplan run [flags] [RUNBOOK]"}, runFlags...)},
		{[]string{"run", "--help"}, []string{"Usage: csmplan run"}},
		{[]string{"plan", "-h"}, []string{"Usage: csmplan plan", "-simulate", "-fault NAME", "-p NAME=VALUE"}},
		{[]string{"validate", "-h"}, []string{"Usage: csmplan validate [flags] FILE...", "FILE:LINE:COL"}},
		{[]string{"doc", "-h"}, []string{"Usage: csmplan doc [flags] [RUNBOOK]"}},
		{[]string{"init", "-h"}, []string{"Usage: csmplan init [flags] [FILE]", "overwrite"}},
		{[]string{"schema", "-h"}, []string{"Usage: csmplan schema", "-base"}},
		{[]string{"actions", "-h"}, []string{"Usage: csmplan actions [flags] [NAME]"}},
		{[]string{"help", "sim"}, []string{"Usage: csmplan sim", "-params-out FILE", "-install-time", "-fault NAME", "-no-standby"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			// Asked-for help goes to stdout, so that it can be paged.
			cli(t, dir, tt.args...).want(t, exitOK, "stdout", tt.want...)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"no args", nil, []string{"Usage:", "Commands:"}},
		{"unknown command", []string{"rnu"}, []string{`unknown command "rnu"`, `did you mean "run"?`}},
		{"unknown help topic", []string{"help", "rnu"}, []string{`unknown command "rnu"`}},
		{"unknown flag", []string{"run", "--bogus"}, []string{"csmplan run: flag provided but not defined: -bogus", "Usage: csmplan run", "-simulate"}},
		{"bad flag value", []string{"run", "--simulate", "--install-time", "soon"}, []string{"-install-time", "Usage: csmplan run"}},
		{"two runbooks", []string{"run", "a.yaml", "b.yaml"}, []string{"at most one runbook, got 2"}},
		{"resume without journal", []string{"run", "--resume"}, []string{"--resume needs --journal FILE"}},
		{"fault without simulate", []string{"run", "--fault", "installer-fails"}, []string{"need --simulate"}},
		{"install time without simulate", []string{"plan", "--install-time", "1s"}, []string{"need --simulate"}},
		{"plan has no journal", []string{"plan", "--journal", "j"}, []string{"-journal", "Usage: csmplan plan"}},
		{"bad -p", []string{"run", "--simulate", "-p", "=x"}, []string{"want NAME=VALUE"}},
		{"missing params file", []string{"run", "--params", "nope.yaml"}, []string{"--params", "nope.yaml"}},
		{"missing runbook", []string{"run", "nope.yaml"}, []string{"nope.yaml"}},
		{"doc of two", []string{"doc", "a", "b"}, []string{"at most one runbook"}},
		{"init of two", []string{"init", "a", "b"}, []string{"at most one file name"}},
		{"schema argument", []string{"schema", "x"}, []string{`unexpected argument "x"`}},
		{"sim argument", []string{"sim", "x"}, []string{`unexpected argument "x"`}},
		{"sim bad fault", []string{"sim", "--fault", "bogus"}, []string{"bogus", "installer-fails"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, dir, tt.args...)
			if r.code != exitUsage {
				t.Fatalf("exit code %d, want %d; %v", r.code, exitUsage, r)
			}
			for _, s := range tt.want {
				if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(s)) {
					t.Errorf("stderr does not contain %q; %v", s, r)
				}
			}
			if r.stdout != "" {
				t.Errorf("a usage error wrote to stdout; %v", r)
			}
		})
	}
}

const goodRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: good
title: A good runbook
steps:
  - id: hello
    title: Say hello
    action: exec
    with: {argv: [echo, hi]}
`

// badRunbook has four planted problems: an unknown key with a typo (line
// 6), a reference to a later step (line 8), a bad duration (line 9) and a
// duplicate id (line 13).
const badRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: bad
steps:
  - id: first
    tittle: First step
    action: exec
    with: {argv: ["echo", "${steps.second.outputs.stdout}"]}
    timeout: 5 minutes
  - id: second
    action: exec
    with: {argv: [echo, hi]}
  - id: second
    action: exec
    with: {argv: [echo, again]}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "good.yaml", goodRunbook)
	writeFile(t, dir, "bad.yaml", badRunbook)
	frame := regexp.MustCompile(`(?m)^ *\| +\^+ *$`)

	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		cli(t, dir, "validate", "good.yaml").want(t, exitOK, "stdout", "ok  good.yaml (1 step)")
	})
	t.Run("problems", func(t *testing.T) {
		t.Parallel()
		r := cli(t, dir, "validate", "bad.yaml")
		r.want(t, exitFailed, "stdout",
			`bad.yaml:6:5: unknown key "tittle"`, `did you mean "title"?`,
			"bad.yaml:8:28: ${steps.second.outputs.stdout}", "comes later",
			`bad.yaml:9:14: "timeout": "5 minutes" is not a duration`,
			`bad.yaml:13:5: duplicate step id "second" (first at line 10)`,
			"6 |     tittle: First step",
			"bad.yaml: 4 problems")
		if n := len(frame.FindAllString(r.stdout, -1)); n != 4 {
			t.Errorf("%d code frame lines with '^', want 4; %v", n, r)
		}
	})
	t.Run("valid and invalid", func(t *testing.T) {
		t.Parallel()
		r := cli(t, dir, "validate", "good.yaml", "bad.yaml")
		r.want(t, exitFailed, "stdout", "ok  good.yaml", "bad.yaml:6:5:")
	})
	t.Run("no files", func(t *testing.T) {
		t.Parallel()
		cli(t, dir, "validate").want(t, exitUsage, "stderr", "want at least one runbook file", "Usage: csmplan validate")
	})
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		r := cli(t, dir, "validate", "good.yaml", "missing.yaml")
		r.want(t, exitFailed, "stderr", "csmplan validate:", "missing.yaml", "no such file")
		r.want(t, exitFailed, "stdout", "ok  good.yaml")
	})
	t.Run("run refuses an invalid runbook", func(t *testing.T) {
		t.Parallel()
		cli(t, dir, "run", "bad.yaml").want(t, exitUsage, "stderr", "bad.yaml:6:5:", "bad.yaml:13:5:")
	})
}

func TestSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{{"schema"}, {"schema", "--base"}} {
		r := cli(t, dir, args...)
		r.want(t, exitOK, "stdout")
		var s map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("%s: not JSON: %v", strings.Join(args, " "), err)
		}
		if _, ok := s["$schema"]; !ok {
			t.Errorf(`%s: no "$schema"`, strings.Join(args, " "))
		}
		full := strings.Contains(r.stdout, `"action:csm.takeover"`)
		if want := len(args) == 1; full != want {
			t.Errorf("%s: defines action:csm.takeover: %v, want %v", strings.Join(args, " "), full, want)
		}
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cli(t, dir, "actions")
	r.want(t, exitOK, "stdout", "Actions:\n", "Probes:\n", "\n  csm.takeover", "\n  exec", "\n  csm.ha\n", "with argv")

	r = cli(t, dir, "actions", "csm.takeover")
	r.want(t, exitOK, "stdout", "  csm.takeover")
	if strings.Contains(r.stdout, "  exec") {
		t.Errorf("actions csm.takeover lists exec too; %v", r)
	}

	cli(t, dir, "actions", "nope").want(t, exitUsage, "stderr", "no action or probe named nope")
	cli(t, dir, "actions", "csm.takovr").want(t, exitUsage, "stderr", `did you mean "csm.takeover"?`)
}

func TestDoc(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cli(t, dir, "doc")
	r.want(t, exitOK, "stdout", "\n### 1. Check the primary is active", "\n### 15. Re-establish the HA relationship and compare with step 1", "May change when the run is resumed.")
	if !strings.HasPrefix(r.stdout, "# Upgrade IBM Copy Services Manager") {
		t.Errorf("doc does not start with a '# ' title; %v", r)
	}
	writeFile(t, dir, "good.yaml", goodRunbook)
	r = cli(t, dir, "doc", "good.yaml")
	r.want(t, exitOK, "stdout", "### 1. Say hello")
	if !strings.HasPrefix(r.stdout, "# A good runbook") {
		t.Errorf("doc good.yaml does not start with its title; %v", r)
	}
}

func TestInit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.yaml")
	cli(t, dir, "init", "x.yaml").want(t, exitOK, "stdout", "wrote x.yaml")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, csmplan.DefaultRunbook()) {
		t.Error("init wrote something else than the default runbook")
	}
	cli(t, dir, "validate", "x.yaml").want(t, exitOK, "stdout", "ok  x.yaml (15 steps)")

	// An edited file is never overwritten.
	edited := append(got, "# edited\n"...)
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	cli(t, dir, "init", "x.yaml").want(t, exitFailed, "stderr", "x.yaml already exists; not overwriting it")
	if now, _ := os.ReadFile(path); !bytes.Equal(now, edited) {
		t.Error("a second init changed the file")
	}

	// The default name.
	cli(t, dir, "init").want(t, exitOK, "stdout", "wrote csm-upgrade.yaml")
	if _, err := os.Stat(filepath.Join(dir, "csm-upgrade.yaml")); err != nil {
		t.Error(err)
	}
}

// An insecure target warns in a dry run as in a run: once per target, even
// when only probes reach it.
func TestInsecureWarns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "ins.yaml", `apiVersion: csmplan/v1
kind: Runbook
name: ins
targets:
  t: {host: "127.0.0.1:1", username: u, password: p, insecure: true}
steps:
  - id: s
    pre:
      - probe: csm.reachable
        with: {target: t}
        expect: {equals: false}
      - probe: csm.reachable
        with: {target: t}
        expect: {equals: false}
`)
	for _, cmd := range []string{"plan", "run"} {
		r := cli(t, dir, cmd, "ins.yaml")
		r.want(t, exitOK, "stdout", "TLS certificate verification of 127.0.0.1:1 is DISABLED")
		if n := strings.Count(r.stdout, "is DISABLED"); n != 1 {
			t.Errorf("%s: %d warnings, want 1 (once per target): %v", cmd, n, r)
		}
	}
}

// One step is "1 step", not "1 steps".
func TestOneStep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "one.yaml", "apiVersion: csmplan/v1\nkind: Runbook\nname: one\nsteps:\n  - id: s\n    action: log\n    with: {message: hi}\n")
	r := cli(t, dir, "run", "one.yaml")
	r.want(t, exitOK, "stdout", "Running one (1 step)\n", "\nSucceeded: 1 step: 1 succeeded in ")
	if strings.Contains(r.stdout, "1 steps") {
		t.Errorf("stdout says 1 steps: %v", r)
	}
}

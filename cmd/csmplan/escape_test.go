package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/internal/hostiletest"
)

// escRunbook carries terminal escapes in every kind of text the command
// line shows: the runbook's and a step's titles, a condition's title, a
// log message (as from a server: an ESC sequence that clears the screen,
// then a forged line), a C1 control and a bidi override, and the stderr of
// a failing process.
const escRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: esc
title: "Esc \e[2J runbook"
steps:
  - id: hello
    title: "Say \e[31m hello \u202e"
    action: log
    with: {message: "IWNR1234E: \e[2J\e[31m FAKE: upgrade complete \x9b"}
  - id: check
    pre:
      - title: "the \e]0;owned\a condition"
        value: "observed \e[1m"
        expect: {equals: "something else"}
    on_failure: continue
  - id: fail
    action: exec
    with: {argv: [sh, -c, 'printf "IWNR5678E: \033[2J stderr\n" >&2; exit 3']}
`

// rawControls are characters that must never reach a terminal as they are.
var rawControls = []string{"\x1b", "\u009b", "\u202e", "\a"}

// noRawControls fails the test when out holds a raw control character.
func noRawControls(t *testing.T, what, out string, r result) {
	t.Helper()
	for _, c := range rawControls {
		if strings.Contains(out, c) {
			t.Errorf("%s holds a raw %q; %q", what, c, r.String())
		}
	}
}

func TestEscapedOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "esc.yaml", escRunbook)

	t.Run("run", func(t *testing.T) {
		t.Parallel()
		r := cli(t, dir, "run", "esc.yaml")
		noRawControls(t, "stdout", r.stdout, r)
		noRawControls(t, "stderr", r.stderr, r)
		r.want(t, exitFailed, "stdout",
			`Running Esc \x1b[2J runbook (3 steps)`,
			`[1/3] ✓ Say \x1b[31m hello \u202e (succeeded)`,
			`IWNR1234E: \x1b[2J\x1b[31m FAKE: upgrade complete \u009b`,
			`the \x1b]0;owned\x07 condition`,
			`IWNR5678E: \x1b[2J stderr`)
	})
	t.Run("json", func(t *testing.T) {
		t.Parallel()
		r := cli(t, dir, "run", "esc.yaml", "--json")
		noRawControls(t, "stdout", r.stdout, r)
		noRawControls(t, "stderr", r.stderr, r)
		r.want(t, exitFailed, "stderr", `IWNR1234E: \x1b[2J\x1b[31m FAKE`)
		found := false
		for _, line := range strings.Split(strings.TrimRight(r.stdout, "\n"), "\n") {
			var ev struct{ Message string }
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("not JSON: %v: %q", err, line)
			}
			found = found || ev.Message == "IWNR1234E: \x1b[2J\x1b[31m FAKE: upgrade complete \u009b"
		}
		if !found {
			t.Errorf("no event holds the log message as it was: %v", r)
		}
	})
	t.Run("plan", func(t *testing.T) {
		t.Parallel()
		r := cli(t, dir, "plan", "esc.yaml")
		noRawControls(t, "stdout", r.stdout, r)
		// The exit code of a dry run blocked by a step that continues on
		// failure is not the point here.
		for _, s := range []string{`Dry run of Esc \x1b[2J runbook`, `the \x1b]0;owned\x07 condition (line 12)`, `observed "observed \x1b[1m"`} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("stdout does not contain %q; %v", s, r)
			}
		}
	})
	t.Run("doc", func(t *testing.T) {
		t.Parallel()
		r := cli(t, dir, "doc", "esc.yaml")
		noRawControls(t, "stdout", r.stdout, r)
		r.want(t, exitOK, "stdout", `# Esc \x1b[2J runbook`, `### 1. Say \x1b[31m hello \u202e`,
			`IWNR1234E: \x1b[2J\x1b[31m FAKE: upgrade complete \u009b`, `the \x1b]0;owned\x07 condition`)
	})
}

func TestEscapedValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A raw ESC is not allowed in YAML: the problem's code frame shows the
	// line that holds it. A raw bidi override is allowed, and shown in the
	// frame of another problem on its line.
	writeFile(t, dir, "raw.yaml", "apiVersion: csmplan/v1\nkind: Runbook\nname: raw\nsteps:\n  - id: a\n    title: \"\x1b[2J\x1b[31m FAKE: ok\"\n    action: log\n")
	writeFile(t, dir, "bidi.yaml", "apiVersion: csmplan/v1\nkind: Runbook\nname: bidi\nsteps:\n  - id: a\n    action: log\n    tiemout: 5m # \u202e reversed\n")
	r := cli(t, dir, "validate", "raw.yaml", "bidi.yaml")
	noRawControls(t, "stdout", r.stdout, r)
	noRawControls(t, "stderr", r.stderr, r)
	r.want(t, exitFailed, "stdout", `6 |     title: "\x1b[2J\x1b[31m FAKE: ok"`, `7 |     tiemout: 5m # \u202e reversed`)

	// The same frames when a run loads the runbook.
	r = cli(t, dir, "run", "raw.yaml")
	noRawControls(t, "stderr", r.stderr, r)
	r.want(t, exitUsage, "stderr", `title: "\x1b[2J`)
}

// A CSM server whose reply carries terminal escapes (the finding of issue
// 9: a takeover answered IWNR1234E with ESC[2J) cannot clear the screen or
// forge a line: the CLI shows the escapes as text.
func TestEscapedCSMServer(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewTLSServer(t)
	s.Script("/CSM/web/system/v1/tokens", hostiletest.Reply{Body: `{"msg":"IWNR1601I","token":"t"}`})
	spoof, _ := json.Marshal("IWNR1234E: " + hostiletest.TerminalSpoof)
	s.Script("/CSM/web/system/ha/takeover", hostiletest.Reply{Body: `{"msg":"IWNR1234E","msgTranslated":` + string(spoof) + `}`})
	dir := t.TempDir()
	writeFile(t, dir, "takeover.yaml", `apiVersion: csmplan/v1
kind: Runbook
name: takeover
targets:
  s: {host: "`+strings.TrimPrefix(s.URL, "https://")+`", username: u, password: p, ca_file: "`+s.CAFile+`"}
steps:
  - id: takeover
    action: csm.takeover
    with: {target: s}
`)
	r := cli(t, dir, "run", "takeover.yaml")
	noRawControls(t, "stdout", r.stdout, r)
	noRawControls(t, "stderr", r.stderr, r)
	r.want(t, exitFailed, "stdout", `IWNR1234E: \x1b[2J\x1b[31m FAKE: upgrade complete`)
}

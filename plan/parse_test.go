package plan_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

const valid = `apiVersion: csmplan/v1
kind: Runbook
name: csm-upgrade
title: Upgrade
params:
  primary:    {type: string, required: true, description: Host of the primary server}
  password:   {type: string, secret: true}
  maintain_dr: {type: boolean, default: true}
  wait: {type: duration, default: 30m}
targets:
  primary: {host: "${params.primary}", ssh: {user: csm}}
defaults: {timeout: 10m}
steps:
  - id: verify-ready
    title: Verify the standby is synchronized
    doc: Procedure step 1.
    when: ${params.maintain_dr}
    pre:
      - probe: exec
        with: {argv: [echo, ok]}
        expect: {path: stdout, matches: "^ok"}
        wait: {timeout: "${params.wait}", interval: 30s}
        save: out
    action: log
    with: {message: "stdout was ${vars.out.stdout}, $${literal}"}
    timeout: 5m
    retry: {attempts: 3, interval: 10s, backoff: 2}
    post:
      - value: [{state: Prepared}, {state: Suspended}]
        expect: {path: "[*].state", none: {in: [Preparing, Suspending, Recovering]}}
    undo: {action: log, with: {message: undo}}
    on_failure: rollback
  - id: next
    action: log
    with: {message: "${steps.verify-ready.outputs.message}"}
`

func TestParseValid(t *testing.T) {
	t.Parallel()
	p, err := plan.Parse("ok.yaml", []byte(valid))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p.Name != "csm-upgrade" || len(p.Steps) != 2 || len(p.Params) != 4 {
		t.Fatalf("plan = %+v", p)
	}
	s := p.Steps[0]
	if s.Pos != (plan.Pos{Line: 14, Column: 5}) || s.ActionPos.Line != 24 || s.Pre[0].Pos.Line != 19 {
		t.Errorf("positions: step %v action %v pre %v", s.Pos, s.ActionPos, s.Pre[0].Pos)
	}
	if s.Timeout.D.Minutes() != 5 || s.Retry.Attempts != 3 || s.OnFailure != plan.Rollback || s.Undo.Action != "log" {
		t.Errorf("step fields: %+v", s)
	}
	if got := s.Pre[0].Expect.String(); got != `stdout matches /^ok/` {
		t.Errorf("expect = %q", got)
	}
	with, _ := s.With.Eval(func(r *plan.Ref) (any, error) { return r.Path.Select(map[string]any{"stdout": "ok"}) })
	if got := with.(map[string]any)["message"]; got != "stdout was ok, ${literal}" {
		t.Errorf("message = %q", got)
	}
	refs := s.With.Refs()
	if len(refs) != 1 || refs[0].Scope != plan.ScopeVars || refs[0].Name != "out" || refs[0].Path.String() != "stdout" || refs[0].Pos != (plan.Pos{Line: 25, Column: 33}) {
		t.Errorf("refs = %+v", refs[0])
	}
}

func TestParseFileAndFS(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{"rb.yaml": {Data: []byte(valid)}}
	if _, err := plan.ParseFS(fsys, "rb.yaml"); err != nil {
		t.Errorf("ParseFS: %v", err)
	}
	if _, err := plan.ParseFS(fsys, "missing.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ParseFS missing: %v", err)
	}
	if _, err := plan.ParseFile("testdata/valid.yaml"); err != nil {
		t.Errorf("ParseFile: %v", err)
	}
}

// TestParseProblems plants one problem per runbook and checks the line,
// column, culprit and kind of the error.
func TestParseProblems(t *testing.T) {
	t.Parallel()
	head := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\n"
	tests := []struct {
		name string
		src  string
		want string // FILE:LINE:COL: message, prefix
		kind error
	}{
		{"syntax unclosed flow", head + "steps:\n  - id: a\n    action: log\n    with: {message: [1, 2}\n", `t.yaml:7:21: unclosed '['`, plan.ErrSyntax},
		{"syntax indentation", head + "steps:\n  - id: a\n    action: log\n   with: {message: x}\n", `t.yaml:7:4: bad indentation`, plan.ErrSyntax},
		{"syntax tab", head + "steps:\n  - id: a\n\taction: log\n", `t.yaml:6:1: a tab is not allowed`, plan.ErrSyntax},
		{"syntax colon", head + "steps:\n  - id: a\n    action: log: x\n", `t.yaml:6:16: unexpected ':'`, plan.ErrSyntax},
		{"unknown top key", head + "stepz: []\n", `t.yaml:4:1: unknown key "stepz"`, plan.ErrSchema},
		{"unknown step key", head + "steps:\n  - id: a\n    actoin: log\n", `t.yaml:6:5: unknown key "actoin" in step (did you mean "action"?)`, plan.ErrSchema},
		{"unknown matcher", head + "steps:\n  - id: a\n    pre: [{value: 1, expect: {equal: 1}}]\n", `t.yaml:6:31: unknown key "equal" in expect (did you mean "equals"?)`, plan.ErrSchema},
		{"wrong type", head + "steps:\n  - id: a\n    action: log\n    with: {message: x}\n    retry: {attempts: three}\n", `t.yaml:8:23: "attempts" must be an integer`, plan.ErrSchema},
		{"bad duration", head + "steps:\n  - id: a\n    action: log\n    with: {message: x}\n    timeout: 10 minutes\n", `t.yaml:8:14: "timeout": "10 minutes" is not a duration`, plan.ErrSchema},
		{"duration without unit", head + "steps:\n  - id: a\n    action: log\n    with: {message: x}\n    timeout: 10\n", `t.yaml:8:14:`, nil},
		{"unknown param", head + "steps:\n  - id: a\n    action: log\n    with: {message: \"${params.nope}\"}\n", `t.yaml:7:22: ${params.nope}: unknown param "nope"`, plan.ErrReference},
		{"reference after an escape", head + "steps:\n  - id: a\n    action: log\n    with: {message: \"a\\tb\\u00e9 ${params.x}\"}\n", `t.yaml:7:33: ${params.x}: unknown param "x"`, plan.ErrReference},
		{"reference after a quoted quote", head + "steps:\n  - id: a\n    action: log\n    with: {message: 'a''b ${params.x}'}\n", `t.yaml:7:27: ${params.x}: unknown param "x"`, plan.ErrReference},
		{"reference after a wide character", head + "steps:\n  - id: a\n    action: log\n    with:\n      message: é ${params.x}\n", `t.yaml:8:18: ${params.x}: unknown param "x"`, plan.ErrReference},
		{"reference in a folded scalar", head + "steps:\n  - id: a\n    action: log\n    with:\n      message: a\n        ${params.x}\n", `t.yaml:8:16: ${params.x}: unknown param "x"`, plan.ErrReference},
		{"unknown scope", head + "steps:\n  - id: a\n    action: log\n    with: {message: \"x ${param.nope}\"}\n", `t.yaml:7:24: reference ${param.nope}: unknown scope "param"`, plan.ErrReference},
		{"forward reference", head + "steps:\n  - id: a\n    action: log\n    with: {message: \"${steps.b.outputs.message}\"}\n  - id: b\n    action: log\n    with: {message: x}\n", `t.yaml:7:22: ${steps.b.outputs.message} refers to step "b", which comes later (line 8)`, plan.ErrReference},
		{"var before save", head + "steps:\n  - id: a\n    pre: [{value: \"${vars.x}\"}]\n  - id: b\n    pre: [{value: true, save: x}]\n", `t.yaml:6:20: ${vars.x} is used before it is saved (saved at line 8)`, plan.ErrReference},
		{"unknown output", head + "steps:\n  - id: a\n    action: log\n    with: {message: x}\n  - id: b\n    action: log\n    with: {message: \"${steps.a.outputs.mesage}\"}\n", `t.yaml:10:22: ${steps.a.outputs.mesage}: action "log" has no output "mesage" (outputs: message) (did you mean "message"?)`, plan.ErrReference},
		{"duplicate id", head + "steps:\n  - id: a\n    action: log\n    with: {message: x}\n  - id: a\n    action: log\n    with: {message: y}\n", `t.yaml:8:5: duplicate step id "a" (first at line 5)`, plan.ErrDuplicateID},
		{"bad pattern", head + "steps:\n  - id: a\n    pre: [{value: x, expect: {matches: \"([a-z\"}}]\n", `t.yaml:6:40: matches: "([a-z" does not compile`, plan.ErrPattern},
		{"bad param pattern", head + "params:\n  p: {pattern: \"(\"}\nsteps:\n  - id: a\n    pre: [{value: true}]\n", `t.yaml:5:16: param "p": pattern "(" does not compile`, plan.ErrPattern},
		{"default of wrong type", head + "params:\n  n: {type: integer, default: abc}\nsteps:\n  - id: a\n    pre: [{value: true}]\n", `t.yaml:5:31: param "n": default want an integer, got string "abc"`, plan.ErrType},
		{"when not boolean", head + "params:\n  mode: {type: string}\nsteps:\n  - id: a\n    when: ${params.mode}\n    pre: [{value: true}]\n", `t.yaml:8:11: when: ${params.mode} is a param of type string, not boolean`, plan.ErrType},
		{"when text", head + "steps:\n  - id: a\n    when: \"yes ${params.x}\"\n    pre: [{value: true}]\n", `t.yaml:6:11: when: "yes ${params.x}" is text`, plan.ErrType},
		{"unknown action", head + "steps:\n  - id: a\n    action: lgo\n", `t.yaml:6:13: unknown action "lgo" (did you mean "log"?)`, plan.ErrUnknown},
		{"probe as action", head + "steps:\n  - id: a\n    action: value\n", `t.yaml:6:13: "value" is a probe, not an action`, plan.ErrUnknown},
		{"unknown probe", head + "steps:\n  - id: a\n    pre: [{probe: htp}]\n", `t.yaml:6:19: unknown probe "htp" (did you mean "http"?)`, plan.ErrUnknown},
		{"bad argument", head + "steps:\n  - id: a\n    action: log\n    with: {mesage: hi}\n", `t.yaml:7:12: action "log": unknown key "mesage"`, plan.ErrArgs},
		{"missing argument", head + "steps:\n  - id: a\n    action: exec\n", `t.yaml:6:13:`, plan.ErrArgs},
		{"duplicate key", head + "name: again\nsteps: []\n", `t.yaml:4:1: duplicate key "name" (first at line 3)`, plan.ErrSyntax},
		{"two documents", head + "steps:\n  - id: a\n    pre: [{value: true}]\n---\nname: x\n", `t.yaml:7:1: a runbook file holds one YAML document`, plan.ErrSyntax},
		{"probe and value", head + "steps:\n  - id: a\n    pre: [{probe: value, value: 1}]\n", `t.yaml:6:19:`, nil},
		{"step does nothing", head + "steps:\n  - id: a\n    title: nothing\n", `t.yaml:5:5:`, nil},
		{"wait interval over timeout", head + "steps:\n  - id: a\n    pre: [{value: true, wait: {timeout: 1s, interval: 1m}}]\n", `t.yaml:6:55: wait interval 1m0s is longer than its timeout 1s`, plan.ErrDuration},
		{"not a mapping", "- a\n- b\n", `t.yaml:1:1: a runbook is a mapping`, plan.ErrSchema},
		{"empty", "  \n", `t.yaml:1:1: runbook is empty`, plan.ErrSyntax},
		{"binary", "apiVersion: \x00\xff", `t.yaml:1:13: not a text file`, plan.ErrSyntax},
		{"NUL byte", head + "title: a\x00b\n", `t.yaml:4:9: not a text file`, plan.ErrSyntax},
		{"invalid UTF-8", head + "title: caf\xe9\n", `t.yaml:4:11: not a text file`, plan.ErrSyntax},
		{"UTF-16", "\xff\xfe" + head, `t.yaml:1:1: not a text file`, plan.ErrSyntax},
		{"byte order mark", "\ufeff" + "apiVersion: csmplan/v2\nkind: Runbook\nname: t\nsteps: [{id: a, action: log, with: {message: x}}]\n", `t.yaml:1:13: "apiVersion" must be "csmplan/v1"`, plan.ErrSchema},
		{"byte order mark and a tab", "\ufeff\tapiVersion: csmplan/v1\n", `t.yaml:1:1: a tab is not allowed`, plan.ErrSyntax},
		{"byte order mark inside", head + "\ufeffsteps: []\n", `t.yaml:4:1: unknown key "\ufeffsteps" at top level (did you mean "steps"?)`, plan.ErrSchema},
		{"invalid UTF-8 before a NUL", head + "title: é\xff\n\x00", `t.yaml:4:9: not a text file`, plan.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := plan.Parse("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; want %s", tt.want)
			}
			if p != nil {
				t.Errorf("a plan was returned with errors")
			}
			first := strings.Split(err.Error(), "\n")[0]
			if !strings.HasPrefix(first, tt.want) {
				t.Errorf("first error:\n got %s\nwant %s...\nall: %v", first, tt.want, err)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(err, %v) = false: %v", tt.kind, err)
			}
			var pe *plan.Error
			if !errors.As(err, &pe) || pe.File != "t.yaml" {
				t.Errorf("errors.As *plan.Error failed: %#v", err)
			}
		})
	}
}

func TestParseReportsEveryProblemSorted(t *testing.T) {
	t.Parallel()
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    action: lgo\n    timeout: 5 min\n  - id: a\n    action: log\n    with: {message: \"${params.x}\"}\n    on_failure: stop\n"
	_, err := plan.Parse("t.yaml", []byte(src))
	errs := plan.Errors(err)
	var lines []string
	for _, e := range errs {
		lines = append(lines, e.Pos.String())
	}
	want := []string{"6:13", "7:14", "8:5", "10:22", "11:17"}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("positions %v, want %v\n%v", lines, want, err)
	}
}

func TestRenderDrawsFrameAndSuggestion(t *testing.T) {
	t.Parallel()
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    tiemout: 5m\n    action: log\n    with: {message: x}\n"
	_, err := plan.Parse("t.yaml", []byte(src))
	var b bytes.Buffer
	plan.Render(&b, err, plan.RenderOptions{Context: 1})
	want := "t.yaml:6:5: unknown key \"tiemout\" in step\n5 |   - id: a\n6 |     tiemout: 5m\n  |     ^^^^^^^\n  = did you mean \"timeout\"?\n"
	if b.String() != want {
		t.Errorf("render:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("# a comment of 31 bytes, a line\n"), plan.MaxSize/32+1)
	_, err := plan.Parse("big.yaml", big)
	if want := "big.yaml:524289:1: runbook is larger than the limit of 16 MiB, which it passes here"; err == nil || err.Error() != want || !errors.Is(err, plan.ErrTooLarge) {
		t.Errorf("big: %v, want %s", err, want)
	}
	// Each line has ten aliases to the line before: the aliases of line 6
	// cross a million nodes at the eighth.
	bomb := "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	prev := "a"
	for i := 0; i < 9; i++ {
		name := fmt.Sprintf("b%d", i)
		bomb += fmt.Sprintf("%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	_, err = plan.Parse("bomb.yaml", []byte(bomb))
	if want := "bomb.yaml:6:38: aliases expand to more than 1000000 nodes"; err == nil || err.Error() != want || !errors.Is(err, plan.ErrTooLarge) {
		t.Errorf("billion laughs: %v, want %s", err, want)
	}
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	_, err = plan.Parse("deep.yaml", []byte("a: "+deep))
	if want := "deep.yaml:1:204: runbook is nested more than 200 levels deep"; err == nil || err.Error() != want || !errors.Is(err, plan.ErrTooLarge) {
		t.Errorf("deep nesting: %v, want %s", err, want)
	}
}

// Aliases are counted before anything walks the document: an alias inside
// its own anchor, or aliases that repeat too much, are refused at the
// alias, however the document uses them.
func TestParseAliases(t *testing.T) {
	t.Parallel()
	head := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\n"
	long := strings.Repeat("x", 1<<20)
	tests := []struct {
		name, src, want string
	}{
		{"alias inside its anchor", head + "steps:\n  - &s {id: a, action: log, with: {message: [*s]}}\n",
			`t.yaml:5:46: alias *s is inside its own anchor &s: it would repeat itself forever`},
		{"merge of its own anchor", head + "params:\n  p: &p {type: string, <<: *p}\nsteps: []\n",
			`t.yaml:5:28: alias *p is inside its own anchor &p`},
		{"list merge of its own anchor", head + "params:\n  p: &p {type: string, <<: [*p]}\nsteps: []\n",
			`t.yaml:5:29: alias *p is inside its own anchor &p`},
		{"arguments repeated", head + "steps:\n  - {id: a, action: log, with: &w {message: [" + strings.Repeat("x, ", 300000) + "x]}}\n" +
			strings.Repeat("  - {id: b, action: log, with: *w}\n", 4),
			`t.yaml:9:32: aliases expand to more than 1000000 nodes`},
		{"text repeated", head + "params:\n  p: {type: string, default: &d " + long + "}\n  q: {default: [" + strings.Repeat("*d, ", 16) + "*d]}\n",
			`t.yaml:6:81: aliases repeat more than 16 MiB of text`},
		{"list merges doubling", head + "params:\n  m0: &m0 {type: string}\n  m1: &m1 {description: d}\n" + mergeChain(2, 40),
			`t.yaml:29:19: aliases expand to more than 1000000 nodes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := plan.Parse("t.yaml", []byte(tt.src))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, plan.ErrTooLarge) {
				t.Errorf("err = %.300v\nwant %s", err, tt.want)
			}
		})
	}
}

// mergeChain returns params m<from>..m<to-1>, each merging the two before.
func mergeChain(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "  m%d: &m%d {<<: [*m%d, *m%d]}\n", i, i, i-1, i-2)
	}
	return b.String()
}

func TestCustomRegistry(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "site.deploy", Args: []byte(`{"type":"object","properties":{"env":{"enum":["prod","test"]}},"required":["env"],"additionalProperties":false}`)},
		func() actions.Action { return nil }))
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    action: site.deploy\n    with: {env: prd}\n"
	_, err := plan.Parse("t.yaml", []byte(src), plan.WithRegistry(reg))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:7:17:") || !strings.Contains(err.Error(), "prd") {
		t.Errorf("err = %v, want the bad enum value at 7:17", err)
	}
	if _, err := plan.Parse("t.yaml", []byte(strings.Replace(src, "prd", "prod", 1)), plan.WithRegistry(reg)); err != nil {
		t.Errorf("valid: %v", err)
	}
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "site.ping", Args: []byte(`{"type":"object","properties":{"target":{"type":"string"}}}`), TargetFields: []byte(`{"host":{"type":"string"}}`)},
		func() actions.Action { return nil }))
	src = "apiVersion: csmplan/v1\nkind: Runbook\nname: t\ntargets:\n  primary: {host: h}\nsteps:\n  - id: a\n    action: site.ping\n    with: {target: primay}\n"
	_, err = plan.Parse("t.yaml", []byte(src), plan.WithRegistry(reg))
	if want := `t.yaml:9:20: unknown target "primay" (targets: primary) (did you mean "primary"?)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// A problem that the schema reports is not reported again by a semantic
// check at the same place.
func TestParseOneProblemPerPlace(t *testing.T) {
	t.Parallel()
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    pre:\n      - value: 1\n        expect: {gt: [1]}\n"
	_, err := plan.Parse("t.yaml", []byte(src))
	if errs := plan.Errors(err); len(errs) != 1 || errs[0].Pos != (plan.Pos{Line: 8, Column: 22}) {
		t.Errorf("errors = %v, want one at 8:22", err)
	}
}

func TestRenderUnderlinesTheWholeValue(t *testing.T) {
	t.Parallel()
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    action: log\n    with: {message: x}\n    timeout: 10 minutes # comment\n"
	_, err := plan.Parse("t.yaml", []byte(src))
	var b bytes.Buffer
	plan.Render(&b, err, plan.RenderOptions{})
	if want := "  |              ^^^^^^^^^^\n"; !strings.Contains(b.String(), want) {
		t.Errorf("render:\n%s\nwant the underline %q", b.String(), want)
	}
}

// Old Mac line endings (CR only) count as lines, as YAML counts them.
func TestParseCROnlyLineEndings(t *testing.T) {
	t.Parallel()
	src := strings.ReplaceAll("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    tiemout: 5m\n    action: log\n    with: {message: x}\n", "\n", "\r")
	_, err := plan.Parse("t.yaml", []byte(src))
	var b bytes.Buffer
	plan.Render(&b, err, plan.RenderOptions{})
	if want := "t.yaml:6:5: unknown key \"tiemout\" in step\n6 |     tiemout: 5m\n"; !strings.HasPrefix(b.String(), want) {
		t.Errorf("render:\n%q\nwant prefix %q", b.String(), want)
	}
}

// A runbook written as one line shows, in a frame, only the part of the
// line around the culprit.
func TestRenderCutsLongLines(t *testing.T) {
	t.Parallel()
	var steps []string
	for i := 0; i < 100; i++ {
		steps = append(steps, fmt.Sprintf(`{"id": "s%d", "action": "log", "with": {"message": "x"}}`, i))
	}
	src := `{"apiVersion": "csmplan/v1", "kind": "Runbook", "name": "t", "steps": [` + strings.Join(steps, ", ") + `, {"id": "b", "actoin": "log"}]}` + "\n"
	_, err := plan.Parse("t.yaml", []byte(src))
	var b bytes.Buffer
	plan.Render(&b, err, plan.RenderOptions{})
	lines := strings.Split(b.String(), "\n")
	want := fmt.Sprintf("t.yaml:1:%d: unknown key \"actoin\" in step", strings.Index(src, `"actoin"`)+1)
	if len(lines) < 3 || !strings.HasPrefix(lines[0], want) {
		t.Fatalf("render:\n%s", b.String())
	}
	frame, underline := lines[1], lines[2]
	if n := utf8.RuneCountInString(frame); n > 130 {
		t.Errorf("frame line of %d runes: %q", n, frame)
	}
	if !strings.HasPrefix(frame, "1 | …") || !strings.HasSuffix(frame, `"actoin": "log"}]}`) {
		t.Errorf("frame = %q, want the end of the line after an ellipsis", frame)
	}
	at := strings.Index(underline, "^")
	if got := string([]rune(frame)[utf8.RuneCountInString(underline[:at]):]); !strings.HasPrefix(got, `"actoin"`) || !strings.HasSuffix(underline, "^^^^^^^^") {
		t.Errorf("the underline points at %q:\n%s\n%s", got, frame, underline)
	}
}

// Every bad reference is reported; suggestions stop once the load has
// spent its budget on them, so that many bad references to many names do
// not cost their product.
func TestParseSuggestionsWithinBudget(t *testing.T) {
	t.Parallel()
	const n = 2000
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nparams:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  param%04d: {type: string}\n", i)
	}
	b.WriteString("steps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {id: s%d, action: log, with: {message: \"${params.parma%04d}\"}}\n", i, i)
	}
	_, err := plan.Parse("t.yaml", []byte(b.String()))
	errs := plan.Errors(err)
	if len(errs) != n {
		t.Fatalf("%d problems, want %d", len(errs), n)
	}
	if first := errs[0]; first.Suggestion != "param0000" {
		t.Errorf("first problem: %v, want the suggestion param0000", first)
	}
	if last := errs[n-1]; last.Suggestion != "" || !strings.Contains(last.Msg, `unknown param "parma1999"`) {
		t.Errorf("last problem: %v, want it without a suggestion", last)
	}
}

// A message lists at most ten names.
func TestParseUnknownTargetListsTenTargets(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "site.ping", Args: []byte(`{"type":"object","properties":{"target":{"type":"string"}}}`), TargetFields: []byte(`{"host":{"type":"string"}}`)},
		func() actions.Action { return nil }))
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\ntargets:\n"
	for i := 11; i >= 0; i-- {
		src += fmt.Sprintf("  t%02d: {host: h}\n", i)
	}
	src += "steps:\n  - id: a\n    action: site.ping\n    with: {target: t0}\n"
	_, err := plan.Parse("t.yaml", []byte(src), plan.WithRegistry(reg))
	want := `t.yaml:20:20: unknown target "t0" (targets: t00, t01, t02, t03, t04, t05, t06, t07, t08, t09 and 2 more) (did you mean "t00"?)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// A list given as text, such as on a command line, is refused if its
// aliases repeat too much, like a runbook.
func TestConvertRefusesAliasBombs(t *testing.T) {
	t.Parallel()
	bomb := "[&a [x,x,x,x,x,x,x,x,x,x]"
	prev := "a"
	for i := 0; i < 9; i++ {
		name := fmt.Sprintf("b%d", i)
		bomb += fmt.Sprintf(", &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]", name, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	bomb += "]"
	p := &plan.Param{Name: "l", Type: plan.TypeList}
	if _, err := p.Convert(bomb); err == nil || !strings.HasSuffix(err.Error(), ": aliases expand to more than 1000000 nodes") {
		t.Errorf("Convert = %.200v, want the aliases refused", err)
	}
	if v, err := p.Convert("[&a [1, 2], *a]"); err != nil || fmt.Sprint(v) != "[[1 2] [1 2]]" {
		t.Errorf("Convert = %v, %v", v, err)
	}
}

// yaml.v3 reports a bad indentation at the start of the block it was in,
// which may be far above the culprit; the loader still finds the culprit,
// however far below and however large the runbook.
func TestParseLocatesSyntaxErrorsFarBelowTheirBlock(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "  - id: s%d\n    action: log\n    with: {message: x}\n", i)
	}
	b.WriteString("  - id: z\n    action: log\n    with:\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, "      k%d: x\n", i)
	}
	b.WriteString("     bad: x\n")
	_, err := plan.Parse("t.yaml", []byte(b.String()))
	if want := "t.yaml:1408:6: bad indentation"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want %s...", err, want)
	}
}

// A list with very many items that do not fit the schema is reported in
// short: the problems of the first thousand, then how many more there are.
func TestParseReportsAFloodOfSchemaProblemsInShort(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n")
	for i := 0; i < 1200; i++ {
		fmt.Fprintf(&b, "  - {id: s%d, actoin: log}\n", i)
	}
	_, err := plan.Parse("t.yaml", []byte(b.String()))
	errs := plan.Errors(err)
	if len(errs) != 1001 {
		t.Fatalf("%d problems, want 1001", len(errs))
	}
	last := errs[1000]
	if want := `t.yaml:1005:5: 200 more items of "steps" do not fit the schema: only the problems of the first 1000 that do not fit are shown`; last.Error() != want || !errors.Is(last, plan.ErrSchema) {
		t.Errorf("last problem = %v, want %s", last, want)
	}
}

// Merge keys apply in the runbook as the schema applies them: the
// mapping's own keys win, then the merged ones. (They used to be dropped
// from steps silently.)
func TestParseMergeKeys(t *testing.T) {
	t.Parallel()
	src := `apiVersion: csmplan/v1
kind: Runbook
name: merges
steps:
  - &base {id: z, action: log, with: &args {message: from args, level: warn}}
  - {<<: *base, id: a}
  - <<: [*base]
    id: b
    with: {<<: *args, message: own}
`
	p, err := plan.Parse("m.yaml", []byte(src), plan.WithRegistry(actions.Default()))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if a := p.Step("a"); a == nil || a.Action != "log" || a.With == nil {
		t.Fatalf("step a = %+v, want the merged action and with", a)
	}
	with, _ := p.Step("b").With.Static()
	if m, _ := with.(map[string]any); m["message"] != "own" || m["level"] != "warn" {
		t.Errorf("step b with = %v, want its own message and the merged level", with)
	}
}

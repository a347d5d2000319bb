package schema

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

const execArgs = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["argv"],
  "properties": {
    "argv": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "Program and arguments."},
    "env": {"type": "object", "additionalProperties": {"type": "string"}},
    "dir": {"$ref": "#/$defs/path"},
    "check": {"type": "boolean"}
  },
  "$defs": {"path": {"type": "string", "minLength": 1}}
}`

const haArgs = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["target"],
  "properties": {"target": {"type": "string"}}
}`

func noop() actions.Action {
	return actions.ActionFunc(func(context.Context, *actions.Call) (actions.Outputs, error) { return nil, nil })
}

func testRegistry(t testing.TB) *actions.Registry {
	t.Helper()
	reg := actions.NewRegistry()
	for _, err := range []error{
		reg.RegisterAction(actions.Spec{Name: "exec", Summary: "Run a program.", Args: json.RawMessage(execArgs)}, noop),
		reg.RegisterAction(actions.Spec{Name: "log", Summary: "Log a message."}, noop),
		reg.RegisterProbe(actions.Spec{Name: "csm.ha", Summary: "HA status.", Args: json.RawMessage(haArgs)}, func() actions.Probe {
			return actions.ProbeFunc(func(context.Context, *actions.Call) (any, error) { return nil, nil })
		}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func TestValidateAgainst(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	s, ok := reg.ArgsSchema(actions.KindAction, "exec")
	if !ok {
		t.Fatal("no exec schema")
	}
	tests := []struct {
		name string
		src  string // the value of `with:`
		want []Problem
	}{
		{"valid", `{argv: [ls, -l], env: {A: b}, dir: /tmp}`, nil},
		{"reference in place of a list", `{argv: "${params.cmd}"}`, nil},
		{"reference in place of a boolean", `{argv: [ls], check: "${params.check}"}`, nil},
		{"reference inside a longer string", `{argv: [ls], check: "x ${params.check} y"}`, nil},
		{"escaped dollar is no reference", `{argv: [ls], check: "$${params.check}"}`, []Problem{
			{1, 21, `argument of "exec": "check" must be a boolean, got string "$${params.check}"`, "", "/check"},
		}},
		{"wrong item type", `{argv: [ls, 3]}`, []Problem{
			{1, 13, `argument of "exec": "argv[1]" must be a string, got integer 3`, "", "/argv/1"},
		}},
		{"wrong type", `{argv: ls}`, []Problem{
			{1, 8, `argument of "exec": "argv" must be a list, got string "ls"`, "", "/argv"},
		}},
		{"unknown argument", `{agrv: [ls]}`, []Problem{
			{1, 2, `argument of "exec": unknown key "agrv"`, "argv", "/agrv"},
		}},
		{"missing argument", `{dir: /tmp}`, []Problem{
			{1, 2, `argument of "exec" is missing required key "argv"`, "", ""},
		}},
		{"not a mapping", `[ls]`, []Problem{
			{1, 1, `argument of "exec" must be a mapping, got a list`, "", ""},
		}},
		{"additional properties schema", `{argv: [ls], env: {A: "${params.a}", B: 3}}`, []Problem{
			{1, 41, `argument of "exec": "B" must be a string, got integer 3`, "", "/env/B"},
		}},
		{"through a $ref", `{argv: [ls], dir: ""}`, []Problem{
			{1, 19, `argument of "exec": "dir" must be at least 1 character long, got 0`, "", "/dir"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := parse(t, []byte(tt.src))
			got := ValidateAgainst(s, root, `argument of "exec"`)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateAgainst(%s) (-want +got):\n%s", tt.src, diff)
			}
		})
	}
	t.Run("absent arguments", func(t *testing.T) {
		t.Parallel()
		want := []Problem{{0, 0, `argument of "exec" is missing required key "argv"`, "", ""}}
		if diff := cmp.Diff(want, ValidateAgainst(s, nil, `argument of "exec"`)); diff != "" {
			t.Errorf("ValidateAgainst(nil) (-want +got):\n%s", diff)
		}
	})
	t.Run("no prefix", func(t *testing.T) {
		t.Parallel()
		got := ValidateAgainst(s, parse(t, []byte(`{argv: ls}`)), "")
		want := []Problem{{1, 8, `"argv" must be a list, got string "ls"`, "", "/argv"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ValidateAgainst() (-want +got):\n%s", diff)
		}
	})
}

func TestFullCompilesAsDraft2020(t *testing.T) {
	t.Parallel()
	full, err := Full(testRegistry(t))
	if err != nil {
		t.Fatalf("Full() error = %v", err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("full.json", bytes.NewReader(full)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("full.json"); err != nil {
		t.Fatalf("Full() does not compile: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(full, &doc); err != nil {
		t.Fatal(err)
	}
	defs := doc["$defs"].(map[string]any)
	for _, key := range []string{"action:exec", "action:log", "probe:csm.ha"} {
		if _, ok := defs[key]; !ok {
			t.Errorf("$defs has no %q", key)
		}
	}
	// An empty registry gives the plain schema plus nothing that breaks it.
	plain, err := Full(actions.NewRegistry())
	if err != nil {
		t.Fatalf("Full(empty) error = %v", err)
	}
	if _, err := Compile("plain.json", plain); err != nil {
		t.Fatalf("Full(empty) does not compile: %v", err)
	}
}

// runbookWith returns a runbook whose only step is body (indented 4).
func runbookWith(body string) string {
	return head + "params:\n  cmd: {type: list}\nsteps:\n  - id: one\n" + body
}

func TestFullChecksArguments(t *testing.T) {
	t.Parallel()
	full, err := Full(testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile("full.json", full)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		body  string
		valid bool
		want  string // the first message, when invalid
	}{
		{"valid arguments", "    action: exec\n    with: {argv: [ls]}\n", true, ""},
		{"reference in place of an array", "    action: exec\n    with: {argv: \"${params.cmd}\"}\n", true, ""},
		{"reference in place of a boolean", "    action: exec\n    with: {argv: [ls], check: \"${steps.x.outputs.ok}\"}\n", true, ""},
		{"reference in place of an embedded $ref", "    action: exec\n    with: {argv: [ls], dir: \"${params.dir}\", env: \"${params.env}\"}\n", true, ""},
		{"reference in a map value", "    action: exec\n    with: {argv: [ls], env: {A: \"${params.a}\"}}\n", true, ""},
		{"wrong argument type", "    action: exec\n    with: {argv: 3}\n", false, `"argv" must be a list, got integer 3`},
		{"plain string in place of an array", "    action: exec\n    with: {argv: ls}\n", false, `"argv" must be a list, got string "ls"`},
		{"unknown argument", "    action: exec\n    with: {agrv: [ls]}\n", false, `unknown key "agrv" in "with"`},
		{"missing arguments", "    action: exec\n", false, `step is missing required key "with"`},
		{"arguments to an action that takes none", "    action: log\n    with: {message: hi}\n", false, `unknown key "message" in "with"`},
		{"unknown action", "    action: nope\n", false, `"action" must be one of exec, log, got "nope"`},
		{"probe arguments", "    pre:\n      - probe: csm.ha\n        with: {taget: primary}\n        expect: {equals: 1}\n", false, `unknown key "taget" in "with"`},
		{"undo arguments", "    action: log\n    undo: {action: exec, with: {argv: [1]}}\n", false, `"argv[0]" must be a string, got integer 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := parse(t, []byte(runbookWith(tt.body)))
			err := slowCheck(t, s, root)
			if tt.valid {
				if err != nil {
					t.Errorf("full schema rejects a valid runbook: %v", err)
				}
				if !fastValid(s, root) {
					t.Error("fast path rejects a valid runbook")
				}
				if ps := ValidateAgainst(s, root, ""); ps != nil {
					t.Errorf("ValidateAgainst() = %v, want none", ps)
				}
				return
			}
			if err == nil {
				t.Fatal("full schema accepts an invalid runbook")
			}
			ps := ValidateAgainst(s, root, "")
			if len(ps) == 0 || ps[0].Message != tt.want {
				t.Errorf("ValidateAgainst() = %v, want first message %q", ps, tt.want)
			}
			// The plain runbook schema does not check arguments.
			if strings.Contains(tt.name, "argument") && !strings.Contains(tt.name, "missing") {
				if ps := Validate(root); ps != nil {
					t.Errorf("Validate() = %v, want none: arguments are checked elsewhere", ps)
				}
			}
		})
	}
}

func TestValidateAgainstGenericSchemas(t *testing.T) {
	t.Parallel()
	s, err := Compile("generic.json", []byte(`{
  "type": "object",
  "propertyNames": {"maxLength": 6},
  "properties": {
    "mode": {"oneOf": [{"const": "fast"}, {"const": "slow"}]},
    "size": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]+[kM]$"}]},
    "list": {"type": "array", "prefixItems": [{"type": "string"}], "items": false},
    "name": {"type": "string", "maxLength": 3},
    "opts": {"type": "object", "properties": {"a": {"type": "integer"}}, "unevaluatedProperties": false},
    "tags": {"type": "array", "uniqueItems": true},
    "flag": {"not": {"const": true}}
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	list, err := Compile("list.json", []byte(`{"type": "array", "items": {"type": "string"}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		schema *jsonschema.Schema
		src    string
		want   []Problem
	}{
		{"no alternative fits", s, `{mode: medium}`, []Problem{{1, 8, `x: "mode" must be one of fast, slow, got "medium"`, "", "/mode"}}},
		{"close to an alternative", s, `{mode: slwo}`, []Problem{{1, 8, `x: "mode" must be one of fast, slow, got "slwo"`, "slow", "/mode"}}},
		{"the integer alternative", s, `{size: 0}`, []Problem{{1, 8, `x: "size" must be at least 1, got 0`, "", "/size"}}},
		{"the string alternative", s, `{size: 12x}`, []Problem{{1, 8, `x: "size": "12x" does not match the pattern ^[0-9]+[kM]$`, "", "/size"}}},
		{"no type fits", s, `{size: true}`, []Problem{{1, 8, `x: "size" must be an integer or a string, got boolean true`, "", "/size"}}},
		{"too many items", s, `{list: [a, b]}`, []Problem{{1, 12, `x: "list[1]" is not allowed here`, "", "/list/1"}}},
		{"too long", s, `{name: abcd}`, []Problem{{1, 8, `x: "name" must be at most 3 characters long, got 4`, "", "/name"}}},
		{"unevaluated property", s, `{opts: {a: 1, bb: 2}}`, []Problem{{1, 15, `x: unknown key "bb" in "opts"`, "", "/opts/bb"}}},
		{"repeated item", s, `{tags: [x, x]}`, []Problem{{1, 8, `x: "tags" must not hold the same item twice`, "", "/tags"}}},
		{"not", s, `{flag: true}`, []Problem{{1, 8, `x: "flag": true is not allowed`, "", "/flag"}}},
		{"long key", s, `{longname: "${params.x}"}`, []Problem{{1, 2, `x: key "longname" is too long (at most 6 characters)`, "", "/longname"}}},
		{"list root", list, `[a, 3]`, []Problem{{1, 5, `x: "[1]" must be a string, got integer 3`, "", "/1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ValidateAgainst(tt.schema, parse(t, []byte(tt.src)), "x")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateAgainst(%s) (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

// targetRegistry declares target fields as the built-in exec (host, ssh)
// and the CSM plugin (port, password, ...) do.
func targetRegistry(t testing.TB) *actions.Registry {
	t.Helper()
	reg := actions.NewRegistry()
	for _, err := range []error{
		reg.RegisterAction(actions.Spec{Name: "exec", TargetFields: actions.RemoteTargetFields}, noop),
		reg.RegisterProbe(actions.Spec{Name: "site.api", TargetFields: json.RawMessage(`{
  "host": {"description": "Host name or address.", "type": "string"},
  "port": {"type": ["integer", "string"], "minimum": 1, "maximum": 65535, "pattern": "^\\$\\{[^}]+\\}$"},
  "password": {"type": "string", "writeOnly": true},
  "tls": {"$ref": "#/$defs/tls", "$defs": {"tls": {"type": "object", "additionalProperties": false, "properties": {"ca_file": {"type": "string"}}}}}
}`)}, func() actions.Probe {
			return actions.ProbeFunc(func(context.Context, *actions.Call) (any, error) { return nil, nil })
		}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// Full closes targets to the fields the registry declares, as loading a
// runbook does (against Registry.TargetSchema): both accept and refuse the
// same targets.
func TestFullChecksTargetFields(t *testing.T) {
	t.Parallel()
	reg := targetRegistry(t)
	full, err := Full(reg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile("full.json", full)
	if err != nil {
		t.Fatal(err)
	}
	loader, err := reg.TargetSchema()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target string
		want   []Problem // of the whole runbook; nil: valid
	}{
		{"declared fields", `{host: h, port: 9559, password: pw, ssh: {user: root, port: 22}, tls: {ca_file: ca.pem}}`, nil},
		{"references", `{host: "${params.h}", port: "${params.port}", ssh: "${params.ssh}", tls: {ca_file: "${params.ca}"}}`, nil},
		{"no fields", `{}`, nil},
		{"unknown field", `{hots: h, port: 1}`, []Problem{{5, 8, `unknown key "hots" in target`, "host", "/targets/db/hots"}}},
		{"unknown field in ssh", `{host: h, ssh: {usr: root}}`, []Problem{{5, 23, `unknown key "usr" in ssh`, "user", "/targets/db/ssh/usr"}}},
		{"unknown field through a $ref", `{tls: {cafile: x}}`, []Problem{{5, 14, `unknown key "cafile" in "tls"`, "ca_file", "/targets/db/tls/cafile"}}},
		{"port neither integer nor reference", `{host: h, port: high}`, []Problem{{5, 23, `"port" must be an integer or a reference such as "${params.port}", got string "high"`, "", "/targets/db/port"}}},
		{"port out of range", `{host: h, port: 70000}`, []Problem{{5, 23, `"port" must be at most 65535, got 70000`, "", "/targets/db/port"}}},
		{"secret value not shown", `{host: h, password: 12345}`, []Problem{{5, 27, `"password" must be a string, got an integer (not shown)`, "", "/targets/db/password"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := parse(t, []byte(head+"targets:\n  db: "+tt.target+"\nsteps:\n  - id: one\n    action: exec\n"))
			if ps := Validate(root); ps != nil {
				t.Errorf("Validate() = %v: the runbook schema leaves target fields open", ps)
			}
			got := ValidateAgainst(s, root, "")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateAgainst(Full) (-want +got):\n%s", diff)
			}
			// The loader checks the target alone, against the registry.
			_, db := findTarget(t, root)
			fromLoader := ValidateAgainst(loader, db, "")
			if (len(fromLoader) == 0) != (tt.want == nil) {
				t.Errorf("the loader and Full disagree: loader %v, Full %v", fromLoader, got)
			}
			for i := range fromLoader {
				if i < len(got) && (fromLoader[i].Message != got[i].Message || fromLoader[i].Line != got[i].Line || fromLoader[i].Column != got[i].Column) {
					t.Errorf("loader says %v, Full says %v", fromLoader[i], got[i])
				}
			}
			if tt.want == nil && !fastValid(s, root) {
				t.Error("fast path rejects a valid runbook")
			}
		})
	}
	// A registry that declares no field accepts targets without any.
	empty, err := Full(actions.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	es, err := Compile("empty.json", empty)
	if err != nil {
		t.Fatal(err)
	}
	root := parse(t, []byte(head+"targets:\n  db: {host: h}\n  none: {}\nsteps:\n  - id: one\n    action: log\n"))
	want := []Problem{{5, 8, `unknown key "host" in target`, "", "/targets/db/host"}}
	if diff := cmp.Diff(want, ValidateAgainst(es, root, "")); diff != "" {
		t.Errorf("ValidateAgainst(Full(empty)) (-want +got):\n%s", diff)
	}
}

// findTarget returns the key and value nodes of the target db.
func findTarget(t testing.TB, root *yaml.Node) (*yaml.Node, *yaml.Node) {
	t.Helper()
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "targets" {
			continue
		}
		ts := root.Content[i+1]
		for j := 0; j+1 < len(ts.Content); j += 2 {
			if ts.Content[j].Value == "db" {
				return ts.Content[j], ts.Content[j+1]
			}
		}
	}
	t.Fatal("no target db")
	return nil, nil
}

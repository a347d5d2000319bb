package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/actions"
)

// head is the start of every test runbook: lines 1 to 3.
const head = "apiVersion: csmplan/v1\nkind: Runbook\nname: demo\n"

// planted holds small runbooks, each with planted structural problems.
var planted = []struct {
	name string
	src  string
	want []Problem
}{{
	name: "unknown key at top level",
	src:  head + "titel: Demo\nsteps:\n  - id: one\n    action: log\n",
	want: []Problem{{4, 1, `unknown key "titel" at top level`, "title", "/titel"}},
}, {
	name: "unknown key in step",
	src:  head + "steps:\n  - id: one\n    action: log\n    tiemout: 5m\n",
	want: []Problem{{7, 5, `unknown key "tiemout" in step`, "timeout", "/steps/0/tiemout"}},
}, {
	name: "unknown key in condition",
	src:  head + "steps:\n  - id: one\n    pre:\n      - probe: csm.ha\n        expcet: {path: role, equals: Active}\n",
	want: []Problem{{8, 9, `unknown key "expcet" in condition`, "expect", "/steps/0/pre/0/expcet"}},
}, {
	name: "unknown key in expect",
	src:  head + "steps:\n  - id: one\n    post:\n      - value: ${vars.x}\n        expect: {path: role, equal: Active}\n",
	want: []Problem{{8, 30, `unknown key "equal" in expect`, "equals", "/steps/0/post/0/expect/equal"}},
}, {
	name: "misspelt required key is reported once",
	src:  head + "steps:\n  - idd: one\n    action: log\n",
	want: []Problem{{5, 5, `unknown key "idd" in step`, "id", "/steps/0/idd"}},
}, {
	name: "wrong type",
	src:  head + "steps:\n  - id: one\n    action: log\n    retry: {attempts: three}\n",
	want: []Problem{{7, 23, `"attempts" must be an integer, got string "three"`, "", "/steps/0/retry/attempts"}},
}, {
	name: "wrong type of a mapping",
	src:  head + "steps:\n  - id: one\n    action: log\n    with: [a, b]\n",
	want: []Problem{{7, 11, `"with" must be a mapping, got a list`, "", "/steps/0/with"}},
}, {
	name: "wrong type among several",
	src:  head + "steps:\n  - id: one\n    action: log\n    when: [a]\n",
	want: []Problem{{7, 11, `"when" must be a boolean, a string or a mapping, got a list`, "", "/steps/0/when"}},
}, {
	name: "bad enum with suggestion",
	src:  head + "steps:\n  - id: one\n    action: log\n    on_failure: abrot\n",
	want: []Problem{{7, 17, `"on_failure" must be one of abort, continue, rollback, got "abrot"`, "abort", "/steps/0/on_failure"}},
}, {
	name: "bad enum without suggestion",
	src:  head + "steps:\n  - id: one\n    action: log\n    on_failure: stop\n",
	want: []Problem{{7, 17, `"on_failure" must be one of abort, continue, rollback, got "stop"`, "", "/steps/0/on_failure"}},
}, {
	name: "bad const",
	src:  "apiVersion: csmplan/v2\nkind: Runbook\nname: demo\nsteps:\n  - id: one\n    action: log\n",
	want: []Problem{{1, 13, `"apiVersion" must be "csmplan/v1", got "csmplan/v2"`, "csmplan/v1", "/apiVersion"}},
}, {
	name: "missing required key in a list item",
	src:  head + "steps:\n  - title: no id\n    action: log\n",
	want: []Problem{{5, 5, `step is missing required key "id"`, "", "/steps/0"}},
}, {
	name: "missing required key under a key",
	src:  head + "steps:\n  - id: one\n    pre:\n      - value: 1\n        expect: {equals: 1}\n        wait: {interval: 5s}\n",
	want: []Problem{{9, 9, `wait is missing required key "timeout"`, "", "/steps/0/pre/0/wait"}},
}, {
	name: "missing required key at top level",
	src:  head,
	want: []Problem{{1, 1, `runbook is missing required key "steps"`, "", ""}},
}, {
	name: "bad duration",
	src:  head + "steps:\n  - id: one\n    action: log\n    timeout: 10 minutes\n",
	want: []Problem{{7, 14, `"timeout": "10 minutes" is not a duration (use Go syntax such as 30s, 10m, 1h30m)`, "", "/steps/0/timeout"}},
}, {
	name: "number as duration",
	src:  head + "defaults: {interval: 30}\nsteps:\n  - id: one\n    action: log\n",
	want: []Problem{{4, 22, `"interval": 30 is not a duration (use Go syntax such as 30s, 10m, 1h30m)`, "", "/defaults/interval"}},
}, {
	name: "probe and value together",
	src:  head + "steps:\n  - id: one\n    pre:\n      - probe: csm.ha\n        value: 1\n        expect: {equals: 1}\n",
	want: []Problem{{8, 9, `a condition needs exactly one of "probe" or "value", not both`, "", "/steps/0/pre/0/value"}},
}, {
	name: "neither probe nor value",
	src:  head + "steps:\n  - id: one\n    pre:\n      - expect: {equals: 1}\n",
	want: []Problem{{7, 9, `a condition needs exactly one of "probe" or "value"`, "", "/steps/0/pre/0"}},
}, {
	name: "with without probe",
	src:  head + "steps:\n  - id: one\n    pre:\n      - value: 1\n        with: {a: 1}\n        expect: {equals: 1}\n",
	want: []Problem{{8, 9, `"with" is only allowed together with "probe"`, "", "/steps/0/pre/0/with"}},
}, {
	name: "expect without matcher",
	src:  head + "steps:\n  - id: one\n    pre:\n      - probe: csm.ha\n        expect: {path: role}\n",
	want: []Problem{{8, 9, `an expect needs at least one of "all", "any", "contains", "empty", "equals", "gt", "gte", "in", "lt", "lte", "matches", "none", "not_equals" or "not_in"`, "", "/steps/0/pre/0/expect"}},
}, {
	name: "wait in a when condition",
	src:  head + "steps:\n  - id: one\n    action: log\n    when: {value: true, wait: {timeout: 1m}}\n",
	want: []Problem{{7, 25, `"wait" is not allowed in when condition`, "", "/steps/0/when/wait"}},
}, {
	name: "step without action, pre or post",
	src:  head + "steps:\n  - id: one\n    title: nothing\n",
	want: []Problem{{5, 5, `a step needs at least one of "action", "pre" or "post"`, "", "/steps/0"}},
}, {
	name: "target that is no mapping",
	src:  head + "targets:\n  db: h\nsteps:\n  - id: one\n    action: log\n",
	want: []Problem{{5, 7, `"db" must be a mapping, got string "h"`, "", "/targets/db"}},
}, {
	name: "bad target name",
	src:  head + "targets:\n  1db: {host: h}\nsteps:\n  - id: one\n    action: log\n",
	want: []Problem{{5, 3, `"1db" is not a valid name in targets (use letters, digits, '_' and '-', starting with a letter or '_')`, "", "/targets/1db"}},
}, {
	name: "bad parameter name",
	src:  head + "params:\n  my-param: {type: string}\nsteps:\n  - id: one\n    action: log\n",
	want: []Problem{{5, 3, `"my-param" is not a valid name in params (use letters, digits and '_', not starting with a digit)`, "", "/params/my-param"}},
}, {
	name: "bad parameter type",
	src:  head + "params:\n  port: {type: integr}\nsteps:\n  - id: one\n    action: log\n",
	want: []Problem{{5, 16, `"type" must be one of string, integer, number, boolean, duration, list, object, got "integr"`, "integer", "/params/port/type"}},
}, {
	name: "bad action name",
	src:  head + "steps:\n  - id: one\n    action: Csm.Takeover\n",
	want: []Problem{{6, 13, `"action": "Csm.Takeover" is not a valid name (use dotted lower-case words, such as csm.takeover)`, "", "/steps/0/action"}},
}, {
	name: "bad runbook name",
	src:  "apiVersion: csmplan/v1\nkind: Runbook\nname: My Runbook\nsteps:\n  - id: one\n    action: log\n",
	want: []Problem{{3, 7, `"name": "My Runbook" is not a valid runbook name (use lower-case words joined by '-', such as csm-upgrade)`, "", "/name"}},
}, {
	name: "no steps",
	src:  head + "steps: []\n",
	want: []Problem{{4, 8, `"steps" must have at least 1 item, got 0`, "", "/steps"}},
}, {
	name: "not a mapping",
	src:  "- a\n- b\n",
	want: []Problem{{1, 1, `runbook must be a mapping, got a list`, "", ""}},
}, {
	name: "duplicate key",
	src:  head + "steps:\n  - id: one\n    action: log\n    action: exec\n",
	want: []Problem{{7, 5, `duplicate key "action" (first at line 6)`, "", ""}},
}, {
	name: "several problems sorted by position",
	src:  head + "steps:\n  - id: one\n    action: log\n    retry: {attempts: 0, backoff: 0.5}\n  - id: two\n    action: log\n    timout: 1m\n",
	want: []Problem{
		{7, 23, `"attempts" must be at least 1, got 0`, "", "/steps/0/retry/attempts"},
		{7, 35, `"backoff" must be at least 1, got 0.5`, "", "/steps/0/retry/backoff"},
		{10, 5, `unknown key "timout" in step`, "timeout", "/steps/1/timout"},
	},
}, {
	name: "merged keys are checked where they are written",
	src:  head + "x-base: &base {action: log, tiemout: 1m}\nsteps:\n  - id: one\n    <<: *base\n",
	want: []Problem{
		{4, 1, `unknown key "x-base" at top level`, "", "/x-base"},
		{4, 29, `unknown key "tiemout" in step`, "timeout", "/steps/0/tiemout"},
	},
}}

func TestValidateReportsPlantedProblems(t *testing.T) {
	t.Parallel()
	for _, tt := range planted {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Validate(parse(t, []byte(tt.src)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate() problems (-want +got):\n%s\nsource:\n%s", diff, tt.src)
			}
			for _, p := range got {
				if strings.Contains(p.Message, "I[#") || strings.Contains(p.Message, "S[#") || strings.Contains(p.Message, "jsonschema") {
					t.Errorf("message leaks the validator's internals: %q", p.Message)
				}
			}
		})
	}
}

func TestValidateAcceptsTheDesignExample(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/design-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	if ps := Validate(doc.Content[0]); ps != nil {
		t.Errorf("Validate(design example) = %v, want no problems", ps)
	}
	// The document node itself is accepted too.
	if ps := Validate(&doc); ps != nil {
		t.Errorf("Validate(document node) = %v, want no problems", ps)
	}
	// And the slow path agrees.
	if err := slowCheck(t, mustRunbook(t), doc.Content[0]); err != nil {
		t.Errorf("jsonschema rejects the design example: %v", err)
	}
}

// withReferences is a valid runbook with references where values are typed.
const withReferences = head + `params:
  port: {type: integer, default: 22}
targets:
  db:
    host: ${params.host}
    port: ${params.port}
    insecure: ${params.insecure}
    ssh: {port: "${params.port}", agent: "${params.agent}"}
defaults: {timeout: "${params.timeout}", interval: 1h30m, retry: {attempts: 2, interval: 500ms, max_interval: 1.5m}}
steps:
  - id: one
    when: true
    post:
      - value: ${vars.x}
        expect: {in: "${params.allowed}", empty: "${params.empty}", gte: 6.3.10.1, lt: 7}
      - value: [1, 2]
        expect: {all: {gt: 0}, any: {equals: 2}, none: {lt: 0}, not_in: [[3]]}
        title: all positive
        save: pair
`

func TestValidateAcceptsReferencesWhereValuesAreTyped(t *testing.T) {
	t.Parallel()
	if ps := Validate(parse(t, []byte(withReferences))); ps != nil {
		t.Errorf("Validate() = %v, want no problems", ps)
	}
}

// The fields of a target are those the registered actions and probes
// declare: the runbook schema leaves them to the loader and to Full.
func TestValidateLeavesTargetFieldsOpen(t *testing.T) {
	t.Parallel()
	src := head + "targets:\n  api: {url: https://api.example.com, token: t}\n  db: {host: h, port: high}\nsteps:\n  - id: one\n    action: log\n"
	if ps := Validate(parse(t, []byte(src))); ps != nil {
		t.Errorf("Validate() = %v, want no problems", ps)
	}
}

func TestValidateEmpty(t *testing.T) {
	t.Parallel()
	want := []Problem{{Line: 1, Column: 1, Message: "runbook is empty: want a mapping with apiVersion, kind, name and steps"}}
	if diff := cmp.Diff(want, Validate(nil)); diff != "" {
		t.Errorf("Validate(nil) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, Validate(&yaml.Node{Kind: yaml.DocumentNode})); diff != "" {
		t.Errorf("Validate(empty document) (-want +got):\n%s", diff)
	}
}

func TestRunbookSchemaCompilesAsDraft2020(t *testing.T) {
	t.Parallel()
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("runbook.json", bytes.NewReader(Runbook())); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("runbook.json"); err != nil {
		t.Fatalf("Runbook() does not compile: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(Runbook(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", doc["$schema"])
	}
	for _, def := range []string{"step", "condition", "expect", "wait", "retry", "duration", "param", "target"} {
		if _, ok := doc["$defs"].(map[string]any)[def]; !ok {
			t.Errorf("$defs has no %q", def)
		}
	}
}

func TestRunbookReturnsACopy(t *testing.T) {
	t.Parallel()
	b := Runbook()
	b[0] = 'X'
	if Runbook()[0] != '{' {
		t.Error("modifying the result of Runbook() changed the schema")
	}
}

// TestRunbookSchemaIsStrictAndDocumented checks that every object with
// fixed keys refuses others and that every property has a description.
func TestRunbookSchemaIsStrictAndDocumented(t *testing.T) {
	t.Parallel()
	var doc any
	if err := json.Unmarshal(Runbook(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				allFalse := true
				for name, p := range props {
					pm, ok := p.(map[string]any)
					if !ok {
						continue // false: a key refused in this context
					}
					allFalse = false
					if d, _ := pm["description"].(string); d == "" {
						t.Errorf("%s/properties/%s has no description", path, name)
					}
				}
				_, hasRef := v["$ref"]
				if ap, ok := v["additionalProperties"]; !allFalse && !hasRef && (!ok || ap != false) {
					t.Errorf("%s has fixed properties but allows others", path)
				}
			}
			for k, sub := range v {
				walk(path+"/"+k, sub)
			}
		case []any:
			for _, sub := range v {
				walk(path+"/[]", sub)
			}
		}
	}
	walk("#", doc)
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	keys := []string{"id", "title", "doc", "when", "pre", "action", "with", "timeout", "retry", "post", "undo", "on_failure"}
	tests := []struct {
		word string
		want string
	}{
		{"tiemout", "timeout"}, // transposition counts one edit
		{"timout", "timeout"},
		{"TimeOut", "timeout"}, // case-insensitive
		{"acton", "action"},
		{"wiht", "with"},
		{"idd", "id"},
		{"i", "id"},
		{"onfailure", "on_failure"},
		{"xyz", ""},
		{"timeoutxxxx", ""}, // 4 edits for 11 letters: too far
		{"posts", "post"},
		{"", ""},
		{"timeout", ""}, // already valid
	}
	for _, tt := range tests {
		if got := Suggest(tt.word, keys); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
	if got := Suggest("stop", []string{"abort", "continue", "rollback"}); got != "" {
		t.Errorf(`Suggest("stop") = %q, want ""`, got)
	}
}

func TestProblemError(t *testing.T) {
	t.Parallel()
	p := Problem{Line: 3, Column: 7, Message: "boom"}
	if got := p.Error(); got != "3:7: boom" {
		t.Errorf("Error() = %q", got)
	}
}

func mustRunbook(t testing.TB) *jsonschema.Schema {
	t.Helper()
	s, err := runbookSchema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// slowCheck validates with jsonschema alone, the reference.
func slowCheck(t testing.TB, s *jsonschema.Schema, n *yaml.Node) error {
	t.Helper()
	v, err := ToValue(n)
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// The runbook schema's duration pattern is actions.DurationPattern, the
// one copy the argument schemas use.
func TestDurationPatternIsOne(t *testing.T) {
	t.Parallel()
	raw := string(Runbook())
	want, _ := json.Marshal(actions.DurationPattern)
	if !strings.Contains(raw, `"pattern": `+string(want)) {
		t.Errorf("runbook.schema.json's duration pattern is not actions.DurationPattern %s", want)
	}
}

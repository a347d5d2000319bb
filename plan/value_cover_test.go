package plan_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/plan"
)

func TestNewValueIsStatic(t *testing.T) {
	t.Parallel()
	v := plan.NewValue(map[string]any{"a": []any{int64(1), "${params.not_a_ref}"}})
	if !v.IsStatic() || len(v.Refs()) != 0 {
		t.Errorf("NewValue holds references: %v", v.Refs())
	}
	got, ok := v.Static()
	if !ok || !reflect.DeepEqual(got, v.Raw()) {
		t.Errorf("Static = %#v, %v; want the value as given", got, ok)
	}
	resolved, err := v.Eval(func(*plan.Ref) (any, error) { return nil, errors.New("no reference to resolve") })
	if err != nil || !reflect.DeepEqual(resolved, got) {
		t.Errorf("Eval of a static value = %#v, %v", resolved, err)
	}
	var none *plan.Value
	if s, ok := none.Static(); !ok || s != nil || !none.IsStatic() || none.Raw() != nil || none.Refs() != nil {
		t.Errorf("a nil value: Static %v %v, IsStatic %v, Raw %v", s, ok, none.IsStatic(), none.Raw())
	}
	if r, err := none.Eval(nil); r != nil || err != nil {
		t.Errorf("Eval of a nil value = %v, %v", r, err)
	}
}

// TestValueWithReferences evaluates a value holding references in lists
// and maps, whole and inside strings.
func TestValueWithReferences(t *testing.T) {
	t.Parallel()
	src := `apiVersion: csmplan/v1
kind: Runbook
name: refs
params:
  n: {type: integer, default: 3}
  hosts: {type: list, default: [a, b]}
steps:
  - id: a
    pre:
      - value:
          message: "n=${params.n}, hosts=${params.hosts}, first=${params.hosts[0]}"
          nested: {list: ["${params.n}", literal, 7]}
        expect: {path: message, matches: "^n="}
`
	p, err := plan.Parse("refs.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	with := p.Steps[0].Pre[0].Value
	if with.IsStatic() || len(with.Refs()) != 4 {
		t.Fatalf("refs = %v, want 4", with.Refs())
	}
	if _, ok := with.Static(); ok {
		t.Error("Static of a value with references")
	}
	params := map[string]any{"n": int64(3), "hosts": []any{"a", "b"}}
	resolve := func(r *plan.Ref) (any, error) { return r.Path.Select(params[r.Name]) }
	got, err := with.Eval(resolve)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"message": `n=3, hosts=["a","b"], first=a`,
		// A string that is only a reference keeps the type of its value.
		"nested": map[string]any{"list": []any{int64(3), "literal", int64(7)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Eval = %#v, want %#v", got, want)
	}
	raw := with.Raw().(map[string]any)
	if raw["message"] != "n=${params.n}, hosts=${params.hosts}, first=${params.hosts[0]}" || !reflect.DeepEqual(raw["nested"], map[string]any{"list": []any{"${params.n}", "literal", int64(7)}}) {
		t.Errorf("Raw = %#v, want the references as written", raw)
	}
	boom := errors.New("unbound")
	if _, err := with.Eval(func(*plan.Ref) (any, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("Eval with a failing resolver: %v, want its error", err)
	}
	if refs := with.Refs(); refs[0].String() != "${params.n}" || refs[0].Pos.Line != 11 {
		t.Errorf("first ref %v at %v, want ${params.n} on line 11", refs[0], refs[0].Pos)
	}
}

type stringer struct{}

func (stringer) String() string { return "from String" }

func TestFormatBriefTypeName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300)
	for _, tt := range []struct {
		v                  any
		format, brief, typ string
	}{
		{nil, "", "null", "null"},
		{"s", "s", `"s"`, "string"},
		{true, "true", "true", "boolean"},
		{7, "7", "7", "integer"},
		{int64(-7), "-7", "-7", "integer"},
		{uint8(7), "7", "7", "integer"},
		{2.5, "2.5", "2.5", "number"},
		{float32(1), "1", "1", "number"},
		{[]any{int64(1), "a"}, `[1,"a"]`, `[1,"a"]`, "list"},
		{map[string]any{"b": nil, "a": 1}, `{"a":1,"b":null}`, `{"a":1,"b":null}`, "object"},
		{stringer{}, "from String", "from String", "plan_test.stringer"},
		{long, long, `"` + long[:196] + "...", "string"},
		{make(chan int), "", "", "chan int"},
	} {
		if tt.format != "" || tt.v == nil {
			if got := plan.Format(tt.v); got != tt.format {
				t.Errorf("Format(%#v) = %q, want %q", tt.v, got, tt.format)
			}
		}
		if tt.brief != "" {
			if got := plan.Brief(tt.v); got != tt.brief {
				t.Errorf("Brief(%#v) = %q, want %q", tt.v, got, tt.brief)
			}
		}
		if got := plan.TypeName(tt.v); got != tt.typ {
			t.Errorf("TypeName(%#v) = %q, want %q", tt.v, got, tt.typ)
		}
	}
	// What JSON cannot encode is still formatted.
	if got := plan.Format(make(chan int)); !strings.HasPrefix(got, "0x") {
		t.Errorf("Format(chan) = %q, want its fmt form", got)
	}
	if got := plan.Brief(strings.Repeat("é", 150)); len(got) != 200 || !strings.HasSuffix(got, "...") {
		t.Errorf("Brief of a long text is %d bytes, want 200 ending in ...", len(got))
	}
}

func TestPaths(t *testing.T) {
	t.Parallel()
	doc := map[string]any{
		"items": []any{
			map[string]any{"state": "Prepared", "name": "s1"},
			map[string]any{"state": "Suspended", "name": "s2"},
		},
		"a b": "spaced",
		"n":   int64(1),
	}
	for _, tt := range []struct {
		path, written string
		want          any
		err           string
	}{
		{"", "", doc, ""},
		{"items[*].state", "items[*].state", []any{"Prepared", "Suspended"}, ""},
		{".items[1].name", "items[1].name", "s2", ""},
		{`["a b"]`, "a b", "spaced", ""},
		{"items[ 0 ]", "items[0]", doc["items"].([]any)[0], ""},
		{"items[2]", "items[2]", nil, "items[2]: index out of range (length 2)"},
		{"items[*].size", "items[*].size", nil, `[0]size: no key "size" (keys: name, state)`},
		{"missing", "missing", nil, `missing: no key "missing" (keys: a b, items, n)`},
		{"n.x", "n.x", nil, "n.x: want an object, got integer"},
		{"n[0]", "n[0]", nil, "n[0]: want a list, got integer"},
		{"n[*]", "n[*]", nil, "n[*]: want a list, got integer"},
	} {
		p, err := plan.ParsePath(tt.path)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.path, err)
			continue
		}
		if got := p.String(); got != tt.written {
			t.Errorf("ParsePath(%q).String() = %q, want %q", tt.path, got, tt.written)
		}
		got, err := p.Select(doc)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Select %q: %v, want error %q", tt.path, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Select %q = %#v, %v; want %#v", tt.path, got, err, tt.want)
		}
	}
	for path, want := range map[string]string{
		"a.":     "want a name after '.'",
		"a[0":    "unclosed '['",
		"a[x]":   `[x] is not an index: want [0], [*] or ["key"]`,
		"a[-1]":  "[-1] is not an index",
		"a b":    `unexpected " "`,
		"!":      `unexpected "!"`,
		"[0]...": "want a name after '.'",
	} {
		if _, err := plan.ParsePath(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePath(%q): %v, want an error with %q", path, err, want)
		}
	}
}

func TestParseRef(t *testing.T) {
	t.Parallel()
	r, err := plan.ParseRef("${ steps.backup.outputs.file[0].name }")
	if err != nil {
		t.Fatal(err)
	}
	if r.Scope != plan.ScopeSteps || r.Name != "backup" || r.Output != "file" || r.Path.String() != "[0].name" {
		t.Errorf("ref = %+v", r)
	}
	for src, want := range map[string]string{
		"params.x":               "is not a reference: want ${...}",
		"${params}":              "want ${params.NAME}",
		"${vars.}":               "want ${vars.NAME}",
		"${steps}":               "want ${steps.ID.outputs.NAME}",
		"${steps.a.output.x}":    "want ${steps.a.outputs.NAME}",
		"${steps.a.outputs.}":    "want ${steps.a.outputs.NAME}",
		"${env.HOME}":            `unknown scope "env": want params, vars or steps`,
		"${params.a[}":           "unclosed '['",
		"${vars.v[\"unclosed]}":  "is not an index",
		"${params.p.q.}":         "want a name after '.'",
		"${steps.a.outputs.o!}":  `unexpected "!"`,
		"${params.p extra}":      `unexpected " "`,
		"${vars.s[0]x}":          `unexpected "x"`,
		"${steps.a.outputs.b.c}": "",
	} {
		_, err := plan.ParseRef(src)
		if want == "" {
			if err != nil {
				t.Errorf("ParseRef(%q): %v", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRef(%q): %v, want an error with %q", src, err, want)
		}
	}
}

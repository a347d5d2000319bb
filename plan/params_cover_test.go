package plan_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/plan"
)

func TestParamConvert(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		typ  plan.ParamType
		in   any
		want any
		err  string // a part of the error, "" for none
	}{
		{plan.TypeString, "x", "x", ""},
		{"", "untyped is a string", "untyped is a string", ""},
		{plan.TypeString, int64(1), nil, "want a string, got integer 1"},
		{plan.TypeInteger, " 42 ", int64(42), ""},
		{plan.TypeInteger, 7, int64(7), ""},
		{plan.TypeInteger, 4.0, int64(4), ""},
		{plan.TypeInteger, 4.5, nil, "want an integer, got number 4.5"},
		{plan.TypeInteger, "4x2", nil, `"4x2" is not an integer`},
		{plan.TypeNumber, "2.5", 2.5, ""},
		{plan.TypeNumber, 3, int64(3), ""},
		{plan.TypeNumber, "many", nil, `"many" is not a number`},
		{plan.TypeNumber, true, nil, "want a number, got boolean true"},
		{plan.TypeBoolean, "true", true, ""},
		{plan.TypeBoolean, " false", false, ""},
		{plan.TypeBoolean, "yes", nil, `"yes" is not a boolean: want true or false`},
		{plan.TypeDuration, "1h30m", "1h30m", ""},
		{plan.TypeDuration, "10 minutes", nil, `"10 minutes" is not a duration`},
		{plan.TypeDuration, int64(10), nil, "want a duration such as 30s or 10m, got integer 10"},
		{plan.TypeList, `[1, "a", 2.5]`, []any{int64(1), "a", 2.5}, ""},
		{plan.TypeList, "[a, {b: 2}]", []any{"a", map[string]any{"b": int64(2)}}, ""},
		{plan.TypeList, "{k: v}", nil, "want a list, got object"},
		{plan.TypeList, "[", nil, "write it as JSON or YAML flow syntax such as [a, b]"},
		{plan.TypeList, "", nil, "write it as JSON or YAML flow syntax such as [a, b]"},
		{plan.TypeObject, `{"k": [1]}`, map[string]any{"k": []any{int64(1)}}, ""},
		{plan.TypeObject, "{k: v, n: 1}", map[string]any{"k": "v", "n": int64(1)}, ""},
		{plan.TypeObject, "{k: v", nil, "is not an object: write it as JSON or YAML flow syntax such as {key: value}"},
		{plan.TypeObject, map[string]any{"a": true}, map[string]any{"a": true}, ""},
		{"color", "red", nil, `unknown type "color"`},
	} {
		p := &plan.Param{Name: "p", Type: tt.typ}
		got, err := p.Convert(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s param: Convert(%#v): %v", tt.typ, tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s param: Convert(%#v) = %#v, %v; want an error with %q", tt.typ, tt.in, got, err, tt.err)
		case tt.err == "" && !reflect.DeepEqual(got, tt.want):
			t.Errorf("%s param: Convert(%#v) = %#v (%T), want %#v (%T)", tt.typ, tt.in, got, got, tt.want, tt.want)
		}
	}
}

func TestParamCheckEnumAndPattern(t *testing.T) {
	t.Parallel()
	level := &plan.Param{Name: "level", Type: plan.TypeInteger, Enum: []any{int64(1), int64(2)}}
	if err := level.Check(2.0); err != nil {
		t.Errorf("2.0 is 2 for an integer enum: %v", err)
	}
	if err := level.Check(int64(3)); err == nil || err.Error() != "3 is not one of 1, 2" {
		t.Errorf("3 for enum [1, 2]: %v", err)
	}
	mode := &plan.Param{Name: "mode", Enum: []any{"fast", "slow"}}
	if err := mode.Check("fast"); err != nil {
		t.Errorf("fast for enum [fast, slow]: %v", err)
	}
	if err := mode.Check("quick"); err == nil || err.Error() != `"quick" is not one of fast, slow` {
		t.Errorf("quick for enum [fast, slow]: %v", err)
	}
	host := &plan.Param{Name: "host", Pattern: regexp.MustCompile(`^[a-z0-9.]+$`)}
	if err := host.Check("csm1.example.com"); err != nil {
		t.Errorf("a host that matches: %v", err)
	}
	if err := host.Check("csm1;reboot"); err == nil || !strings.Contains(err.Error(), `"csm1;reboot" does not match the pattern ^[a-z0-9.]+$`) {
		t.Errorf("a host that does not match: %v", err)
	}
	if _, err := host.Convert("csm1;reboot"); err == nil {
		t.Error("Convert does not check the pattern")
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	var decoded any
	if err := json.Unmarshal([]byte(`{"n": 3, "f": 2.5, "list": [1, {"m": 4}], "s": "x", "b": true, "z": null}`), &decoded); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"n": int64(3), "f": 2.5, "list": []any{int64(1), map[string]any{"m": int64(4)}}, "s": "x", "b": true, "z": nil}
	if got := plan.Normalize(decoded); !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize = %#v, want %#v", got, want)
	}
	if got := plan.Normalize(5); got != int64(5) {
		t.Errorf("Normalize(int 5) = %#v, want int64(5)", got)
	}
}

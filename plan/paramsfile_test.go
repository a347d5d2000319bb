package plan_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/plan"
)

func TestParseParams(t *testing.T) {
	t.Parallel()
	f, err := plan.ParseParams("p.yaml", []byte("# site\nprimary: csm1\nport:   9559\ninstaller: [/opt/setup.bin, -i]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"primary": "csm1", "port": int64(9559), "installer": []any{"/opt/setup.bin", "-i"}}
	if diff := cmp.Diff(want, f.Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if !f.Has("port") || f.Has("nope") {
		t.Error("Has")
	}
	if got := f.Problem("port", plan.ErrType, "param port: wrong").Error(); got != "p.yaml:3:9: param port: wrong" {
		t.Errorf("type problem = %q", got)
	}
	p := f.Problem("primary", plan.ErrUnknownParam, "param primary: unknown")
	if got := p.Error(); got != "p.yaml:2:1: param primary: unknown" || !errors.Is(p, plan.ErrUnknownParam) {
		t.Errorf("unknown problem = %q", got)
	}
	for _, src := range []string{"", "# nothing\n", "~\n"} {
		if f, err := plan.ParseParams("e.yaml", []byte(src)); err != nil || len(f.Values) != 0 {
			t.Errorf("%q: %v, %v", src, f, err)
		}
	}
	for src, want := range map[string]string{
		"a: [1\n":               "bad.yaml:1:4: unclosed '['",
		"- a\n":                 "bad.yaml:1:1: want a mapping of param names to values (name: value), got a list",
		"a: 1\na: 2\n":          "bad.yaml:2:1: param a is given twice (first at line 1)",
		"a: 1\n---\nb: 2\n":     "bad.yaml:2:1: a params file holds one YAML document; a second one starts here",
		"[a]: 1\n":              "bad.yaml:1:1: want a param name here, got a list",
		"a: !!int x\n":          "bad.yaml:1:4: param a: ",
		"b: &x 1\n<<: {c: 2}\n": "bad.yaml:2:1: want a param name here",
	} {
		_, err := plan.ParseParams("bad.yaml", []byte(src))
		errs := plan.Errors(err)
		if len(errs) != 1 || len(errs[0].Error()) < len(want) || errs[0].Error()[:len(want)] != want {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

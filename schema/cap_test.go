package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

// uncut validates doc against the runbook schema as Validate does, but
// without cutting large collections.
func uncut(t *testing.T, doc *yaml.Node) []Problem {
	t.Helper()
	s, err := runbookSchema()
	if err != nil {
		t.Fatal(err)
	}
	m := &mapper{schema: s, rootName: "runbook", root: doc.Content[0]}
	v, err := ToValue(doc)
	if err != nil {
		t.Fatal(err)
	}
	var ve *jsonschema.ValidationError
	if !errors.As(s.Validate(v), &ve) {
		return nil
	}
	m.collect(ve)
	return finish(m.out)
}

// Past maxInvalidItems items that do not fit, the rest of a large
// collection is not given to the validator: one problem says how many more
// do not fit, and every other problem is one the whole document has.
func TestValidateCutsLargeCollections(t *testing.T) {
	t.Parallel()
	head := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\n"
	repeat := func(format string, n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	tests := []struct {
		name, src string
		shown     int // problems shown besides the last one
		last      Problem
	}{
		{"steps", head + "steps:\n" + repeat("  - {id: s%d, actoin: log}\n", 1500), 1000,
			Problem{Line: 1005, Column: 5, Pointer: "/steps/1000", Message: `500 more items of "steps" do not fit the schema: only the problems of the first 1000 that do not fit are shown`}},
		{"preconditions of one step", head + "steps:\n  - id: a\n    pre:\n" + repeat("      - {valeu: %d}\n", 1500), 999,
			Problem{Line: 1006, Column: 9, Pointer: "/steps/0/pre/999", Message: `501 more items of "steps[0].pre" do not fit the schema: only the problems of the first 1000 that do not fit are shown`}},
		{"params then steps", head + "params:\n" + repeat("  p%d: {type: strin}\n", 600) + "steps:\n" + repeat("  - {id: s%d, actoin: log}\n", 600), 1000,
			Problem{Line: 1006, Column: 5, Pointer: "/steps/400", Message: `200 more items of "steps" do not fit the schema: only the problems of the first 1000 that do not fit are shown`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
				t.Fatal(err)
			}
			got := Validate(&doc)
			var last Problem
			var shown []Problem
			for _, p := range got {
				if strings.Contains(p.Message, " more items of ") {
					last = p
					continue
				}
				shown = append(shown, p)
			}
			if len(shown) != tt.shown {
				t.Errorf("%d problems besides the last, want %d", len(shown), tt.shown)
			}
			if diff := cmp.Diff(tt.last, last); diff != "" {
				t.Errorf("the problem about the rest (-want +got):\n%s", diff)
			}
			all := uncut(t, &doc)
			if diff := cmp.Diff(all[:len(shown)], shown); diff != "" {
				t.Errorf("the problems shown are not the first of the whole document's (-whole +shown):\n%s", diff)
			}
		})
	}
}

// A mapping with merge keys is not cut: an entry cut off might be one that
// overrides a merged one.
func TestValidateDoesNotCutMappingsWithMerges(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nx-base: &base {type: string}\nparams:\n  <<: {q: *base}\n")
	for i := 0; i < 1200; i++ {
		fmt.Fprintf(&b, "  p%d: {type: strin}\n", i)
	}
	b.WriteString("steps: [{id: a, action: log}]\n")
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	got := Validate(&doc)
	n := 0
	for _, p := range got {
		if strings.Contains(p.Message, `"type" must be one of`) {
			n++
		}
	}
	if n != 1200 {
		t.Errorf("%d problems about types, want all 1200", n)
	}
}

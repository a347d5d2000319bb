package plan_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/schema"
)

func TestParseDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		kind      error
		want      string
	}{
		{"empty", " \n", plan.ErrSyntax, "f.yaml:1:1: fleet file is empty: want a mapping"},
		{"binary", "a: \x00\n", plan.ErrSyntax, "f.yaml:1:4: not a text file: invalid UTF-8 or a NUL byte here"},
		{"syntax", "a: [\n", plan.ErrSyntax, "f.yaml:"},
		{"two documents", "a: 1\n---\nb: 2\n", plan.ErrSyntax, "f.yaml:2:1: a fleet file holds one YAML document"},
		{"not a mapping", "[1]\n", plan.ErrSchema, "f.yaml:1:1: a fleet file is a mapping; got a list"},
		{"duplicate key", "a: 1\na: 2\n", plan.ErrSyntax, `f.yaml:2:1: duplicate key "a" (first at line 1)`},
		{"too large", "a: " + strings.Repeat("x", plan.MaxSize), plan.ErrTooLarge, "f.yaml:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := plan.ParseDocument("f.yaml", []byte(tt.src), "fleet file")
			err := doc.Err()
			if doc.Root != nil || !errors.Is(err, tt.kind) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("root %v, error %v: want %v, %s...", doc.Root, err, tt.kind, tt.want)
			}
		})
	}
}

func TestDocumentProblems(t *testing.T) {
	t.Parallel()
	src := "base: &b {x: 1}\nm:\n  <<: *b\n  y: [1, 2]\n"
	doc := plan.ParseDocument("f.yaml", []byte(src), "fleet file")
	if doc.Root == nil || doc.Err() != nil {
		t.Fatalf("root %v, error %v", doc.Root, doc.Err())
	}
	var got []string
	plan.Pairs(doc.Root, func(k, v *yaml.Node) {
		if k.Value != "m" {
			return
		}
		plan.Pairs(v, func(k, v *yaml.Node) {
			got = append(got, fmt.Sprintf("%s@%s=%s", k.Value, plan.NodePos(k), plan.NodeKind(v)))
			if items := plan.Items(v); k.Value == "y" && len(items) != 2 {
				t.Errorf("items of y: %v", items)
			}
		})
	})
	if strings.Join(got, " ") != `y@4:3=a list x@1:11=the scalar "1"` {
		t.Errorf("pairs: %v", got)
	}
	if plan.Items(doc.Root) != nil {
		t.Error("items of a mapping")
	}
	doc.Add(plan.ErrReference, plan.Pos{Line: 4, Column: 3}, 1, "x", "late %s", "problem")
	doc.AddSoft(plan.ErrType, plan.Pos{Line: 2, Column: 1}, 0, "dropped: the schema says it")
	doc.AddSoft(plan.ErrType, plan.Pos{Line: 1, Column: 1}, 0, "kept")
	doc.AddSchema([]schema.Problem{{Line: 2, Column: 1, Message: "schema problem", Suggestion: "n"}})
	errs := plan.Errors(doc.Err())
	var lines []string
	for _, e := range errs {
		lines = append(lines, e.Error())
	}
	want := `f.yaml:1:1: kept|f.yaml:2:1: schema problem (did you mean "n"?)|f.yaml:4:3: late problem (did you mean "x"?)`
	if strings.Join(lines, "|") != want {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(lines, "|"), want)
	}
	var b strings.Builder
	plan.Render(&b, doc.Err(), plan.RenderOptions{})
	if !strings.Contains(b.String(), "4 |   y: [1, 2]") {
		t.Errorf("render:\n%s", b.String())
	}
}

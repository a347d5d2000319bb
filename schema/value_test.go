package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func TestToValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want any
	}{{
		name: "scalars by tag",
		src: `{s: abc, q: "3", i: 3, neg: -7, f: 2.5, e: 1e3, b: true, B: FALSE, n: null, t: ~, hex: 0x1F,
  under: 1_000, big: 18446744073709551615, ts: 2001-12-14, yes: yes, tagged: !!str 12, local: !vault x, 7: seven}`,
		want: map[string]any{
			"s": "abc", "q": "3", "i": int64(3), "neg": int64(-7), "f": 2.5, "e": 1000.0, "b": true, "B": false,
			"n": nil, "t": nil, "hex": int64(31), "under": int64(1000), "big": json.Number("18446744073709551615"),
			"ts": "2001-12-14", "yes": "yes", "tagged": "12", "local": "x", "7": "seven",
		},
	}, {
		name: "aliases and merge keys",
		src: `base: &b {x: 1, y: 2}
other: &o {y: 9, z: 3}
m: {<<: *b, y: 3}
ms: {<<: [*b, *o], w: 0}
l: [*b, *b]`,
		want: map[string]any{
			"base":  map[string]any{"x": int64(1), "y": int64(2)},
			"other": map[string]any{"y": int64(9), "z": int64(3)},
			"m":     map[string]any{"x": int64(1), "y": int64(3)},
			"ms":    map[string]any{"x": int64(1), "y": int64(2), "z": int64(3), "w": int64(0)},
			"l":     []any{map[string]any{"x": int64(1), "y": int64(2)}, map[string]any{"x": int64(1), "y": int64(2)}},
		},
	}, {
		name: "empty document",
		src:  ``,
		want: nil,
	}, {
		name: "quoted merge key is a plain key",
		src:  `{"<<": 1}`,
		want: map[string]any{"<<": int64(1)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
				t.Fatal(err)
			}
			got, err := ToValue(&doc)
			if err != nil {
				t.Fatalf("ToValue() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ToValue() (-want +got):\n%s", diff)
			}
		})
	}
	if v, err := ToValue(nil); v != nil || err != nil {
		t.Errorf("ToValue(nil) = %v, %v", v, err)
	}
}

func TestToValueErrors(t *testing.T) {
	t.Parallel()
	// Ten levels of ten aliases would expand to 10^10 nodes.
	var laughs strings.Builder
	laughs.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&laughs, "l%d: &l%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				laughs.WriteString(", ")
			}
			fmt.Fprintf(&laughs, "*l%d", i-1)
		}
		laughs.WriteString("]\n")
	}
	tests := []struct {
		name string
		src  string
		want Problem
	}{
		{"duplicate key", "a: 1\nb: 2\na: 3\n", Problem{Line: 3, Column: 1, Message: `duplicate key "a" (first at line 1)`}},
		{"infinity", "a: .inf\n", Problem{Line: 1, Column: 4, Message: ".inf is not a finite number (JSON has no infinity or NaN)"}},
		{"not a number", "a: .nan\n", Problem{Line: 1, Column: 4, Message: ".nan is not a finite number (JSON has no infinity or NaN)"}},
		{"mapping as key", "? [a]\n: b\n", Problem{Line: 1, Column: 3, Message: "a mapping key must be a scalar, not a list"}},
		{"bad merge", "a: {<<: 3}\n", Problem{Line: 1, Column: 9, Message: "a merge key (<<) takes a mapping or a list of mappings"}},
		{"alias inside its own anchor", "a: &a [*a]\n", Problem{Line: 1, Column: 8, Message: "aliases nest deeper than 10000 levels (an alias inside its own anchor?)"}},
		{"merge of its own anchor", "a: &a {<<: *a}\n", Problem{Line: 1, Column: 12, Message: "merge keys nest deeper than 10000 levels (a merge of its own anchor?)"}},
		// Each level merges the two before it: the expansion doubles.
		{"list merges", listMerges(40), Problem{Line: 27, Column: 17, Message: "aliases expand to more than 1000000 nodes"}},
		// The eighth alias of l5 passes the limit.
		{"billion laughs", laughs.String(), Problem{Line: 6, Column: 45, Message: "aliases expand to more than 1000000 nodes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
				t.Fatal(err)
			}
			_, err := ToValue(&doc)
			var p Problem
			if !errors.As(err, &p) {
				t.Fatalf("ToValue() error = %v, want a Problem", err)
			}
			if diff := cmp.Diff(tt.want, p); diff != "" {
				t.Errorf("ToValue() error (-want +got):\n%s", diff)
			}
			// Validate reports the same problem instead of validating.
			if got := Validate(&doc); len(got) != 1 || got[0].Message != tt.want.Message {
				t.Errorf("Validate() = %v, want the conversion problem", got)
			}
		})
	}
}

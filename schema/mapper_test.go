package schema

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The mapper lists the keys of a mapping once, however many problems it
// locates in it, and a mapping reached again through other merges adds
// nothing: list merges that name the same mappings over and over no longer
// walk every path. (Not parallel: testing.AllocsPerRun may not be.)
func TestMapperListsEachMappingOnce(t *testing.T) {
	src := listMerges(30) + "top: {<<: *m29, own: 1, a: 0}\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0].Content[len(doc.Content[0].Content)-1]
	m := &mapper{}
	var names []string
	for _, kv := range m.mappingKeys(top) {
		names = append(names, kv.name)
	}
	if got := strings.Join(names, " "); got != "own a b" {
		t.Errorf("keys = %q, want the explicit ones first, then b merged", got)
	}
	if k, v := m.findKey(top, "a"); k == nil || k.Line != 31 || v.Value != "0" {
		t.Errorf("findKey(a) = %v, %v: want the explicit key, not the merged one", k, v)
	}
	if k, v := m.findKey(top, "b"); k == nil || k.Line != 2 || v.Value != "2" {
		t.Errorf("findKey(b) = %v, %v: want the key merged from m1", k, v)
	}
	if allocs := testing.AllocsPerRun(10, func() { m.findKey(top, "absent") }); allocs > 0 {
		t.Errorf("findKey allocates %v times once the mapping is listed", allocs)
	}
}

// A mapping with many keys and a problem under each is located in linear
// time; each problem points at its own key. Past the first thousand
// entries with a problem, one problem says how many more there are.
func TestValidateLocatesProblemsInALargeMapping(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nparams:\n")
	const n = 3000
	for i := 0; i < n; i++ {
		if i%2 == 1 {
			fmt.Fprintf(&b, "  p%d: {type: string}\n", i)
			continue
		}
		fmt.Fprintf(&b, "  p%d: {type: strin}\n", i)
	}
	b.WriteString("steps: [{id: a, action: log}]\n")
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	problems := Validate(&doc)
	if len(problems) != maxInvalidItems+1 {
		t.Fatalf("%d problems, want %d", len(problems), maxInvalidItems+1)
	}
	for i, p := range problems[:maxInvalidItems] {
		if p.Line != 5+2*i || p.Column != 13+len(fmt.Sprint(2*i)) || p.Pointer != fmt.Sprintf("/params/p%d/type", 2*i) {
			t.Fatalf("problem %d: %+v", i, p)
		}
	}
	want := Problem{Line: 5 + 2000, Column: 3, Pointer: "/params/p2000",
		Message: `500 more entries of "params" do not fit the schema: only the problems of the first 1000 that do not fit are shown`}
	if got := problems[maxInvalidItems]; got != want {
		t.Errorf("last problem = %+v\nwant %+v", got, want)
	}
}

// listMerges returns a chain of n mappings, each merging the two before it
// through a list merge.
func listMerges(n int) string {
	var b strings.Builder
	b.WriteString("m0: &m0 {a: 1}\nm1: &m1 {b: 2}\n")
	for i := 2; i < n; i++ {
		fmt.Fprintf(&b, "m%d: &m%d {<<: [*m%d, *m%d]}\n", i, i, i-1, i-2)
	}
	return b.String()
}

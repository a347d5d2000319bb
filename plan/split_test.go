package plan

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func bigRunbook(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: big\n# a comment\nparams:\n  host: {type: string, default: h}\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  # step %d\n  - id: s%d\n    doc: |\n      line one\n      - not an item\n    pre: [{value: \"${params.host}\", expect: {path: \"[*]\", equals: h}}]\n    action: log\n    with:\n      message: \"step %d\"\n", i, i, i)
	}
	b.WriteString("defaults: {timeout: 1m}\n")
	return []byte(b.String())
}

// TestParseSplitMatchesWhole checks that the parallel parse of a large
// document gives the same node tree, positions included, as yaml.v3 alone.
func TestParseSplitMatchesWhole(t *testing.T) {
	t.Parallel()
	src := bigRunbook(3000)
	if len(src) < splitMin {
		t.Fatalf("test runbook too small: %d bytes", len(src))
	}
	split := parseSplit(src)
	if split == nil {
		t.Skip("GOMAXPROCS is 1: the document is parsed whole")
	}
	var whole yaml.Node
	if err := yaml.Unmarshal(src, &whole); err != nil {
		t.Fatal(err)
	}
	var diff func(a, b *yaml.Node, path string) string
	diff = func(a, b *yaml.Node, path string) string {
		if a.Kind != b.Kind || a.Value != b.Value || a.Tag != b.Tag || a.Line != b.Line || a.Column != b.Column || len(a.Content) != len(b.Content) {
			return fmt.Sprintf("%s: split %d %q %d:%d (%d children), whole %d %q %d:%d (%d children)", path, a.Kind, a.Value, a.Line, a.Column, len(a.Content), b.Kind, b.Value, b.Line, b.Column, len(b.Content))
		}
		for i := range a.Content {
			if d := diff(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if d := diff(split, &whole, ""); d != "" {
		t.Fatal(d)
	}
	// A problem deep in a large file is reported at its true line.
	bad := strings.Replace(string(src), "    action: log\n    with:\n      message: \"step 2500\"", "    actoin: log\n    with:\n      message: \"step 2500\"", 1)
	line := strings.Count(bad[:strings.Index(bad, "actoin")], "\n") + 1
	_, err := Parse("big.yaml", []byte(bad))
	if want := fmt.Sprintf("big.yaml:%d:5: unknown key \"actoin\" in step", line); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestParseSplitGivesUp(t *testing.T) {
	t.Parallel()
	src := string(bigRunbook(3000))
	for name, s := range map[string]string{
		"anchor":          strings.Replace(src, "doc: |", "doc: &d |", 1),
		"second document": src + "---\na: 1\n",
		"tab":             strings.Replace(src, "# a comment", "#\ta comment", 1),
		"small":           string(bigRunbook(10)),
	} {
		if parseSplit([]byte(s)) != nil {
			t.Errorf("%s: split, want a whole parse", name)
		}
	}
}

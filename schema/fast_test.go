package schema

import (
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

// withAliases is a valid runbook that reuses values through aliases.
const withAliases = head + `steps:
  - id: one
    action: log
    retry: &r {attempts: 3, interval: 10s}
    post: &checks
      - value: 1
        expect: {equals: 1}
  - id: two
    action: log
    retry: *r
    post: *checks
`

// corpus returns the sources the fast path is compared on.
func corpus(t testing.TB) []string {
	t.Helper()
	design, err := os.ReadFile("testdata/design-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srcs := []string{string(design), withReferences, withAliases}
	for _, p := range planted {
		srcs = append(srcs, p.src)
	}
	return srcs
}

// agree checks that the fast path says "valid" exactly when jsonschema
// does, or, when exact is false (merge keys), never says it wrongly.
func agree(t *testing.T, s *jsonschema.Schema, root *yaml.Node, exact bool) {
	t.Helper()
	fast := fastValid(s, root)
	slow := slowCheck(t, s, root) == nil
	if fast && !slow || exact && fast != slow {
		out, _ := yaml.Marshal(root)
		t.Errorf("fast path says valid=%v, jsonschema says valid=%v, for:\n%s", fast, slow, out)
	}
}

func hasMerge(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if isMerge(n.Content[i]) {
				return true
			}
		}
	}
	for _, c := range n.Content {
		if hasMerge(c) {
			return true
		}
	}
	return false
}

func allNodes(n *yaml.Node, out []*yaml.Node) []*yaml.Node {
	out = append(out, n)
	for _, c := range n.Content {
		out = allNodes(c, out)
	}
	return out
}

// scalarVariants replace scalars in the mutation test: values of every
// type, valid and invalid durations, names and references.
var scalarVariants = []string{"", "x", "3", "-1", "0", "2.5", "1e400", "true", "null", "10 minutes", "5m",
	"${params.x}", "csmplan/v1", "Runbook", "abort", "A.b", "65536", "id", "probe", "value"}

// TestFastPathAgreesWithJSONSchema compares the fast path with the
// jsonschema validator on the corpus and on thousands of mutations of the
// design example: each scalar replaced, each key removed, each node
// replaced by an empty mapping, an empty list or null.
func TestFastPathAgreesWithJSONSchema(t *testing.T) {
	t.Parallel()
	full, err := Full(testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	fullSchema, err := Compile("full.json", full)
	if err != nil {
		t.Fatal(err)
	}
	schemas := []*jsonschema.Schema{mustRunbook(t), fullSchema}
	for _, src := range corpus(t) {
		root := parse(t, []byte(src))
		for _, s := range schemas {
			agree(t, s, root, !hasMerge(root))
		}
	}
	design := corpus(t)[0]
	count := len(allNodes(parse(t, []byte(design)), nil))
	mutations := 0
	for i := 0; i < count; i++ {
		for v := 0; v < len(scalarVariants)+6; v++ {
			root := parse(t, []byte(design))
			n := allNodes(root, nil)[i]
			if !mutate(n, v) {
				continue
			}
			mutations++
			for _, s := range schemas {
				agree(t, s, root, true)
			}
		}
	}
	if mutations < 1000 {
		t.Errorf("only %d mutations tried", mutations)
	}
}

// mutate applies variant v to n, reporting whether it applied.
func mutate(n *yaml.Node, v int) bool {
	if v < len(scalarVariants) {
		if n.Kind != yaml.ScalarNode {
			return false
		}
		n.Value, n.Tag, n.Style = scalarVariants[v], "", 0
		return true
	}
	switch v - len(scalarVariants) {
	case 0: // remove the first key (or item)
		switch n.Kind {
		case yaml.MappingNode:
			if len(n.Content) < 2 {
				return false
			}
			n.Content = n.Content[2:]
		case yaml.SequenceNode:
			if len(n.Content) == 0 {
				return false
			}
			n.Content = n.Content[1:]
		default:
			return false
		}
	case 1: // remove the last key
		if n.Kind != yaml.MappingNode || len(n.Content) < 4 {
			return false
		}
		n.Content = n.Content[:len(n.Content)-2]
	case 2:
		*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	case 3:
		*n = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column}
	case 4:
		*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: n.Line, Column: n.Column}
	case 5:
		*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: "1.0", Line: n.Line, Column: n.Column}
	default:
		return false
	}
	return true
}

// A tree built in Go may hold what no parser makes, such as an alias that
// names itself: the fast path ends, unsure, where a loop over aliases
// would never end.
func TestFastPathEndsOnAliasLoops(t *testing.T) {
	t.Parallel()
	s := mustRunbook(t)
	self := &yaml.Node{Kind: yaml.AliasNode, Value: "x"}
	self.Alias = self
	root := parse(t, []byte(head+"steps: [{id: a, action: log, with: {message: x}}]\n"))
	with := root.Content[7].Content[0].Content[5]
	if with.Kind != yaml.MappingNode {
		t.Fatalf("with: got kind %v", with.Kind)
	}
	with.Content[1] = self
	if got := fastCheck(s, root); got != unsure {
		t.Errorf("an alias that names itself: the fast path says %v, want unsure", got)
	}
	root.Content[7] = self
	if got := fastCheck(s, root); got != unsure {
		t.Errorf("steps an alias that names itself: the fast path says %v, want unsure", got)
	}
}

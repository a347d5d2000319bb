package schema

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm"
	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

// The reference for a schema s and a node n is ToValue(n) followed by
// s.Validate: n is valid when both succeed, invalid otherwise (Validate
// reports ToValue's problems too). The fast path must answer as the
// reference does, or be unsure.

// reference returns the answers of the reference, converting each node
// once: a document with a long alias expansion costs its conversion once,
// not once per schema.
type reference map[*yaml.Node]converted

type converted struct {
	v   any
	err error
}

func (r reference) verdict(s *jsonschema.Schema, n *yaml.Node) verdict {
	c, ok := r[n]
	if !ok {
		c.v, c.err = ToValue(n)
		r[n] = c
	}
	if c.err != nil || s.Validate(c.v) != nil {
		return sureInvalid
	}
	return sureValid
}

// schemaPair is a node and the schema it must fit.
type schemaPair struct {
	s    *jsonschema.Schema
	n    *yaml.Node
	path string
}

// maxPairs bounds the pairs compared per document, to keep each fuzz
// iteration short.
const maxPairs = 200

// pairs returns n with s, then the nodes below n with the schemas the cutter
// checks them against (through properties, additionalProperties, items and
// prefixItems of schemas that are only a $ref or none), down to depth 6.
func pairs(s *jsonschema.Schema, n *yaml.Node, path string, depth int, out []schemaPair) []schemaPair {
	if s == nil || n == nil || len(out) >= maxPairs {
		return out
	}
	out = append(out, schemaPair{s, n, path})
	s = pureRef(s)
	if s == nil || depth == 6 {
		return out
	}
	switch n.Kind {
	case yaml.MappingNode:
		if !plainKeys(n.Content) {
			return out
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			out = pairs(childSchema(s, k), n.Content[i+1], path+"/"+k, depth+1, out)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			sub := s.Items2020
			if i < len(s.PrefixItems) {
				sub = s.PrefixItems[i]
			}
			out = pairs(sub, item, path+"/"+strconv.Itoa(i), depth+1, out)
		}
	}
	return out
}

// withNodes returns the values of every key "with" in n, aliases not
// followed, at most 16.
func withNodes(n *yaml.Node, out []*yaml.Node) []*yaml.Node {
	if n == nil || len(out) >= 16 {
		return out
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "with" {
				out = append(out, n.Content[i+1])
			}
		}
	}
	for _, c := range n.Content {
		out = withNodes(c, out)
	}
	return out
}

// fuzzSchemas are the schemas documents are compared against.
type fuzzSchemas struct {
	runbook, full *jsonschema.Schema
	keywords      *jsonschema.Schema   // keywordSchema
	args          []*jsonschema.Schema // of every built-in and CSM action and probe
}

// keywordSchema uses, on the shapes of runbooks, the keywords of the fast
// path that the runbook schema does not use, or not in these ways:
// constants and enums of every type, numeric bounds and multipleOf,
// prefixItems, not, oneOf, anyOf, patternProperties, propertyNames,
// dependentSchemas, boolean schemas.
const keywordSchema = `{
	"$schema": "https://json-schema.org/draft/2020-12/schema",
	"type": "object",
	"properties": {
		"apiVersion": {"const": "csmplan/v1"},
		"kind": {"enum": ["Runbook", 1, 2.5, null, true, {"a": 1}, [1, "x"]]},
		"name": {"type": "string", "minLength": 2, "maxLength": 12, "not": {"pattern": "^x"}},
		"title": false,
		"params": {
			"type": "object",
			"propertyNames": {"maxLength": 6, "pattern": "^[a-z_]+$"},
			"additionalProperties": {"oneOf": [{"type": "object", "maxProperties": 3}, {"type": "object", "required": ["type", "default"]}]}
		},
		"defaults": {"enum": [{"timeout": "10m", "interval": "30s"}, {"timeout": "10m", "interval": "30s", "on_failure": "abort"}, 5]},
		"steps": {
			"type": "array",
			"minItems": 1,
			"maxItems": 6,
			"prefixItems": [{"type": "object", "required": ["id"], "properties": {"id": {"enum": ["one", "a", "takeover"]}}}],
			"items": {"$ref": "#/$defs/step"}
		}
	},
	"patternProperties": {"^x-": {"type": ["integer", "null"], "minimum": -1, "exclusiveMaximum": 1e3, "multipleOf": 0.5}},
	"dependentSchemas": {"targets": {"required": ["params"]}},
	"dependentRequired": {"defaults": ["params"]},
	"$defs": {
		"step": {
			"type": "object",
			"anyOf": [{"required": ["action"]}, {"required": ["pre"]}, {"not": {"required": ["with"]}}],
			"properties": {
				"retry": {"const": {"attempts": 3, "interval": "10s"}},
				"timeout": {"type": "string", "maxLength": 3},
				"with": {"type": "object", "properties": {"argv": {"type": "array", "prefixItems": [{"const": "echo"}], "items": {"type": "string"}}}},
				"post": {"type": "array", "items": {"type": "object", "properties": {"value": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807, "multipleOf": 1}}}},
				"pre": {"type": "array", "items": true}
			}
		}
	}
}`

func newFuzzSchemas(tb testing.TB) fuzzSchemas {
	tb.Helper()
	reg := actions.NewRegistry()
	if err := actions.RegisterBuiltins(reg); err != nil {
		tb.Fatal(err)
	}
	if err := csm.Register(reg, csm.Options{}); err != nil {
		tb.Fatal(err)
	}
	full, err := Full(reg)
	if err != nil {
		tb.Fatal(err)
	}
	fs := fuzzSchemas{runbook: mustRunbook(tb)}
	if fs.full, err = Compile("full.json", full); err != nil {
		tb.Fatal(err)
	}
	if fs.keywords, err = Compile("keywords.json", []byte(keywordSchema)); err != nil {
		tb.Fatal(err)
	}
	if !supported(fs.keywords) {
		tb.Fatal("the fast path does not support keywordSchema")
	}
	for _, kind := range []actions.Kind{actions.KindAction, actions.KindProbe} {
		for _, name := range reg.Names(kind) {
			if s, ok := reg.ArgsSchema(kind, name); ok && s != nil {
				fs.args = append(fs.args, s)
			}
		}
	}
	if len(fs.args) < 10 {
		tb.Fatalf("only %d argument schemas", len(fs.args))
	}
	return fs
}

// agreeOn compares the fast path with the reference on one pair.
func agreeOn(t *testing.T, ref reference, s *jsonschema.Schema, n *yaml.Node, what string) {
	t.Helper()
	fast := fastCheck(s, n)
	if fast == unsure {
		return
	}
	if want := ref.verdict(s, n); fast != want {
		out, _ := yaml.Marshal(n)
		t.Errorf("%s: the fast path says %v, the reference says %v, for:\n%s", what, fast, want, out)
	}
}

// checkAgreement compares the fast path with the reference on root against
// the runbook schema and the full schema, on the nodes below root against
// their subschemas, and on each `with:` against every argument schema; and
// checks that Validate reports problems exactly for the documents the
// reference rejects, in words.
func checkAgreement(t *testing.T, fs fuzzSchemas, root *yaml.Node) {
	t.Helper()
	ref := reference{}
	for _, top := range []struct {
		name string
		s    *jsonschema.Schema
	}{{"runbook schema", fs.runbook}, {"full schema", fs.full}, {"keyword schema", fs.keywords}} {
		for _, p := range pairs(top.s, root, "", 0, nil) {
			agreeOn(t, ref, p.s, p.n, top.name+" at "+strconv.Quote(p.path))
		}
	}
	for _, w := range withNodes(root, nil) {
		for _, s := range fs.args {
			agreeOn(t, ref, s, w, "arguments "+s.Location)
		}
	}
	ps := Validate(root)
	if want := ref.verdict(fs.runbook, root); (len(ps) == 0) != (want == sureValid) {
		out, _ := yaml.Marshal(root)
		t.Errorf("Validate reports %d problems (%v), the reference says %v, for:\n%s", len(ps), ps, want, out)
	}
	for _, p := range ps {
		if strings.Contains(p.Message, "[I#") || strings.Contains(p.Message, "jsonschema") || p.Message == "" {
			t.Errorf("raw message %q", p.Message)
		}
	}
}

// FuzzFastPathAgrees checks that the fast path is a proven-equivalent
// subset of the reference (ToValue, then jsonschema): when it says valid
// the reference says valid, when it says invalid the reference says
// invalid, and otherwise it is unsure and defers. Each input is a document
// and edits of its tree (see edit), so that byte-level mutations also
// reach the shapes of runbooks that the fast path must get right:
// duplicate keys, merge keys and aliases (cycles too) anywhere, retagged
// scalars, subtrees moved elsewhere. The seeds are the repository's
// runbooks, the README's, the loader's fuzz corpus, the documents of this
// package's tests and small pathological ones; the documents on which the
// fast path once disagreed are kept in testdata/fuzz/FuzzFastPathAgrees.
func FuzzFastPathAgrees(f *testing.F) {
	for _, src := range fuzzSeeds(f) {
		f.Add(src, []byte(nil))
	}
	fs := newFuzzSchemas(f)
	f.Fuzz(func(t *testing.T, src string, edits []byte) {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil || len(doc.Content) == 0 {
			return
		}
		root := doc.Content[0]
		for i := 0; i+2 < len(edits) && i < 3*maxEdits; i += 3 {
			edit(root, edits[i], edits[i+1], edits[i+2])
		}
		checkAgreement(t, fs, root)
	})
}

// maxEdits bounds the edits applied to one document.
const maxEdits = 8

// treeNodes returns the nodes of the tree at n in order, through Content
// only (not into the anchors of aliases).
func treeNodes(n *yaml.Node, out []*yaml.Node) []*yaml.Node {
	out = append(out, n)
	for _, c := range n.Content {
		out = treeNodes(c, out)
	}
	return out
}

// fuzzTags are the tags edit gives scalars.
var fuzzTags = []string{"", "!!str", "!!int", "!!float", "!!bool", "!!null", "!!binary", "!!timestamp", "!vault", "!!merge"}

// edit changes the tree at root: op chooses the edit, a and b the nodes
// (by index in treeNodes) and variants. The tree keeps the shapes a YAML
// parser makes: an alias names a node that is not an alias (possibly an
// ancestor: a cycle), and there is no other cycle.
func edit(root *yaml.Node, op, a, b byte) {
	nodes := treeNodes(root, nil)
	n, m := nodes[int(a)%len(nodes)], nodes[int(b)%len(nodes)]
	switch op % 10 {
	case 0: // a scalar of another value
		if n.Kind == yaml.ScalarNode {
			n.Value, n.Tag, n.Style = scalarVariants[int(b)%len(scalarVariants)], "", 0
		}
	case 1: // a scalar of another tag
		if n.Kind == yaml.ScalarNode {
			n.Tag, n.Style = fuzzTags[int(b)%len(fuzzTags)], yaml.TaggedStyle
		}
	case 2: // a duplicate key
		if n.Kind == yaml.MappingNode && len(n.Content) >= 2 {
			i := 2 * (int(b) % (len(n.Content) / 2))
			n.Content = append(n.Content, n.Content[i], n.Content[i+1])
		}
	case 3: // an alias to m, maybe an ancestor of n: a cycle
		if n != m {
			replace(root, n, aliasTo(m, "a", b))
		}
	case 4: // a merge of m into mapping n
		if alias := aliasTo(m, "m", b); n.Kind == yaml.MappingNode && alias != nil {
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!merge", Value: "<<"}
			n.Content = append([]*yaml.Node{key, alias}, n.Content...)
		}
	case 5: // a copy of m in place of n
		replace(root, n, copyTree(m, 0))
	case 6: // an entry or item fewer
		k := 1
		if n.Kind == yaml.MappingNode {
			k = 2
		}
		if len(n.Content) >= k {
			i := k * (int(b) % (len(n.Content) / k))
			n.Content = append(n.Content[:i:i], n.Content[i+k:]...)
		}
	case 7: // n in a list, or under a key
		inner := *n
		inner.Anchor = ""
		w := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{&inner}}
		if b%2 == 1 {
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: scalarVariants[int(b)%len(scalarVariants)]}
			w = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, &inner}}
		}
		replace(root, n, w)
	case 8: // a key that is not a plain string
		if n.Kind == yaml.MappingNode && len(n.Content) >= 2 {
			i := 2 * (int(b) % (len(n.Content) / 2))
			if c := copyTree(m, 0); c != nil {
				n.Content[i] = c
			}
		}
	case 9: // an empty mapping, list or null
		e := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		switch b % 3 {
		case 0:
			e = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		case 1:
			e = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		}
		replace(root, n, e)
	}
}

// aliasTo returns an alias naming m, anchoring m if it is not; nil if m is
// an alias or nothing.
func aliasTo(m *yaml.Node, prefix string, b byte) *yaml.Node {
	if m.Kind == yaml.AliasNode || m.Kind == 0 {
		return nil
	}
	if m.Anchor == "" {
		m.Anchor = prefix + strconv.Itoa(int(b))
	}
	return &yaml.Node{Kind: yaml.AliasNode, Value: m.Anchor, Alias: m}
}

// replace puts c in place of n (not the root), keeping n's anchor for the
// aliases that name n, unless c is an alias and n is anchored: an alias
// never names an alias.
func replace(root, n, c *yaml.Node) {
	if n == root || c == nil || c.Kind == yaml.AliasNode && n.Anchor != "" {
		return
	}
	anchor := n.Anchor
	*n = *c
	if n.Kind != yaml.AliasNode {
		n.Anchor = anchor
	}
}

// copyTree copies the tree at n, aliases kept as they are, without
// anchors; nil if it is deeper than 32.
func copyTree(n *yaml.Node, depth int) *yaml.Node {
	if depth > 32 {
		return nil
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, sub := range n.Content {
		if c.Content[i] = copyTree(sub, depth+1); c.Content[i] == nil {
			return nil
		}
	}
	return &c
}

// pathological are small documents aimed at the corners of the fast path.
// Those it once got wrong are in testdata/fuzz/FuzzFastPathAgrees, one file
// each: duplicate keys, malformed scalars, keys that are not scalars and
// alias cycles and expansions where no schema looks, and a merge key in a
// mapping compared with a constant.
var pathological = []string{
	// Merge keys and duplicate keys where schemas look.
	head + "steps:\n  - &s {id: a, action: log}\n  - <<: *s\n    id: b\n",
	head + "steps:\n  - id: a\n    action: log\n    with: {<<: {message: hi}}\n",
	head + "x: &x {apiVersion: csmplan/v1}\n<<: *x\n",
	head + "params:\n  p: {type: object, default: {a: 1, a: 2}}\nsteps:\n  - {id: a, action: log}\n",
	// Numbers at the edges of int64, float64 and YAML spellings.
	head + "steps:\n  - id: a\n    action: log\n    retry: {attempts: 9223372036854775808}\n",
	head + "steps:\n  - id: a\n    action: log\n    retry: {attempts: 18446744073709551616, backoff: 1e400}\n",
	head + "steps:\n  - id: a\n    action: log\n    retry: {attempts: !!float 3, backoff: !!int 2}\n",
	head + "steps:\n  - id: a\n    action: log\n    retry: {attempts: 3.0, backoff: 1_000.5}\n",
	head + "steps:\n  - id: a\n    action: log\n    retry: {attempts: -0, backoff: +2}\n",
	head + "params:\n  n: {type: integer, default: 1e3}\nsteps:\n  - {id: a, action: log}\n",
	// Tags and nulls spelt in unusual ways.
	head + "steps:\n  - id: a\n    action: !vault log\n    when: !!str true\n",
	head + "steps:\n  - id: a\n    action: log\n    timeout: !!null 5m\n    on_failure: ~\n",
	head + "steps:\n  - id: a\n    action: log\n    with: !!binary aGk=\n",
	// Scalar keys that are not strings.
	head + "steps:\n  - id: a\n    action: log\n    with: {1: a, null: b, true: c}\n",
	// Empty and odd documents.
	"", "~", "[]", "{}", "- 1\n- 2\n", "apiVersion: csmplan/v1\n",
}

// fuzzSeeds returns the seed corpus of FuzzFastPathAgrees.
func fuzzSeeds(tb testing.TB) []string {
	tb.Helper()
	seeds := append(corpus(tb), pathological...)
	for _, name := range []string{"../actions/csm/upgrade.yaml", "../examples/embed/runbook.yaml", "../plan/testdata/valid.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, string(b))
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		tb.Fatal(err)
	}
	blocks := yamlBlocks(readme)
	if len(blocks) == 0 {
		tb.Fatal("no yaml block in README.md")
	}
	seeds = append(seeds, blocks...)
	files, err := filepath.Glob("../plan/testdata/fuzz/FuzzParse/*")
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		if src, ok := corpusEntry(b); ok {
			seeds = append(seeds, src)
		}
	}
	return seeds
}

// yamlBlocks returns the ```yaml blocks of a Markdown text.
func yamlBlocks(md []byte) []string {
	var out []string
	var b strings.Builder
	in := false
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```yaml":
			in = true
			b.Reset()
		case in && strings.TrimSpace(line) == "```":
			in = false
			out = append(out, b.String())
		case in:
			b.WriteString(line + "\n")
		}
	}
	return out
}

// corpusEntry decodes a file of Go's fuzz corpus holding one []byte or
// string value.
func corpusEntry(b []byte) (string, bool) {
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 || lines[0] != "go test fuzz v1" {
		return "", false
	}
	v := strings.TrimSpace(lines[1])
	for _, prefix := range []string{"[]byte(", "string("} {
		if strings.HasPrefix(v, prefix) && strings.HasSuffix(v, ")") {
			s, err := strconv.Unquote(v[len(prefix) : len(v)-1])
			return s, err == nil
		}
	}
	return "", false
}

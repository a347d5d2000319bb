package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds the nesting of a converted value. yaml.v3 refuses
// documents nested deeper than 10000, so only aliases (possibly to an
// enclosing node, a cycle) reach it.
const maxDepth = 10000

// MaxAliasExpansion bounds the number of nodes that aliases may expand to in
// one document, so that a small document cannot expand to an enormous value
// (the "billion laughs" attack).
const MaxAliasExpansion = 1_000_000

// ToValue converts a YAML node to a JSON-compatible Go value: map[string]any,
// []any, string, bool, int64, float64, json.Number (an integer beyond int64)
// or nil. Aliases are resolved and merge keys (<<) applied as yaml.v3 does;
// the nodes reached through aliases may not exceed [MaxAliasExpansion].
// Mapping keys are converted to their text. A duplicate key, a non-scalar
// key, an infinite or NaN number or a malformed tagged scalar is an error
// of type [Problem] that locates the culprit.
func ToValue(node *yaml.Node) (any, error) {
	c := converter{}
	v := c.value(node, 0)
	if len(c.problems) > 0 {
		return nil, c.problems[0]
	}
	return v, nil
}

// converter turns nodes into values, collecting problems instead of stopping
// at the first one so that Validate can report them all.
type converter struct {
	expanded int        // nodes visited through aliases
	alias    *yaml.Node // the outermost alias being expanded
	depth    int        // current nesting
	failed   bool       // the expansion limits were hit
	problems []Problem
}

func (c *converter) fail(n *yaml.Node, format string, args ...any) {
	p := Problem{Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	c.problems = append(c.problems, p)
}

// value converts n. aliased > 0 when n is reached through an alias.
func (c *converter) value(n *yaml.Node, aliased int) any {
	if n == nil || c.failed {
		return nil
	}
	if aliased > 0 && !c.count() {
		return nil
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		c.failed = true
		c.fail(c.alias, "aliases nest deeper than %d levels (an alias inside its own anchor?)", maxDepth)
		return nil
	}
	switch n.Kind {
	case 0: // the zero Node: an empty document
		return nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return c.value(n.Content[0], aliased)
	case yaml.AliasNode:
		if n.Alias == nil {
			c.fail(n, "alias *%s refers to no anchor", n.Value)
			return nil
		}
		if aliased == 0 {
			c.alias = n
		}
		return c.value(n.Alias, aliased+1)
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			out[i] = c.value(item, aliased)
		}
		return out
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		c.mapping(n, out, aliased, nil)
		return out
	case yaml.ScalarNode:
		v, err := scalar(n)
		if err != nil {
			c.fail(n, "%v", err)
		}
		return v
	}
	c.fail(n, "unexpected YAML node")
	return nil
}

// mapping adds the entries of n to out. Explicit keys win over merged ones
// and earlier merges win over later ones, as in yaml.v3. merged, when not
// nil, holds the keys already set: n is being merged into another mapping.
func (c *converter) mapping(n *yaml.Node, out map[string]any, aliased int, merged map[string]bool) {
	var merges []*yaml.Node
	var first map[string]*yaml.Node // lazily built, for duplicate detection
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			merges = append(merges, v)
			continue
		}
		key, ok := keyText(k)
		if !ok {
			c.fail(k, "a mapping key must be a scalar, not a %s", kindName(k))
			continue
		}
		if merged != nil {
			if merged[key] {
				// Skipped, but visited: a mapping merged again and
				// again costs its keys each time.
				if aliased > 0 && !c.count() {
					return
				}
				continue
			}
			merged[key] = true
			out[key] = c.value(v, aliased)
			continue
		}
		if _, dup := out[key]; dup {
			if first == nil {
				first = map[string]*yaml.Node{}
				for j := 0; j < i; j += 2 {
					if kt, ok := keyText(n.Content[j]); ok && !isMerge(n.Content[j]) {
						if _, seen := first[kt]; !seen {
							first[kt] = n.Content[j]
						}
					}
				}
			}
			if f := first[key]; f != nil {
				c.fail(k, "duplicate key %q (first at line %d)", key, f.Line)
				continue
			}
		}
		out[key] = c.value(v, aliased)
	}
	if len(merges) == 0 {
		return
	}
	if merged == nil {
		merged = make(map[string]bool, len(out))
		for k := range out {
			merged[k] = true
		}
	}
	for _, m := range merges {
		c.merge(m, out, aliased, merged)
	}
}

// count counts one node visited through an alias, reporting false (once
// with a problem) beyond the limit.
func (c *converter) count() bool {
	if c.failed {
		return false
	}
	c.expanded++
	if c.expanded > MaxAliasExpansion {
		c.failed = true
		c.fail(c.alias, "aliases expand to more than %d nodes", MaxAliasExpansion)
		return false
	}
	return true
}

func (c *converter) merge(m *yaml.Node, out map[string]any, aliased int, merged map[string]bool) {
	if c.failed {
		return
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		c.failed = true
		c.fail(m, "merge keys nest deeper than %d levels (a merge of its own anchor?)", maxDepth)
		return
	}
	for m.Kind == yaml.AliasNode && m.Alias != nil {
		if aliased == 0 {
			c.alias = m
		}
		m = m.Alias
		aliased++
		if !c.count() {
			return
		}
	}
	switch m.Kind {
	case yaml.MappingNode:
		c.mapping(m, out, aliased, merged)
	case yaml.SequenceNode:
		for _, item := range m.Content {
			it := item
			for it.Kind == yaml.AliasNode && it.Alias != nil {
				if aliased == 0 {
					c.alias = it
				}
				it = it.Alias
				// Each mapping a list merges is an expansion, as
				// the mapping a single merge names is.
				if !c.count() {
					return
				}
			}
			if it.Kind != yaml.MappingNode {
				c.fail(item, "a merge key (<<) takes a mapping or a list of mappings")
				continue
			}
			c.mapping(it, out, aliased+1, merged)
		}
	default:
		c.fail(m, "a merge key (<<) takes a mapping or a list of mappings")
	}
}

// isMerge reports whether k is the merge key <<, as yaml.v3 decides.
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

// keyText returns the text of a scalar key, following an alias.
func keyText(k *yaml.Node) (string, bool) {
	for k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", false
	}
	return k.Value, true
}

// scalar converts a scalar node by its (resolved) tag.
func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!binary", "!!timestamp", "!!merge":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		switch n.Value {
		case "true", "True", "TRUE":
			return true, nil
		case "false", "False", "FALSE":
			return false, nil
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("%q is not a boolean", n.Value)
		}
		return b, nil
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return i, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("%q is not an integer", n.Value)
		}
		switch v := v.(type) {
		case int:
			return int64(v), nil
		case int64:
			return v, nil
		case uint64:
			return json.Number(strconv.FormatUint(v, 10)), nil
		case float64:
			return finite(n, v)
		}
		return nil, fmt.Errorf("%q is not an integer", n.Value)
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || strings.ContainsAny(n.Value, "iInN") {
			// YAML spellings such as .inf, .nan or 1_000.5.
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, fmt.Errorf("%q is not a number", n.Value)
			}
			switch v := v.(type) {
			case float64:
				f = v
			case int:
				return int64(v), nil
			case int64:
				return v, nil
			default:
				return nil, fmt.Errorf("%q is not a number", n.Value)
			}
		}
		return finite(n, f)
	}
	// Unknown local tags such as !vault: keep the text.
	return n.Value, nil
}

func finite(n *yaml.Node, f float64) (any, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("%s is not a finite number (JSON has no infinity or NaN)", n.Value)
	}
	return f, nil
}

// kindName names the kind of a node for people.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		if n.Alias != nil {
			return kindName(n.Alias)
		}
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	return "scalar"
}

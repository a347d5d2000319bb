package schema

import (
	"fmt"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

// The jsonschema validator spends several microseconds and kilobytes on
// each violation, so a large document with a problem in every item of a
// long list (every step, every param, every precondition of a step) would
// take seconds to check. Before the validator runs, each large collection
// is therefore cut after the maxInvalidItems-th item, counted over the
// whole document, that the fast path is sure does not fit; one problem at
// the first item cut off says how many more do not fit. The validator
// reports the problems of the rest as usual.
//
// Cutting is sound where the schema says nothing about a collection but
// what each of its items must be (see cuttable), and about the mappings
// that hold it nothing but which keys they have (see transparent): then a
// prefix of the list, or the first entries of the mapping, fits wherever
// the whole fits, and every problem reported in it is one the whole has.
const (
	maxInvalidItems = 1000
	// minCut is the least number of items a collection must hold to be cut.
	minCut = 64
	// maxCutDepth bounds how deep the cutter looks for collections: each
	// level checks its part of the document with the fast path once more.
	maxCutDepth = 4
)

// cutter cuts the large collections of a document.
type cutter struct {
	m       *mapper
	f       fastPath
	left    int // invalid items that may still be checked
	skipped []problem
}

// cut returns root, or a copy of it with its large collections cut, and
// for each collection cut the problem that says what was left out.
func (m *mapper) cut(root *yaml.Node) (*yaml.Node, []problem) {
	if !supported(m.schema) {
		return root, nil
	}
	c := cutter{m: m, f: fastPath{budget: MaxAliasExpansion}, left: maxInvalidItems}
	return c.node(root, m.schema, "", "", 0), c.skipped
}

// node returns n, or a copy with large collections cut inside, where n must
// fit s and is at pointer ptr, called label in messages.
func (c *cutter) node(n *yaml.Node, s *jsonschema.Schema, ptr, label string, depth int) *yaml.Node {
	s = pureRef(s)
	if s == nil || depth > maxCutDepth {
		return n
	}
	if kind, _, _ := cuttable(s); kind != 0 {
		if n.Kind != kind || kind == yaml.MappingNode && hasMergeKey(n) {
			return n
		}
		return c.collection(n, s, ptr, label, depth)
	}
	if n.Kind != yaml.MappingNode || !transparent(s) || hasMergeKey(n) {
		return n
	}
	// A mapping of known keys: look into the value of each that does not
	// fit.
	var out *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		sub := childSchema(s, k.Value)
		if sub == nil || !c.invalid(sub, v) {
			continue
		}
		if nv := c.node(v, sub, joinPointer(ptr, k.Value), keyLabel(label, k.Value), depth+1); nv != v {
			if out == nil {
				out = clone(n)
			}
			out.Content[i+1] = nv
		}
	}
	if out == nil {
		return n
	}
	return out
}

// collection cuts list or mapping n, whose schema s is cuttable, after the
// last invalid item the budget allows; it also cuts inside the items it
// keeps.
func (c *cutter) collection(n *yaml.Node, s *jsonschema.Schema, ptr, label string, depth int) *yaml.Node {
	_, items, names := cuttable(s)
	step := 1
	if n.Kind == yaml.MappingNode {
		step = 2
	}
	var out *yaml.Node
	at, more := -1, 0
	for j := 0; j+step-1 < len(n.Content); j += step {
		sub, item := items, n.Content[j+step-1]
		if step == 1 && j < len(s.PrefixItems) {
			sub = s.PrefixItems[j]
		}
		bad := c.invalid(sub, item)
		if step == 2 && !bad {
			bad = c.badName(names, n.Content[j])
		}
		switch {
		case !bad:
		case at >= 0:
			more++
		case c.left == 0 && len(n.Content) >= minCut*step && j/step >= max(s.MinItems, 0):
			at, more = j, 1
		default:
			c.left = max(c.left-1, 0)
			token, itemLabel := strconv.Itoa(j/step), label+"["+strconv.Itoa(j)+"]"
			if step == 2 {
				token, itemLabel = n.Content[j].Value, keyLabel(label, n.Content[j].Value)
			}
			if ni := c.node(item, sub, joinPointer(ptr, token), itemLabel, depth+1); ni != item {
				if out == nil {
					out = clone(n)
				}
				out.Content[j+step-1] = ni
			}
		}
	}
	if at < 0 {
		if out == nil {
			return n
		}
		return out
	}
	if out == nil {
		out = clone(n)
	}
	out.Content = out.Content[:at]
	what, token := "items", strconv.Itoa(at)
	if step == 2 {
		what, token = "entries", n.Content[at].Value
	}
	name := "the list"
	if step == 2 {
		name = "the mapping"
	}
	if label != "" {
		name = strconv.Quote(label)
	}
	msg := fmt.Sprintf("%d more %s of %s do not fit the schema: only the problems of the first %d that do not fit are shown", more, what, name, maxInvalidItems)
	p := Problem{Line: n.Content[at].Line, Column: n.Content[at].Column, Message: c.m.prefix(msg), Pointer: joinPointer(ptr, token)}
	c.skipped = append(c.skipped, problem{Problem: p})
	return out
}

// invalid reports whether the fast path is sure that n does not fit s; a
// node it cannot decide on is left to the validator, whole.
func (c *cutter) invalid(s *jsonschema.Schema, n *yaml.Node) bool {
	c.f.abort = false
	return !c.f.valid(s, n, false) && !c.f.abort
}

// badName reports whether the fast path is sure that key k is not a valid
// name by names.
func (c *cutter) badName(names *jsonschema.Schema, k *yaml.Node) bool {
	if names == nil || k.Kind != yaml.ScalarNode {
		return false
	}
	return c.invalid(names, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.Value})
}

func keyLabel(label, key string) string {
	if label == "" {
		return key
	}
	return label + "." + key
}

func clone(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = append([]*yaml.Node(nil), n.Content...)
	return &c
}

func hasMergeKey(n *yaml.Node) bool {
	for i := 0; n.Kind == yaml.MappingNode && i < len(n.Content); i += 2 {
		if isMerge(n.Content[i]) {
			return true
		}
	}
	return false
}

// pureRef follows s while it is only a $ref (with annotations); nil if s
// is a $ref with other keywords, which the cutter does not look into.
func pureRef(s *jsonschema.Schema) *jsonschema.Schema {
	for i := 0; s != nil && s.Ref != nil; i++ {
		if i == 32 || !onlyRef(s) {
			return nil
		}
		s = s.Ref
	}
	return s
}

func onlyRef(s *jsonschema.Schema) bool {
	return s.Always == nil && s.DynamicRef == nil && s.RecursiveRef == nil && len(s.Types) == 0 && len(s.Constant) == 0 && len(s.Enum) == 0 &&
		s.Not == nil && len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) == 0 && s.If == nil &&
		s.MinProperties < 0 && s.MaxProperties < 0 && len(s.Required) == 0 && len(s.Properties) == 0 && s.PropertyNames == nil &&
		len(s.PatternProperties) == 0 && s.AdditionalProperties == nil && len(s.Dependencies) == 0 && len(s.DependentRequired) == 0 &&
		len(s.DependentSchemas) == 0 && s.UnevaluatedProperties == nil &&
		s.MinItems < 0 && s.MaxItems < 0 && !s.UniqueItems && s.Items == nil && s.AdditionalItems == nil && len(s.PrefixItems) == 0 &&
		s.Items2020 == nil && s.Contains == nil && s.UnevaluatedItems == nil &&
		s.MinLength < 0 && s.MaxLength < 0 && s.Pattern == nil && s.Format == "" && s.ContentEncoding == "" && s.ContentMediaType == "" && s.ContentSchema == nil &&
		s.Minimum == nil && s.ExclusiveMinimum == nil && s.Maximum == nil && s.ExclusiveMaximum == nil && s.MultipleOf == nil
}

// transparent reports whether schema s of a mapping looks into the value of
// a key only through properties and additionalProperties: its other
// keywords only ask which keys the mapping has.
func transparent(s *jsonschema.Schema) bool {
	if s.Ref != nil || s.DynamicRef != nil || s.RecursiveRef != nil || len(s.Constant) > 0 || len(s.Enum) > 0 ||
		len(s.PatternProperties) > 0 || len(s.DependentSchemas) > 0 || s.UnevaluatedProperties != nil || s.UnevaluatedItems != nil {
		return false
	}
	for _, d := range s.Dependencies {
		if _, isSchema := d.(*jsonschema.Schema); isSchema {
			return false
		}
	}
	for _, sub := range append(append(append([]*jsonschema.Schema{s.Not, s.If, s.Then, s.Else}, s.AllOf...), s.AnyOf...), s.OneOf...) {
		if sub != nil && !keysOnly(sub) {
			return false
		}
	}
	return true
}

// keysOnly reports whether s only asks which keys a mapping has.
func keysOnly(s *jsonschema.Schema) bool {
	if len(s.Properties) > 0 || s.AdditionalProperties != nil || s.Items != nil || s.Items2020 != nil || len(s.PrefixItems) > 0 ||
		s.AdditionalItems != nil || s.Contains != nil || s.Always != nil {
		return false
	}
	return transparent(s)
}

// childSchema returns the schema of the value of key in a mapping of
// schema s, or nil if the value is not allowed or not known.
func childSchema(s *jsonschema.Schema, key string) *jsonschema.Schema {
	if p, ok := s.Properties[key]; ok {
		return p
	}
	if ap, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		return ap
	}
	return nil
}

// cuttable returns the kind of collection s is for and the schema each of
// its items must fit (for a mapping, each value, and names for each key),
// when that is all s says beyond its type: then a prefix of the list, or
// the first entries of the mapping, fits s if the whole does. The kind is
// 0 otherwise.
func cuttable(s *jsonschema.Schema) (kind yaml.Kind, items, names *jsonschema.Schema) {
	if s.Always != nil || !transparent(s) || s.Not != nil || s.If != nil || len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) > 0 ||
		len(s.Types) != 1 || s.Contains != nil || s.MinProperties > 0 || len(s.Required) > 0 || len(s.DependentRequired) > 0 ||
		len(s.Dependencies) > 0 || len(s.Properties) > 0 {
		return 0, nil, nil
	}
	switch s.Types[0] {
	case "array":
		if s.Items2020 != nil {
			return yaml.SequenceNode, s.Items2020, nil
		}
	case "object":
		if ap, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
			return yaml.MappingNode, ap, s.PropertyNames
		}
	}
	return 0, nil, nil
}

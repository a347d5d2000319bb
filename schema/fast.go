package schema

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

// The fast path decides, without allocating, whether a YAML tree is valid
// against a compiled schema, reading the yaml.Node tree directly. It is a
// proven-equivalent subset of the reference, which is [ToValue] followed by
// the jsonschema validator: it answers "valid" or "invalid" only when the
// reference would answer the same, and "unsure" otherwise, and then the
// caller runs the reference, which also produces the errors. It is unsure
// for a schema that uses a keyword it does not implement (see
// supportedTree), for YAML that ToValue treats specially (merge keys,
// duplicate or non-scalar keys, malformed scalars, deep or long alias
// expansion) and when its own budgets run out. FuzzFastPathAgrees, run in
// CI, compares the three answers with the reference.

// verdict is the answer of the fast path about a node.
type verdict uint8

const (
	// unsure: the fast path does not decide; the reference does.
	unsure verdict = iota
	// sureValid: ToValue converts the node and jsonschema accepts it.
	sureValid
	// sureInvalid: ToValue rejects the node or jsonschema does.
	sureInvalid
)

func (v verdict) String() string {
	switch v {
	case sureValid:
		return "valid"
	case sureInvalid:
		return "invalid"
	}
	return "unsure"
}

// fastMaxDepth bounds the recursion of the fast path (schema applicators
// plus document depth); beyond it the slow path decides.
const fastMaxDepth = 1000

// fastSupported caches, per compiled schema, whether every schema reachable
// from it uses only keywords the fast path implements.
var fastSupported sync.Map // *jsonschema.Schema -> bool

// fastValid reports whether n is certainly valid against s.
func fastValid(s *jsonschema.Schema, n *yaml.Node) bool {
	return fastCheck(s, n) == sureValid
}

// fastCheck tells whether n is valid against s, invalid, or whether only
// the reference can tell.
func fastCheck(s *jsonschema.Schema, n *yaml.Node) verdict {
	if !supported(s) {
		return unsure
	}
	f := fastPath{budget: MaxAliasExpansion}
	ok := f.valid(s, n, false)
	switch {
	case f.abort:
		return unsure
	case !ok:
		return sureInvalid
	}
	return sureValid
}

func supported(s *jsonschema.Schema) bool {
	if v, ok := fastSupported.Load(s); ok {
		return v.(bool)
	}
	ok := supportedTree(s, map[*jsonschema.Schema]bool{})
	fastSupported.Store(s, ok)
	return ok
}

func supportedTree(s *jsonschema.Schema, seen map[*jsonschema.Schema]bool) bool {
	if s == nil || seen[s] {
		return true
	}
	seen[s] = true
	if s.Format != "" || s.UnevaluatedProperties != nil || s.UnevaluatedItems != nil ||
		s.DynamicRef != nil || s.RecursiveRef != nil || s.UniqueItems || s.Contains != nil ||
		s.ContentEncoding != "" || s.ContentMediaType != "" || s.ContentSchema != nil ||
		len(s.Extensions) > 0 || s.RegexProperties {
		return false
	}
	subs := []*jsonschema.Schema{s.Ref, s.Not, s.If, s.Then, s.Else, s.PropertyNames, s.Items2020}
	subs = append(subs, s.AllOf...)
	subs = append(subs, s.AnyOf...)
	subs = append(subs, s.OneOf...)
	subs = append(subs, s.PrefixItems...)
	for _, p := range s.Properties {
		subs = append(subs, p)
	}
	for _, p := range s.PatternProperties {
		subs = append(subs, p)
	}
	for _, p := range s.DependentSchemas {
		subs = append(subs, p)
	}
	for _, d := range s.Dependencies {
		if p, ok := d.(*jsonschema.Schema); ok {
			subs = append(subs, p)
		}
	}
	for _, x := range []any{s.AdditionalProperties, s.AdditionalItems, s.Items} {
		switch x := x.(type) {
		case *jsonschema.Schema:
			subs = append(subs, x)
		case []*jsonschema.Schema:
			subs = append(subs, x...)
		}
	}
	for _, sub := range subs {
		if !supportedTree(sub, seen) {
			return false
		}
	}
	return true
}

type fastPath struct {
	budget int  // nodes that may still be visited through aliases
	depth  int  // current recursion depth
	abort  bool // the answer is not certain: let the slow path decide
	// inPlace counts the schemas being applied in place beside another
	// (allOf, if, not...): see covers.
	inPlace int
}

// covers tells whether s, being applied to a node, must walk the values in
// it that it does not look into, so that a "valid" answer has visited every
// node ToValue converts: that is the job of the schema that reached the
// node through properties, items and the like, or of the schema it is the
// $ref of; the schemas applied in place beside it (allOf, anyOf, oneOf,
// not, if, then, else, dependentSchemas) need not walk again.
func (f *fastPath) covers(s *jsonschema.Schema) bool {
	return f.inPlace == 0 && s.Ref == nil
}

// valueKind is the JSON type of a node, with integers apart.
type valueKind uint8

const (
	kNull valueKind = iota
	kBool
	kInt
	kFloat
	kString
	kObject
	kArray
)

// classify returns the JSON kind of n (aliases already followed).
func (f *fastPath) classify(n *yaml.Node) valueKind {
	switch n.Kind {
	case yaml.MappingNode:
		return kObject
	case yaml.SequenceNode:
		return kArray
	case yaml.ScalarNode:
	default:
		f.abort = true
		return kNull
	}
	switch n.ShortTag() {
	case "!!null":
		return kNull
	case "!!bool":
		switch n.Value {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return kBool
		}
	case "!!int":
		if _, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return kInt
		}
	case "!!float":
		if fl, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsInf(fl, 0) && !math.IsNaN(fl) && isPlainFloat(n.Value) {
			return kFloat
		}
	default:
		return kString
	}
	// Unusual spellings: convert as ToValue does.
	v, err := scalar(n)
	if err != nil {
		f.abort = true
		return kNull
	}
	switch v := v.(type) {
	case nil:
		return kNull
	case bool:
		return kBool
	case int64, json.Number:
		return kInt
	case float64:
		_ = v
		return kFloat
	}
	return kString
}

// isPlainFloat rejects spellings ParseFloat accepts but YAML means
// otherwise (inf, nan, hex floats, underscores).
func isPlainFloat(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
		default:
			return false
		}
	}
	return true
}

func (f *fastPath) valid(s *jsonschema.Schema, n *yaml.Node, aliased bool) bool {
	if f.abort {
		return false
	}
	if f.depth >= fastMaxDepth {
		f.abort = true
		return false
	}
	f.depth++
	ok := f.check(s, n, aliased)
	f.depth--
	return ok
}

// beside validates n against sub, a schema applied in place beside
// another (see covers).
func (f *fastPath) beside(sub *jsonschema.Schema, n *yaml.Node, aliased bool) bool {
	f.inPlace++
	ok := f.valid(sub, n, aliased)
	f.inPlace--
	return ok
}

// deref follows aliases, counting the nodes visited through an alias
// against the expansion budget as ToValue counts them (an alias reached
// through an alias, and the node it names). The fast path visits every node
// ToValue converts at least once (walking those no schema looks into), so
// it runs out no later than ToValue. deref returns nil, after setting
// f.abort, on a dangling alias or when the budget runs out.
func (f *fastPath) deref(n *yaml.Node, aliased bool) (*yaml.Node, bool) {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil || aliased && !f.spend() {
			f.abort = true
			return nil, false
		}
		n, aliased = n.Alias, true
	}
	if aliased && !f.spend() {
		f.abort = true
		return nil, false
	}
	return n, aliased
}

// spend counts one node visited through an alias against the budget.
func (f *fastPath) spend() bool {
	f.budget--
	return f.budget >= 0
}

func (f *fastPath) check(s *jsonschema.Schema, n *yaml.Node, aliased bool) bool {
	n, aliased = f.deref(n, aliased)
	if n == nil {
		return false
	}
	if s.Always != nil {
		if !*s.Always {
			return false
		}
		if f.covers(s) {
			f.walkIn(n, aliased)
		}
		return !f.abort
	}
	k := f.classify(n)
	if f.abort {
		return false
	}
	if len(s.Types) > 0 && !typeMatches(s.Types, k, n) {
		return false
	}
	if len(s.Constant) > 0 && !f.equal(n, s.Constant[0], aliased) {
		return false
	}
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			if f.equal(n, e, aliased) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	switch k {
	case kObject:
		if !f.object(s, n, aliased) {
			return false
		}
	case kArray:
		if !f.array(s, n, aliased) {
			return false
		}
	case kString:
		if s.MinLength >= 0 || s.MaxLength >= 0 {
			l := utf8.RuneCountInString(n.Value)
			if s.MinLength >= 0 && l < s.MinLength || s.MaxLength >= 0 && l > s.MaxLength {
				return false
			}
		}
		if s.Pattern != nil && !s.Pattern.MatchString(n.Value) {
			return false
		}
	case kInt, kFloat:
		if !f.number(s, n) {
			return false
		}
	}
	if s.Ref != nil && !f.valid(s.Ref, n, aliased) {
		return false
	}
	if s.Not != nil && f.beside(s.Not, n, aliased) {
		return false
	}
	for _, sub := range s.AllOf {
		if !f.beside(sub, n, aliased) {
			return false
		}
	}
	if len(s.AnyOf) > 0 {
		any := false
		for _, sub := range s.AnyOf {
			if f.beside(sub, n, aliased) {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	if len(s.OneOf) > 0 {
		count := 0
		for _, sub := range s.OneOf {
			if f.beside(sub, n, aliased) {
				count++
			}
		}
		if count != 1 {
			return false
		}
	}
	if s.If != nil {
		if f.beside(s.If, n, aliased) {
			if s.Then != nil && !f.beside(s.Then, n, aliased) {
				return false
			}
		} else if s.Else != nil && !f.beside(s.Else, n, aliased) {
			return false
		}
	}
	return !f.abort
}

func typeMatches(types []string, k valueKind, n *yaml.Node) bool {
	for _, t := range types {
		switch t {
		case "null":
			if k == kNull {
				return true
			}
		case "boolean":
			if k == kBool {
				return true
			}
		case "string":
			if k == kString {
				return true
			}
		case "object":
			if k == kObject {
				return true
			}
		case "array":
			if k == kArray {
				return true
			}
		case "number":
			if k == kInt || k == kFloat {
				return true
			}
		case "integer":
			if k == kInt {
				return true
			}
			if k == kFloat {
				if r := ratOf(n); r != nil && r.IsInt() {
					return true
				}
			}
		}
	}
	return false
}

// object checks the object keywords of s on mapping n.
func (f *fastPath) object(s *jsonschema.Schema, n *yaml.Node, aliased bool) bool {
	c := n.Content
	if len(c)%2 != 0 {
		f.abort = true
		return false
	}
	nk := len(c) / 2
	if !plainKeys(c) {
		f.abort = true
		return false
	}
	if s.MinProperties >= 0 && nk < s.MinProperties || s.MaxProperties >= 0 && nk > s.MaxProperties {
		return false
	}
	for _, r := range s.Required {
		if lookup(c, r) == nil {
			return false
		}
	}
	for i := 0; i < len(c); i += 2 {
		key, val := c[i].Value, c[i+1]
		matched := false
		if p, ok := s.Properties[key]; ok {
			matched = true
			if !f.valid(p, val, aliased) {
				return false
			}
		}
		if s.PropertyNames != nil {
			name := yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
			if !f.valid(s.PropertyNames, &name, false) {
				return false
			}
		}
		if len(s.PatternProperties) > 0 {
			for re, p := range s.PatternProperties {
				if re.MatchString(key) {
					matched = true
					if !f.valid(p, val, aliased) {
						return false
					}
				}
			}
		}
		if matched {
			continue
		}
		if ap, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
			if !f.valid(ap, val, aliased) {
				return false
			}
			continue
		}
		if ap, ok := s.AdditionalProperties.(bool); ok && !ap {
			return false
		}
		if f.covers(s) {
			// No schema looks into val.
			if f.walk(val, aliased); f.abort {
				return false
			}
		}
	}
	if len(s.DependentRequired) == 0 && len(s.DependentSchemas) == 0 && len(s.Dependencies) == 0 {
		return true
	}
	for key, reqs := range s.DependentRequired {
		if lookup(c, key) == nil {
			continue
		}
		for _, r := range reqs {
			if lookup(c, r) == nil {
				return false
			}
		}
	}
	for key, sub := range s.DependentSchemas {
		if lookup(c, key) != nil && !f.beside(sub, n, aliased) {
			return false
		}
	}
	for key, d := range s.Dependencies {
		if lookup(c, key) == nil {
			continue
		}
		switch d := d.(type) {
		case *jsonschema.Schema:
			if !f.beside(d, n, aliased) {
				return false
			}
		case []string:
			for _, r := range d {
				if lookup(c, r) == nil {
					return false
				}
			}
		}
	}
	return true
}

// plainKeys reports whether the keys of a mapping's content are distinct
// scalars and none is a merge key: otherwise ToValue has its say first.
func plainKeys(c []*yaml.Node) bool {
	if len(c)%2 != 0 {
		return false
	}
	nk := len(c) / 2
	if nk > 16 {
		seen := make(map[string]struct{}, nk)
		for i := 0; i < len(c); i += 2 {
			k := c[i]
			if k.Kind != yaml.ScalarNode || isMerge(k) {
				return false
			}
			if _, dup := seen[k.Value]; dup {
				return false
			}
			seen[k.Value] = struct{}{}
		}
		return true
	}
	var keys [16]string
	for i := range nk {
		k := c[2*i]
		if k.Kind != yaml.ScalarNode || isMerge(k) {
			return false
		}
		for _, prev := range keys[:i] {
			if prev == k.Value {
				return false
			}
		}
		keys[i] = k.Value
	}
	return true
}

// walk visits n, a node that no schema looks into, as ToValue would
// convert it, and aborts unless ToValue converts it without a problem: see
// walkIn.
func (f *fastPath) walk(n *yaml.Node, aliased bool) {
	if f.abort {
		return
	}
	if f.depth >= fastMaxDepth {
		f.abort = true
		return
	}
	n, aliased = f.deref(n, aliased)
	if n == nil {
		return
	}
	f.depth++
	f.walkIn(n, aliased)
	f.depth--
}

// walkIn walks what n (aliases followed) holds: it aborts unless every
// scalar converts, every mapping has plain keys (see plainKeys) and every
// alias has its anchor, within the budget and the depth.
func (f *fastPath) walkIn(n *yaml.Node, aliased bool) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			f.walk(item, aliased)
		}
	case yaml.MappingNode:
		if !plainKeys(n.Content) {
			f.abort = true
			return
		}
		for i := 1; i < len(n.Content); i += 2 {
			f.walk(n.Content[i], aliased)
		}
	case yaml.ScalarNode:
		f.classify(n)
	default:
		f.abort = true
	}
}

// lookup returns the value of key in the content of a mapping without
// merge keys.
func lookup(c []*yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(c); i += 2 {
		if c[i].Value == key {
			return c[i+1]
		}
	}
	return nil
}

// array checks the array keywords of s on sequence n.
func (f *fastPath) array(s *jsonschema.Schema, n *yaml.Node, aliased bool) bool {
	items := n.Content
	if s.MinItems >= 0 && len(items) < s.MinItems || s.MaxItems >= 0 && len(items) > s.MaxItems {
		return false
	}
	for i, item := range items {
		looked := false
		switch it := s.Items.(type) {
		case *jsonschema.Schema:
			looked = true
			if !f.valid(it, item, aliased) {
				return false
			}
		case []*jsonschema.Schema:
			if i < len(it) {
				looked = true
				if !f.valid(it[i], item, aliased) {
					return false
				}
				break
			}
			switch ai := s.AdditionalItems.(type) {
			case bool:
				if !ai {
					return false
				}
			case *jsonschema.Schema:
				looked = true
				if !f.valid(ai, item, aliased) {
					return false
				}
			}
		}
		switch {
		case i < len(s.PrefixItems):
			looked = true
			if !f.valid(s.PrefixItems[i], item, aliased) {
				return false
			}
		case s.Items2020 != nil:
			looked = true
			if !f.valid(s.Items2020, item, aliased) {
				return false
			}
		}
		if !looked && f.covers(s) {
			if f.walk(item, aliased); f.abort {
				return false
			}
		}
	}
	return true
}

// number checks the numeric keywords of s on scalar n.
func (f *fastPath) number(s *jsonschema.Schema, n *yaml.Node) bool {
	if s.Minimum == nil && s.Maximum == nil && s.ExclusiveMinimum == nil && s.ExclusiveMaximum == nil && s.MultipleOf == nil {
		return true
	}
	if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil && s.MultipleOf == nil && n.ShortTag() == "!!int" {
		// The common case: a decimal integer against integer bounds.
		if b, ok := intBound(s.Minimum); ok && i < b {
			return false
		}
		if b, ok := intBound(s.ExclusiveMinimum); ok && i <= b {
			return false
		}
		if b, ok := intBound(s.Maximum); ok && i > b {
			return false
		}
		if b, ok := intBound(s.ExclusiveMaximum); ok && i >= b {
			return false
		}
		if allIntBounds(s) {
			return true
		}
	}
	r := ratOf(n)
	if r == nil {
		f.abort = true
		return false
	}
	if s.Minimum != nil && r.Cmp(s.Minimum) < 0 ||
		s.ExclusiveMinimum != nil && r.Cmp(s.ExclusiveMinimum) <= 0 ||
		s.Maximum != nil && r.Cmp(s.Maximum) > 0 ||
		s.ExclusiveMaximum != nil && r.Cmp(s.ExclusiveMaximum) >= 0 {
		return false
	}
	if s.MultipleOf != nil {
		if q := new(big.Rat).Quo(r, s.MultipleOf); !q.IsInt() {
			return false
		}
	}
	return true
}

// intBound returns bound as an int64 when it is one.
func intBound(r *big.Rat) (int64, bool) {
	if r == nil || !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}

func allIntBounds(s *jsonschema.Schema) bool {
	for _, r := range []*big.Rat{s.Minimum, s.ExclusiveMinimum, s.Maximum, s.ExclusiveMaximum} {
		if _, ok := intBound(r); r != nil && !ok {
			return false
		}
	}
	return true
}

// ratOf returns the number of a numeric scalar as the jsonschema validator
// sees it (the decimal text of the converted value), or nil.
func ratOf(n *yaml.Node) *big.Rat {
	v, err := scalar(n)
	if err != nil {
		return nil
	}
	var text string
	switch v := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(v)
	case json.Number:
		text = string(v)
	case float64:
		text = strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return nil
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return nil
	}
	return r
}

// equal tells whether node n equals the JSON value v (as decoded by the
// schema compiler: numbers are json.Number), with jsonschema's semantics.
func (f *fastPath) equal(n *yaml.Node, v any, aliased bool) bool {
	n, aliased = f.deref(n, aliased)
	if n == nil {
		return false
	}
	k := f.classify(n)
	if f.abort {
		return false
	}
	switch v := v.(type) {
	case nil:
		return k == kNull
	case bool:
		if k != kBool {
			return false
		}
		b, _ := scalar(n)
		return b == v
	case string:
		return k == kString && n.Value == v
	case json.Number, float64, int, int64:
		if k != kInt && k != kFloat {
			return false
		}
		r := ratOf(n)
		want, ok := new(big.Rat).SetString(numText(v))
		return r != nil && ok && r.Cmp(want) == 0
	case []any:
		if k != kArray || len(n.Content) != len(v) {
			return false
		}
		for i, item := range n.Content {
			if !f.equal(item, v[i], aliased) {
				return false
			}
		}
		return true
	case map[string]any:
		if k != kObject {
			return false
		}
		// Merge keys and duplicates change what the keys are.
		if !plainKeys(n.Content) {
			f.abort = true
			return false
		}
		if len(n.Content) != 2*len(v) {
			return false
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			want, ok := v[key.Value]
			if !ok || !f.equal(n.Content[i+1], want, aliased) {
				return false
			}
		}
		return true
	}
	f.abort = true
	return false
}

func numText(v any) string {
	switch v := v.(type) {
	case json.Number:
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/actions"
)

// Patterns of the runbook schema that messages explain in words.
const (
	refPattern = `^\$\{[^}]+\}$`
)

// durationHint ends every message about a malformed duration.
const durationHint = "use Go syntax such as 30s, 10m, 1h30m"

// patternHints explains the name patterns of the runbook schema.
var patternHints = map[string]struct{ noun, hint string }{
	`^[a-z0-9]+(-[a-z0-9]+)*$`:               {"runbook name", "use lower-case words joined by '-', such as csm-upgrade"},
	`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_-]*)*$`: {"name", "use dotted lower-case words, such as csm.takeover"},
	`^[A-Za-z0-9][A-Za-z0-9_-]*$`:            {"step id", "use letters, digits, '_' and '-', starting with a letter or digit"},
	`^[A-Za-z_][A-Za-z0-9_]*$`:               {"name", "use letters, digits and '_', not starting with a digit"},
	`^[A-Za-z_][A-Za-z0-9_-]*$`:              {"name", "use letters, digits, '_' and '-', starting with a letter or '_'"},
}

// secretKey matches keys whose values are never shown in messages.
var secretKey = regexp.MustCompile(`(?i)(password|passwd|passphrase|token|api_?key|private_?key|credential|secret_|_secret)`)

// problem is a Problem with what finish needs to drop redundant ones.
type problem struct {
	Problem
	object  string   // pointer of the mapping of an unknown or missing key
	missing []string // keys any one of which would fix a missing-key problem
	unknown bool     // an unknown key
}

// mapper turns a jsonschema ValidationError tree into problems located in
// the YAML tree.
type mapper struct {
	root     *yaml.Node
	schema   *jsonschema.Schema
	where    string // prefix of messages
	rootName string // what the root is called ("runbook"), or "" to use where
	skipRefs bool   // drop problems at or below strings holding "${"
	out      []problem
	// entries of each mapping looked into, indexed once: problems are
	// located by key, and a mapping may hold many keys and many problems.
	entries map[*yaml.Node]*mappingEntries
}

func (m *mapper) prefix(msg string) string {
	if m.where == "" {
		return msg
	}
	return m.where + ": " + msg
}

// add records a problem at node n. subjectIsWhere tells that the message
// already starts with m.where, so it gets no prefix.
func (m *mapper) add(n *yaml.Node, ptr, msg string, subjectIsWhere bool, fill func(*problem)) {
	if !subjectIsWhere {
		msg = m.prefix(msg)
	}
	p := problem{Problem: Problem{Line: n.Line, Column: n.Column, Message: msg, Pointer: ptr}}
	if fill != nil {
		fill(&p)
	}
	m.out = append(m.out, p)
}

// collect walks the error tree down to its leaves.
func (m *mapper) collect(ve *jsonschema.ValidationError) {
	kp := descend(m.schema, splitPointer(ve.KeywordLocation))
	kw := kp.keyword()
	switch {
	case len(kp.rest) == 1 && (kw == "oneOf" || kw == "anyOf"):
		m.alternatives(ve, kp)
		return
	case len(ve.Causes) > 0 && kw != "minContains" && kw != "maxContains":
		for _, c := range ve.Causes {
			m.collect(c)
		}
		return
	}
	m.leaf(ve, kp)
}

// leaf reports one failed keyword.
func (m *mapper) leaf(ve *jsonschema.ValidationError, kp kwPath) {
	l := m.locate(ve.InstanceLocation)
	if kp.names {
		m.nameError(ve, kp, l)
		return
	}
	if m.skipRefs && l.ref {
		return
	}
	s := kp.holder
	subj, isWhere := m.subject(l)
	at := l.node
	switch kw := kp.keyword(); kw {
	case "":
		m.falseSchema(kp, l)
	case "type":
		m.typeError(s, l)
	case "const":
		want := formatJSON(s.Constant[0])
		msg := fmt.Sprintf("%s must be %s, got %s", subj, want, m.brief(s, l))
		m.add(at, l.ptr, msg, isWhere, func(p *problem) {
			if str, ok := s.Constant[0].(string); ok && !m.secret(s, l) {
				p.Suggestion = Suggest(scalarText(l.node), []string{str})
			}
		})
	case "enum":
		var words, strs []string
		for _, e := range s.Enum {
			if str, ok := e.(string); ok {
				words = append(words, str)
				strs = append(strs, str)
			} else {
				words = append(words, formatJSON(e))
			}
		}
		msg := fmt.Sprintf("%s must be one of %s, got %s", subj, strings.Join(words, ", "), m.brief(s, l))
		m.add(at, l.ptr, msg, isWhere, func(p *problem) {
			if !m.secret(s, l) {
				p.Suggestion = Suggest(scalarText(l.node), strs)
			}
		})
	case "required":
		if a, b, ok := kp.exactlyOne(); ok {
			m.needKeys(kp.titleAt(kp.ownerOf(kp.len()-1)), l, []string{a, b}, true)
			return
		}
		m.missing(s, kp.title(), l)
	case "additionalProperties":
		m.unknownKeys(s, kp.title(), l)
	case "pattern":
		m.patternError(s, l)
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
		var bound *big.Rat
		var rel string
		switch kw {
		case "minimum":
			bound, rel = s.Minimum, "at least"
		case "maximum":
			bound, rel = s.Maximum, "at most"
		case "exclusiveMinimum":
			bound, rel = s.ExclusiveMinimum, "greater than"
		case "exclusiveMaximum":
			bound, rel = s.ExclusiveMaximum, "less than"
		default:
			bound, rel = s.MultipleOf, "a multiple of"
		}
		msg := fmt.Sprintf("%s must be %s %s, got %s", subj, rel, ratText(bound), m.brief(s, l))
		m.add(at, l.ptr, msg, isWhere, nil)
	case "minItems", "maxItems":
		n, rel := s.MinItems, "at least"
		if kw == "maxItems" {
			n, rel = s.MaxItems, "at most"
		}
		msg := fmt.Sprintf("%s must have %s %s, got %d", subj, rel, plural(n, "item"), len(deref(l.node).Content))
		m.add(at, l.ptr, msg, isWhere, nil)
	case "minLength", "maxLength":
		n, rel := s.MinLength, "at least"
		if kw == "maxLength" {
			n, rel = s.MaxLength, "at most"
		}
		msg := fmt.Sprintf("%s must be %s %s long, got %d", subj, rel, plural(n, "character"), utf8.RuneCountInString(deref(l.node).Value))
		m.add(at, l.ptr, msg, isWhere, nil)
	case "minProperties", "maxProperties":
		if kw == "minProperties" && m.needMatcher(kp, l) {
			return
		}
		n, rel := s.MinProperties, "at least"
		if kw == "maxProperties" {
			n, rel = s.MaxProperties, "at most"
		}
		msg := fmt.Sprintf("%s must have %s %s, got %d", subj, rel, plural(n, "key"), len(m.mappingKeys(deref(l.node))))
		m.add(at, l.ptr, msg, isWhere, nil)
	case "uniqueItems":
		m.add(at, l.ptr, subj+" must not hold the same item twice", isWhere, nil)
	case "dependentRequired", "dependencies":
		m.dependent(kp, l)
	case "format":
		msg := fmt.Sprintf("%s: %s is not a valid %s", subj, m.brief(s, l), s.Format)
		m.add(at, l.ptr, msg, isWhere, nil)
	case "not":
		m.add(at, l.ptr, fmt.Sprintf("%s: %s is not allowed", subj, m.brief(s, l)), isWhere, nil)
	case "additionalItems":
		msg := fmt.Sprintf("%s has too many items", subj)
		m.add(at, l.ptr, msg, isWhere, nil)
	case "minContains", "maxContains", "contains":
		msg := fmt.Sprintf("%s must hold at least %s that fits", subj, plural(max(s.MinContains, 1), "item"))
		if kw == "maxContains" {
			msg = fmt.Sprintf("%s must hold at most %s that fits", subj, plural(s.MaxContains, "item"))
		}
		m.add(at, l.ptr, msg, isWhere, nil)
	default:
		m.add(at, l.ptr, fmt.Sprintf("%s: %s", subj, ve.Message), isWhere, nil)
	}
}

// typeError reports a value of the wrong type.
func (m *mapper) typeError(s *jsonschema.Schema, l loc) {
	subj, isWhere := m.subject(l)
	if s.Pattern != nil && s.Pattern.String() == actions.DurationPattern {
		var msg string
		if d := deref(l.node); d.Kind == yaml.ScalarNode {
			msg = fmt.Sprintf("%s: %s is not a duration (%s)", subj, m.brief(s, l), durationHint)
		} else {
			msg = fmt.Sprintf("%s must be a duration (%s), got %s", subj, durationHint, m.got(s, l))
		}
		m.add(l.node, l.ptr, msg, isWhere, nil)
		return
	}
	refOK := s.Pattern != nil && s.Pattern.String() == refPattern
	msg := fmt.Sprintf("%s must be %s, got %s", subj, typesPhrase(s.Types, refOK, l.lastKey()), m.got(s, l))
	m.add(l.node, l.ptr, msg, isWhere, nil)
}

// patternError reports a string that does not match its pattern.
func (m *mapper) patternError(s *jsonschema.Schema, l loc) {
	subj, isWhere := m.subject(l)
	pat := s.Pattern.String()
	var msg string
	switch h, ok := patternHints[pat]; {
	case pat == actions.DurationPattern:
		msg = fmt.Sprintf("%s: %s is not a duration (%s)", subj, m.brief(s, l), durationHint)
	case pat == refPattern:
		// The string alternative of a typed value exists for references.
		msg = fmt.Sprintf("%s must be %s, got %s", subj, typesPhrase(s.Types, true, l.lastKey()), m.got(s, l))
	case ok:
		msg = fmt.Sprintf("%s: %s is not a valid %s (%s)", subj, m.brief(s, l), h.noun, h.hint)
	default:
		msg = fmt.Sprintf("%s: %s does not match the pattern %s", subj, m.brief(s, l), pat)
	}
	m.add(l.node, l.ptr, msg, isWhere, nil)
}

// nameError reports a key rejected by propertyNames.
func (m *mapper) nameError(ve *jsonschema.ValidationError, kp kwPath, l loc) {
	at := l.key
	if at == nil {
		at = l.node
	}
	name := l.lastKey()
	in := ""
	if len(l.tokens) > 1 {
		parent := l.parent()
		in = " in " + m.objectName(kp.parentTitle(), parent)
	}
	var msg string
	switch kp.keyword() {
	case "pattern":
		pat := kp.holder.Pattern.String()
		if h, ok := patternHints[pat]; ok {
			msg = fmt.Sprintf("%q is not a valid %s%s (%s)", name, h.noun, in, h.hint)
		} else {
			msg = fmt.Sprintf("key %q%s does not match the pattern %s", name, in, pat)
		}
	case "maxLength":
		msg = fmt.Sprintf("key %q%s is too long (at most %s)", name, in, plural(kp.holder.MaxLength, "character"))
	case "minLength":
		msg = fmt.Sprintf("key %q%s is too short (at least %s)", name, in, plural(kp.holder.MinLength, "character"))
	default:
		msg = fmt.Sprintf("key %q%s is not allowed: %s", name, in, ve.Message)
	}
	m.add(at, l.ptr, msg, false, nil)
}

// falseSchema reports a value where the schema allows none.
func (m *mapper) falseSchema(kp kwPath, l loc) {
	at := l.node
	if l.key != nil {
		at = l.key
	}
	subj, isWhere := m.subject(l)
	if kp.parent != nil && len(l.tokens) > 0 && !l.index[len(l.tokens)-1] {
		parent := l.parent()
		switch kp.via {
		case "properties":
			if a, b, ok := kp.exactlyOne(); ok {
				m.needKeys(kp.titleAt(kp.ownerOf(kp.parentIdx)), parent, []string{a, b}, true)
				return
			}
			msg := fmt.Sprintf("%q is not allowed in %s", l.lastKey(), m.objectName(kp.parentTitle(), parent))
			m.add(at, l.ptr, msg, false, nil)
			return
		case "additionalProperties", "unevaluatedProperties":
			name := l.lastKey()
			msg := fmt.Sprintf("unknown key %q%s", name, m.keyPlace(kp.parentTitle(), parent))
			cands := propertyNames(kp.parent, nil, 0)
			m.add(at, l.ptr, msg, false, func(p *problem) {
				p.unknown, p.object = true, parent.ptr
				p.Suggestion = Suggest(name, m.absent(cands, deref(parent.node)))
			})
			return
		}
	}
	m.add(at, l.ptr, subj+" is not allowed here", isWhere, nil)
}

// unknownKeys reports each key that additionalProperties: false rejects.
func (m *mapper) unknownKeys(s *jsonschema.Schema, title string, l loc) {
	d := deref(l.node)
	if d.Kind != yaml.MappingNode {
		return
	}
	var cands []string
	place := m.keyPlace(title, l)
	for _, kv := range m.mappingKeys(d) {
		if _, ok := s.Properties[kv.name]; ok {
			continue
		}
		matched := false
		for re := range s.PatternProperties {
			if re.MatchString(kv.name) {
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		if cands == nil {
			cands = m.absent(propertyNames(s, nil, 0), d)
		}
		name := kv.name
		m.add(kv.key, joinPointer(l.ptr, name), fmt.Sprintf("unknown key %q%s", name, place), false, func(p *problem) {
			p.unknown, p.object = true, l.ptr
			p.Suggestion = Suggest(name, cands)
		})
	}
}

// missing reports each required key that is absent.
func (m *mapper) missing(s *jsonschema.Schema, title string, l loc) {
	d := deref(l.node)
	if d.Kind != yaml.MappingNode {
		return
	}
	name, isWhere := m.objectName(title, l), false
	if title == "" && len(l.tokens) == 0 {
		name, isWhere = m.subject(l)
	}
	for _, k := range s.Required {
		if _, v := m.findKey(d, k); v != nil {
			continue
		}
		msg := fmt.Sprintf("%s is missing required key %q", name, k)
		m.add(anchor(l), l.ptr, msg, isWhere, func(p *problem) {
			p.object, p.missing = l.ptr, []string{k}
		})
	}
}

// dependent reports a key present without the key it depends on.
func (m *mapper) dependent(kp kwPath, l loc) {
	if len(kp.rest) < 3 {
		m.add(l.node, l.ptr, "a key depends on another that is missing", false, nil)
		return
	}
	key := kp.rest[1]
	var need []string
	switch kp.keyword() {
	case "dependentRequired":
		need = kp.holder.DependentRequired[key]
	default:
		need, _ = kp.holder.Dependencies[key].([]string)
	}
	i, err := strconv.Atoi(kp.rest[2])
	if err != nil || i < 0 || i >= len(need) {
		return
	}
	at := l.node
	if k, _ := m.findKey(deref(l.node), key); k != nil {
		at = k
	}
	msg := fmt.Sprintf("%q is only allowed together with %q", key, need[i])
	m.add(at, joinPointer(l.ptr, key), msg, false, nil)
}

// alternatives reports a failed oneOf or anyOf: for alternatives that only
// require keys, which keys; otherwise the errors of the alternative that
// fits the kind of the YAML value, never a wall of alternatives.
func (m *mapper) alternatives(ve *jsonschema.ValidationError, kp kwPath) {
	oneOf := kp.keyword() == "oneOf"
	branches := kp.holder.AnyOf
	if oneOf {
		branches = kp.holder.OneOf
	}
	l := m.locate(ve.InstanceLocation)
	if m.skipRefs && l.ref {
		return
	}
	subj, isWhere := m.subject(l)
	if names, ok := requiredOnly(branches); ok {
		m.needKeys(kp.title(), l, names, oneOf)
		return
	}
	if len(ve.Causes) == 0 {
		m.add(l.node, l.ptr, subj+" fits more than one of its allowed forms", isWhere, nil)
		return
	}
	var best []problem
	found := false
	var types []string
	var consts []any
	for _, c := range ve.Causes {
		if t, k, ok := m.mismatch(c, ve.InstanceLocation); ok {
			types = appendNew(types, t...)
			consts = append(consts, k...)
			continue
		}
		sub := &mapper{root: m.root, schema: m.schema, where: m.where, rootName: m.rootName, skipRefs: m.skipRefs, entries: m.entries}
		sub.collect(c)
		if !found || len(sub.out) < len(best) {
			best, found = sub.out, true
		}
	}
	if found {
		m.out = append(m.out, best...)
		return
	}
	// No alternative fits the kind of the value.
	var parts []string
	var strs []string
	for _, c := range consts {
		if s, ok := c.(string); ok {
			parts = append(parts, s)
			strs = append(strs, s)
		} else {
			parts = append(parts, formatJSON(c))
		}
	}
	var msg string
	switch {
	case len(parts) == 0:
		msg = fmt.Sprintf("%s must be %s, got %s", subj, typesPhrase(types, false, ""), m.got(kp.holder, l))
	case len(types) == 0:
		msg = fmt.Sprintf("%s must be one of %s, got %s", subj, strings.Join(parts, ", "), m.brief(kp.holder, l))
	default:
		msg = fmt.Sprintf("%s must be one of %s, or %s, got %s", subj, strings.Join(parts, ", "), typesPhrase(types, false, ""), m.brief(kp.holder, l))
	}
	m.add(l.node, l.ptr, msg, isWhere, func(p *problem) {
		if len(strs) > 0 && !m.secret(kp.holder, l) {
			p.Suggestion = Suggest(scalarText(l.node), strs)
		}
	})
}

// mismatch tells whether an alternative failed only because the value is of
// another kind (type, const or enum at the value itself), and what it wants.
func (m *mapper) mismatch(ve *jsonschema.ValidationError, at string) (types []string, consts []any, ok bool) {
	for _, lf := range leaves(ve, nil) {
		if lf.InstanceLocation != at {
			return nil, nil, false
		}
		kp := descend(m.schema, splitPointer(lf.KeywordLocation))
		switch kp.keyword() {
		case "type":
			types = appendNew(types, kp.holder.Types...)
		case "const":
			consts = append(consts, kp.holder.Constant[0])
		case "enum":
			consts = append(consts, kp.holder.Enum...)
		default:
			return nil, nil, false
		}
	}
	return types, consts, true
}

// leaves appends the leaf errors under ve.
func leaves(ve *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return append(out, ve)
	}
	for _, c := range ve.Causes {
		out = leaves(c, out)
	}
	return out
}

// needKeys reports a mapping that lacks the keys of oneOf/anyOf
// alternatives that only require keys, or has more than one of oneOf's.
func (m *mapper) needKeys(title string, l loc, names []string, oneOf bool) {
	d := deref(l.node)
	if d.Kind != yaml.MappingNode {
		return
	}
	type kn struct {
		name string
		key  *yaml.Node
	}
	var present []kn
	for _, n := range names {
		if k, v := m.findKey(d, n); v != nil {
			present = append(present, kn{n, k})
		}
	}
	sort.SliceStable(present, func(i, j int) bool {
		a, b := present[i].key, present[j].key
		return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
	})
	what, isWhere := m.objectName(title, l), false
	if title != "" {
		what = article(title)
	} else if len(l.tokens) == 0 {
		what, isWhere = m.subject(l)
	}
	list := joinQuoted(names, "or")
	switch {
	case oneOf && len(present) > 1:
		extra := "not both"
		if len(names) > 2 {
			extra = "not several"
		}
		k := present[1]
		msg := fmt.Sprintf("%s needs exactly one of %s, %s", what, list, extra)
		m.add(k.key, joinPointer(l.ptr, k.name), msg, isWhere, nil)
	case len(present) == 0:
		msg := fmt.Sprintf("%s needs at least one of %s", what, list)
		if oneOf {
			msg = fmt.Sprintf("%s needs exactly one of %s", what, list)
		}
		m.add(anchor(l), l.ptr, msg, isWhere, func(p *problem) {
			p.object, p.missing = l.ptr, names
		})
	}
}

// requiredOnly returns the keys of alternatives that each only require
// one or more keys.
func requiredOnly(branches []*jsonschema.Schema) ([]string, bool) {
	var names []string
	for _, b := range branches {
		if b == nil || len(b.Required) == 0 || !onlyRequired(b) {
			return nil, false
		}
		names = appendNew(names, b.Required...)
	}
	return names, len(names) > 0
}

func onlyRequired(s *jsonschema.Schema) bool {
	return s.Ref == nil && s.Always == nil && len(s.Types) == 0 && len(s.Properties) == 0 &&
		len(s.AllOf) == 0 && len(s.AnyOf) == 0 && len(s.OneOf) == 0 && s.Not == nil && s.If == nil &&
		len(s.Constant) == 0 && len(s.Enum) == 0 && s.AdditionalProperties == nil &&
		len(s.PatternProperties) == 0 && s.PropertyNames == nil && s.MinProperties < 1 && s.MaxProperties < 0 &&
		len(s.DependentRequired) == 0 && len(s.DependentSchemas) == 0 && len(s.Dependencies) == 0
}

// subject names the value at l at the start of a message. isWhere tells
// that the subject is m.where (the message then gets no prefix).
func (m *mapper) subject(l loc) (string, bool) {
	if len(l.tokens) == 0 {
		switch {
		case m.rootName != "":
			return m.rootName, false
		case m.where != "":
			return m.where, true
		}
		return "the value", false
	}
	return l.label(), false
}

// objectName names the mapping at l: the title of its schema or its label.
func (m *mapper) objectName(title string, l loc) string {
	if title != "" {
		return title
	}
	if len(l.tokens) == 0 {
		if m.rootName != "" {
			return m.rootName
		}
		return "the value"
	}
	return l.label()
}

// keyPlace says where an unknown key is: " at top level", " in step".
func (m *mapper) keyPlace(title string, l loc) string {
	switch {
	case len(l.tokens) == 0 && m.rootName != "":
		return " at top level"
	case title != "":
		return " in " + title
	case len(l.tokens) == 0:
		return ""
	}
	return " in " + l.label()
}

// secret tells whether the value at l must not be shown.
func (m *mapper) secret(s *jsonschema.Schema, l loc) bool {
	return (s != nil && s.WriteOnly) || secretKey.MatchString(l.lastKey())
}

// scalarAt returns the scalar value at l; for anything else it returns a
// description instead: "a mapping", "a list", "a malformed scalar".
func scalarAt(l loc) (v any, desc string) {
	d := deref(l.node)
	switch d.Kind {
	case yaml.MappingNode:
		return nil, "a mapping"
	case yaml.SequenceNode:
		return nil, "a list"
	case yaml.ScalarNode:
	default:
		return nil, kindName(d)
	}
	v, err := scalar(d)
	if err != nil {
		return nil, "a malformed scalar"
	}
	return v, ""
}

// got describes the value at l with its type: `string "three"`, `a list`.
func (m *mapper) got(s *jsonschema.Schema, l loc) string {
	v, desc := scalarAt(l)
	switch {
	case desc != "":
		return desc
	case v == nil:
		return "null"
	case m.secret(s, l):
		return article(jsonTypeName(v)) + " (not shown)"
	}
	return jsonTypeName(v) + " " + briefValue(v)
}

// brief shows the value at l: `"stop"`, `3`, `a mapping`.
func (m *mapper) brief(s *jsonschema.Schema, l loc) string {
	v, desc := scalarAt(l)
	switch {
	case desc != "":
		return desc
	case m.secret(s, l) && v != nil:
		return "a value not shown"
	}
	return briefValue(v)
}

func briefValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if utf8.RuneCountInString(v) > 40 {
			r := []rune(v)
			v = string(r[:37]) + "..."
		}
		return strconv.Quote(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64, json.Number:
		return "integer"
	case float64:
		return "number"
	case string:
		return "string"
	}
	return "value"
}

// scalarText returns the text of a scalar node (after aliases), or "".
func scalarText(n *yaml.Node) string {
	d := deref(n)
	if d.Kind != yaml.ScalarNode {
		return ""
	}
	return d.Value
}

// typesPhrase says what types are wanted: "an integer or a reference such
// as "${params.port}"", "a boolean, a string or a mapping".
func typesPhrase(types []string, refOK bool, key string) string {
	var parts []string
	for _, t := range types {
		if t == "string" && refOK {
			name := key
			if !identRE.MatchString(name) {
				name = "x"
			}
			parts = append(parts, fmt.Sprintf("a reference such as \"${params.%s}\"", name))
			continue
		}
		var w string
		switch t {
		case "object":
			w = "a mapping"
		case "array":
			w = "a list"
		case "null":
			w = "null"
		default:
			w = article(t)
		}
		parts = appendNew(parts, w)
	}
	if len(parts) == 0 {
		return "something else"
	}
	return joinWords(parts, "or")
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// article prefixes a noun with "a" or "an".
func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiouAEIOU", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

func joinWords(words []string, conj string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

func joinQuoted(words []string, conj string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	return joinWords(q, conj)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func ratText(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func formatJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func appendNew(list []string, items ...string) []string {
outer:
	for _, it := range items {
		for _, have := range list {
			if have == it {
				continue outer
			}
		}
		list = append(list, it)
	}
	return list
}

// propertyNames returns the sorted property names a schema declares,
// including through $ref, allOf, anyOf, oneOf and if/then/else.
func propertyNames(s *jsonschema.Schema, seen map[*jsonschema.Schema]bool, depth int) []string {
	if s == nil || depth > 16 {
		return nil
	}
	if seen == nil {
		seen = map[*jsonschema.Schema]bool{}
	}
	if seen[s] {
		return nil
	}
	seen[s] = true
	var out []string
	for k := range s.Properties {
		out = append(out, k)
	}
	subs := []*jsonschema.Schema{s.Ref, s.Then, s.Else}
	subs = append(subs, s.AllOf...)
	subs = append(subs, s.AnyOf...)
	subs = append(subs, s.OneOf...)
	for _, sub := range subs {
		out = appendNew(out, propertyNames(sub, seen, depth+1)...)
	}
	if depth == 0 {
		sort.Strings(out)
	}
	return out
}

// absent returns the names that are not keys of mapping n.
func (m *mapper) absent(names []string, n *yaml.Node) []string {
	out := make([]string, 0, len(names))
	for _, name := range names {
		if _, v := m.findKey(n, name); v == nil {
			out = append(out, name)
		}
	}
	return out
}

// kwPath is a keyword location resolved against the compiled schema.
type kwPath struct {
	holder    *jsonschema.Schema // the schema holding the failed keyword
	rest      []string           // the failed keyword and its arguments
	names     bool               // under propertyNames: the instance is a key
	parent    *jsonschema.Schema // schema of the last step to a child value
	parentIdx int                // its index in chain
	via       string             // the keyword of that step
	chain     []chainStep        // the schemas passed, root first, holder last
}

// chainStep is one schema on a keyword location; moved tells that the step
// into it went to a child value (properties, items...), not in place.
type chainStep struct {
	s     *jsonschema.Schema
	moved bool
	kw    string // the keyword that led here
}

func (k kwPath) len() int { return len(k.chain) }

// titleAt returns the title of the schema at chain index i or of the
// nearest schema applied in place above it: what kind of object it is.
func (k kwPath) titleAt(i int) string {
	for ; i >= 0 && i < len(k.chain); i-- {
		if t := k.chain[i].s.Title; t != "" {
			return t
		}
		if k.chain[i].moved {
			break
		}
	}
	return ""
}

// title names the object the failed keyword applies to.
func (k kwPath) title() string { return k.titleAt(len(k.chain) - 1) }

// parentTitle names the object holding the value that failed.
func (k kwPath) parentTitle() string {
	if k.parent == nil {
		return ""
	}
	return k.titleAt(k.parentIdx)
}

// ownerOf returns the index in chain of the schema whose if/then/else
// holds the schema at index i, or i.
func (k kwPath) ownerOf(i int) int {
	if i > 0 && i < len(k.chain) {
		switch k.chain[i].kw {
		case "then", "else":
			return i - 1
		}
	}
	return i
}

// exactlyOne recognises the failure of the "exactly one of A or B" idiom
//
//	{"if": {"required": [A]}, "then": {"properties": {B: false}}, "else": {"required": [B]}}
//
// (B alongside A, or neither) and returns A and B.
func (k kwPath) exactlyOne() (string, string, bool) {
	var owner *jsonschema.Schema
	switch kw := k.keyword(); {
	case kw == "required" && len(k.chain) >= 2 && k.chain[len(k.chain)-1].kw == "else":
		owner = k.chain[len(k.chain)-2].s
	case kw == "" && k.via == "properties" && k.parentIdx >= 1 && k.chain[k.parentIdx].kw == "then":
		owner = k.chain[k.parentIdx-1].s
	default:
		return "", "", false
	}
	return exactlyOneOf(owner)
}

func exactlyOneOf(s *jsonschema.Schema) (string, string, bool) {
	if s == nil || s.If == nil || s.Then == nil || s.Else == nil {
		return "", "", false
	}
	if !onlyRequired(s.If) || len(s.If.Required) != 1 || !onlyRequired(s.Else) || len(s.Else.Required) != 1 {
		return "", "", false
	}
	a, b := s.If.Required[0], s.Else.Required[0]
	t := s.Then
	if len(t.Properties) != 1 || t.Properties[b] == nil || t.Properties[b].Always == nil || *t.Properties[b].Always {
		return "", "", false
	}
	return a, b, true
}

func (k kwPath) keyword() string {
	if len(k.rest) == 0 {
		return ""
	}
	return k.rest[0]
}

// descend follows a keyword location from s as far as subschemas go.
func descend(s *jsonschema.Schema, toks []string) kwPath {
	p := kwPath{chain: []chainStep{{s: s}}}
	for len(toks) > 0 && s != nil {
		t, arg, has := toks[0], "", len(toks) > 1
		if has {
			arg = toks[1]
		}
		var next *jsonschema.Schema
		n, moves := 1, false
		switch t {
		case "$ref":
			next = s.Ref
		case "$dynamicRef":
			next = s.DynamicRef
		case "$recursiveRef":
			next = s.RecursiveRef
		case "not":
			if has {
				next = s.Not
			}
		case "if":
			next = s.If
		case "then":
			next = s.Then
		case "else":
			next = s.Else
		case "allOf", "anyOf", "oneOf":
			list := s.AllOf
			if t == "anyOf" {
				list = s.AnyOf
			} else if t == "oneOf" {
				list = s.OneOf
			}
			next, n = index(list, arg, has), 2
		case "prefixItems":
			next, n, moves = index(s.PrefixItems, arg, has), 2, true
		case "items":
			moves = true
			if s.Items2020 != nil {
				next = s.Items2020
			} else {
				switch it := s.Items.(type) {
				case *jsonschema.Schema:
					next = it
				case []*jsonschema.Schema:
					next, n = index(it, arg, has), 2
				}
			}
		case "additionalItems":
			next, _ = s.AdditionalItems.(*jsonschema.Schema)
			moves = true
		case "unevaluatedItems":
			next, moves = s.UnevaluatedItems, true
		case "contains":
			next, moves = s.Contains, true
		case "properties":
			if has {
				next, n, moves = s.Properties[arg], 2, true
			}
		case "patternProperties":
			if has {
				for re, sch := range s.PatternProperties {
					if re.String() == arg {
						next = sch
					}
				}
				n, moves = 2, true
			}
		case "additionalProperties":
			next, _ = s.AdditionalProperties.(*jsonschema.Schema)
			moves = true
		case "unevaluatedProperties":
			next, moves = s.UnevaluatedProperties, true
		case "propertyNames":
			next, moves = s.PropertyNames, true
			if next != nil {
				p.names = true
			}
		case "dependentSchemas":
			if has {
				next, n = s.DependentSchemas[arg], 2
			}
		case "dependencies":
			if has {
				next, _ = s.Dependencies[arg].(*jsonschema.Schema)
				n = 2
			}
		case "contentSchema":
			next = s.ContentSchema
		}
		if next == nil {
			break
		}
		if moves {
			p.parent, p.via, p.parentIdx = s, t, len(p.chain)-1
		}
		p.chain = append(p.chain, chainStep{s: next, moved: moves, kw: t})
		s, toks = next, toks[n:]
	}
	p.holder, p.rest = s, toks
	return p
}

func index(list []*jsonschema.Schema, arg string, has bool) *jsonschema.Schema {
	if !has {
		return nil
	}
	i, err := strconv.Atoi(arg)
	if err != nil || i < 0 || i >= len(list) {
		return nil
	}
	return list[i]
}

// splitPointer splits a JSON pointer as jsonschema/v5 writes it (each token
// URL-path-escaped after ~0/~1 escaping) into plain tokens.
func splitPointer(p string) []string {
	if p == "" {
		return nil
	}
	p = strings.TrimPrefix(p, "/")
	toks := strings.Split(p, "/")
	for i, t := range toks {
		if strings.ContainsAny(t, "%~") {
			if u, err := url.PathUnescape(t); err == nil {
				t = u
			}
			t = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
			toks[i] = t
		}
	}
	return toks
}

// joinPointer appends a token to an RFC 6901 JSON pointer.
func joinPointer(ptr, tok string) string {
	tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
	return ptr + "/" + tok
}

// loc is an instance location resolved against the YAML tree.
type loc struct {
	tokens []string
	index  []bool     // tokens[i] is a sequence index
	key    *yaml.Node // key node of the last token when its parent is a mapping
	node   *yaml.Node // the node at the location (aliases not followed)
	up     *yaml.Node // the node holding it
	ref    bool       // a string holding a reference is at or above it
	ptr    string     // RFC 6901 pointer
}

// locate resolves a jsonschema instance location in the YAML tree. If the
// location goes beyond the tree, it stops at the deepest node found.
func (m *mapper) locate(instance string) loc {
	toks := splitPointer(instance)
	l := loc{tokens: toks, index: make([]bool, len(toks)), node: m.root}
	var b strings.Builder
	n := m.root
	for i, t := range toks {
		d := deref(n)
		if isRefString(d) {
			l.ref = true
		}
		var next *yaml.Node
		switch d.Kind {
		case yaml.MappingNode:
			k, v := m.findKey(d, t)
			if v != nil {
				l.key, next = k, v
			}
		case yaml.SequenceNode:
			if idx, err := strconv.Atoi(t); err == nil && idx >= 0 && idx < len(d.Content) {
				l.index[i], l.key, next = true, nil, d.Content[idx]
			}
		}
		b.WriteString(joinPointer("", t))
		if next == nil {
			break
		}
		l.up, n = d, next
	}
	l.node = n
	l.ptr = b.String()
	if isRefString(deref(n)) {
		l.ref = true
	}
	return l
}

// label names the value at l for people: "attempts", "pre[1]".
func (l loc) label() string {
	if len(l.tokens) == 0 {
		return "the value"
	}
	i := len(l.tokens) - 1
	for i > 0 && l.index[i] {
		i--
	}
	var b strings.Builder
	if l.index[i] {
		i-- // the root is a list: "[0][1]"
	} else {
		b.WriteString(l.tokens[i])
	}
	for _, t := range l.tokens[i+1:] {
		b.WriteString("[" + t + "]")
	}
	return strconv.Quote(b.String())
}

// lastKey returns the last mapping key on the path, or "".
func (l loc) lastKey() string {
	for i := len(l.tokens) - 1; i >= 0; i-- {
		if !l.index[i] {
			return l.tokens[i]
		}
	}
	return ""
}

// parentLoc returns the location of the mapping or list holding l.
func (l loc) parent() loc {
	if len(l.tokens) == 0 {
		return l
	}
	n := len(l.tokens) - 1
	p := loc{tokens: l.tokens[:n], index: l.index[:n], node: l.up, ref: l.ref}
	if i := strings.LastIndexByte(l.ptr, '/'); i >= 0 {
		p.ptr = l.ptr[:i]
	}
	if p.node == nil {
		p.node = l.node
	}
	return p
}

// anchor is where a problem about a whole mapping points: the key holding
// it, else its first key, else the mapping itself.
func anchor(l loc) *yaml.Node {
	if l.key != nil {
		return l.key
	}
	if d := deref(l.node); d.Kind == yaml.MappingNode && len(d.Content) > 0 {
		return d.Content[0]
	}
	return l.node
}

// Deref follows a YAML alias to the node it names (aliases of aliases
// too, at most 100 deep); any other node is returned as it is. The loader
// and the schema follow aliases alike through it.
func Deref(n *yaml.Node) *yaml.Node { return deref(n) }

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// isRefString tells whether n is a string holding a reference "${".
func isRefString(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "${") || n.ShortTag() != "!!str" {
		return false
	}
	return hasRef(n.Value)
}

// hasRef reports whether s holds "${" that is not the escape "$${".
func hasRef(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if strings.HasPrefix(s[i:], "$${") {
			i += 2
			continue
		}
		if s[i+1] == '{' {
			return true
		}
	}
	return false
}

type keyValue struct {
	name       string
	key, value *yaml.Node
}

// mappingEntries are the entries of a mapping, as mappingKeys lists them,
// with an index by name.
type mappingEntries struct {
	list   []keyValue
	byName map[string]int // for long lists
}

// mappingKeys returns the entries of a mapping in order, explicit keys
// first, then those merged with << that are not already present, through
// at most 32 levels of merges. Each mapping is listed once per mapper.
func (m *mapper) mappingKeys(n *yaml.Node) []keyValue {
	if e := m.index(n); e != nil {
		return e.list
	}
	return nil
}

// findKey returns the key and value nodes of key in mapping n, looking
// through merge keys after the explicit keys.
func (m *mapper) findKey(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	e := m.index(n)
	if e == nil {
		return nil, nil
	}
	if e.byName != nil {
		if i, ok := e.byName[key]; ok {
			return e.list[i].key, e.list[i].value
		}
		return nil, nil
	}
	for _, kv := range e.list {
		if kv.name == key {
			return kv.key, kv.value
		}
	}
	return nil, nil
}

func (m *mapper) index(n *yaml.Node) *mappingEntries {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	if e, ok := m.entries[n]; ok {
		return e
	}
	e := &mappingEntries{}
	seen := map[string]bool{}
	// A mapping merged again, through another path, adds nothing unless
	// reached with more levels to go: lists of merges that name the same
	// mappings over and over cost each mapping once per level at most.
	expanded := map[*yaml.Node]int{}
	var add func(n *yaml.Node, depth int)
	add = func(n *yaml.Node, depth int) {
		if d, ok := expanded[n]; ok && d <= depth {
			return
		}
		expanded[n] = depth
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if isMerge(k) {
				merges = append(merges, n.Content[i+1])
				continue
			}
			name, ok := keyText(k)
			if !ok || seen[name] {
				continue
			}
			seen[name] = true
			e.list = append(e.list, keyValue{name, k, n.Content[i+1]})
		}
		if depth > 32 {
			return
		}
		for _, mg := range merges {
			for _, mm := range mergeSources(mg) {
				add(mm, depth+1)
			}
		}
	}
	add(n, 0)
	if len(e.list) > 8 {
		e.byName = make(map[string]int, len(e.list))
		for i, kv := range e.list {
			e.byName[kv.name] = i
		}
	}
	if m.entries == nil {
		m.entries = map[*yaml.Node]*mappingEntries{}
	}
	m.entries[n] = e // shared with the mappers of alternatives
	return e
}

// mergeSources returns the mappings a merge value names.
func mergeSources(v *yaml.Node) []*yaml.Node {
	d := deref(v)
	switch d.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{d}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, it := range d.Content {
			if di := deref(it); di.Kind == yaml.MappingNode {
				out = append(out, di)
			}
		}
		return out
	}
	return nil
}

// needMatcher reports a mapping one key short of minProperties as "needs at
// least one of" the keys its schema allows (additionalProperties false),
// leaving out keys present and keys that only count through
// dependentSchemas (the expect idiom: path plus at least one matcher).
func (m *mapper) needMatcher(kp kwPath, l loc) bool {
	d := deref(l.node)
	if d.Kind != yaml.MappingNode {
		return false
	}
	idx := kp.len() - 1
	obj := kp.holder
	if kp.chain[idx].kw == "dependentSchemas" && idx > 0 {
		idx--
		obj = kp.chain[idx].s
	}
	if ap, ok := obj.AdditionalProperties.(bool); !ok || ap || len(obj.Properties) == 0 {
		return false
	}
	if kp.holder.MinProperties-len(m.mappingKeys(d)) != 1 {
		return false
	}
	var names []string
	for _, name := range propertyNames(obj, nil, 0) {
		if _, dep := obj.DependentSchemas[name]; dep {
			continue
		}
		if _, v := m.findKey(d, name); v != nil {
			continue
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return false
	}
	m.needKeys(kp.titleAt(idx), l, names, false)
	return true
}

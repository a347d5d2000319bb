package plan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/csmplan/csmplan/actions"
)

// Value is a value written in a runbook: any YAML value, in which strings
// may hold references. A string that is only a reference keeps the type of
// what it refers to; a reference inside a longer string is formatted into it.
type Value struct {
	Pos Pos
	// v is JSON-like (nil, bool, int64, float64, string, []any,
	// map[string]any) where *Template stands for a string with references.
	v    any
	refs []*Ref
}

// NewValue returns a static value (no references), for programs that build
// plans in Go.
func NewValue(v any) *Value { return &Value{v: v} }

// IsStatic reports whether the value holds no reference.
func (v *Value) IsStatic() bool { return v == nil || len(v.refs) == 0 }

// Static returns the value when it holds no reference.
func (v *Value) Static() (any, bool) {
	if v == nil {
		return nil, true
	}
	if len(v.refs) > 0 {
		return nil, false
	}
	return v.v, true
}

// Refs returns the references in the value, in source order.
func (v *Value) Refs() []*Ref {
	if v == nil {
		return nil
	}
	return v.refs
}

// Raw returns the value as written, with each template as its source text.
func (v *Value) Raw() any {
	if v == nil {
		return nil
	}
	return raw(v.v)
}

func raw(x any) any {
	switch t := x.(type) {
	case *Template:
		return t.Source
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = raw(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = raw(e)
		}
		return out
	}
	return x
}

// Resolver resolves one reference to its value.
type Resolver func(ref *Ref) (any, error)

// Eval returns the value with every reference resolved by resolve.
func (v *Value) Eval(resolve Resolver) (any, error) {
	if v == nil {
		return nil, nil
	}
	if len(v.refs) == 0 {
		return v.v, nil
	}
	return eval(v.v, resolve)
}

func eval(x any, resolve Resolver) (any, error) {
	switch t := x.(type) {
	case *Template:
		return t.Eval(resolve)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := eval(e, resolve)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			r, err := eval(e, resolve)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return x, nil
}

// Template is a string holding references.
type Template struct {
	// Source is the string as written.
	Source string
	Parts  []Part
}

// Part is a literal text or a reference of a template.
type Part struct {
	Lit string
	Ref *Ref
}

// Eval resolves the template. A template that is only one reference keeps
// the type of the resolved value; otherwise values are formatted into the
// string (strings as they are, other values as JSON).
func (t *Template) Eval(resolve Resolver) (any, error) {
	if len(t.Parts) == 1 && t.Parts[0].Ref != nil {
		return resolve(t.Parts[0].Ref)
	}
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Ref == nil {
			b.WriteString(p.Lit)
			continue
		}
		r, err := resolve(p.Ref)
		if err != nil {
			return nil, err
		}
		b.WriteString(Format(r))
	}
	return b.String(), nil
}

// Format formats a value for a string: strings as they are, nil as the
// empty string, numbers and booleans plainly, lists and maps as JSON.
func Format(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case fmt.Stringer:
		return t.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Scope is the first word of a reference.
type Scope string

// The scopes a reference may name.
const (
	ScopeParams Scope = "params"
	ScopeVars   Scope = "vars"
	ScopeSteps  Scope = "steps"
)

// Ref is a reference such as ${params.primary}, ${vars.sessions[0].name} or
// ${steps.backup.outputs.file}.
type Ref struct {
	Scope Scope
	// Name is the param or var name, or the step id.
	Name string
	// Output is the output name of a steps reference.
	Output string
	// Path selects inside the referred value.
	Path Path
	// Source is the reference as written, "${...}".
	Source string
	Pos    Pos
}

// String returns the reference as written.
func (r *Ref) String() string { return r.Source }

// parseTemplate parses the references in s. It returns a nil template when s
// holds none (after unescaping $${), and the unescaped literal.
func parseTemplate(s string, pos Pos, col func(off int) Pos) (*Template, string, error) {
	if !strings.Contains(s, "${") {
		return nil, s, nil
	}
	var parts []Part
	var lit strings.Builder
	hasRef := false
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			lit.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			lit.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, "", &refError{off: i, msg: fmt.Sprintf("unclosed reference %q: want ${params.NAME}, ${vars.NAME} or ${steps.ID.outputs.NAME}", s[i:])}
		}
		src := s[i : i+end+1]
		ref, err := ParseRef(src)
		if err != nil {
			return nil, "", &refError{off: i, msg: err.Error()}
		}
		ref.Pos = col(i)
		if lit.Len() > 0 {
			parts = append(parts, Part{Lit: lit.String()})
			lit.Reset()
		}
		parts = append(parts, Part{Ref: ref})
		hasRef = true
		i += end + 1
	}
	if lit.Len() > 0 {
		parts = append(parts, Part{Lit: lit.String()})
	}
	if !hasRef {
		return nil, parts[0].Lit, nil
	}
	return &Template{Source: s, Parts: parts}, "", nil
}

type refError struct {
	off int
	msg string
}

func (e *refError) Error() string { return e.msg }

// ParseRef parses one reference, "${scope.name...}".
func ParseRef(src string) (*Ref, error) {
	if !strings.HasPrefix(src, "${") || !strings.HasSuffix(src, "}") {
		return nil, fmt.Errorf("%q is not a reference: want ${...}", src)
	}
	body := strings.TrimSpace(src[2 : len(src)-1])
	ref := &Ref{Source: src}
	scope, rest, _ := strings.Cut(body, ".")
	ref.Scope = Scope(scope)
	name, n := leadingName(rest)
	switch ref.Scope {
	case ScopeParams, ScopeVars:
		if name == "" {
			return nil, fmt.Errorf("reference %s: want ${%s.NAME}", src, scope)
		}
	case ScopeSteps:
		if name == "" {
			return nil, fmt.Errorf("reference %s: want ${steps.ID.outputs.NAME}", src)
		}
		after := rest[n:]
		if !strings.HasPrefix(after, ".outputs.") {
			return nil, fmt.Errorf("reference %s: want ${steps.%s.outputs.NAME}", src, name)
		}
		out, m := leadingName(after[len(".outputs."):])
		if out == "" {
			return nil, fmt.Errorf("reference %s: want ${steps.%s.outputs.NAME}", src, name)
		}
		ref.Output = out
		n += len(".outputs.") + m
	default:
		msg := fmt.Sprintf("reference %s: unknown scope %q: want params, vars or steps", src, scope)
		return nil, fmt.Errorf("%s", msg)
	}
	ref.Name = name
	path, err := ParsePath(rest[n:])
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", src, err)
	}
	ref.Path = path
	return ref, nil
}

// leadingName returns the name at the start of s ([A-Za-z0-9_-]) and its length.
func leadingName(s string) (string, int) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			i++
			continue
		}
		break
	}
	return s[:i], i
}

// Path selects inside a value: "a.b", "[0]", "[*]", "items[*].state".
type Path []PathElem

// PathElem is one element of a path: a key, an index, or every element.
type PathElem struct {
	Key   string
	Index int
	All   bool // [*]
	IsKey bool
}

// ParsePath parses a path. The empty string is the empty path (the whole
// value); a leading "." is allowed.
func ParsePath(s string) (Path, error) {
	var p Path
	orig := s
	for len(s) > 0 {
		switch s[0] {
		case '.':
			name, n := leadingName(s[1:])
			if name == "" {
				return nil, fmt.Errorf("path %q: want a name after '.'", orig)
			}
			p = append(p, PathElem{Key: name, IsKey: true})
			s = s[1+n:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: unclosed '['", orig)
			}
			in := strings.TrimSpace(s[1:end])
			if in == "*" {
				p = append(p, PathElem{All: true})
			} else if i, err := strconv.Atoi(in); err == nil && i >= 0 {
				p = append(p, PathElem{Index: i})
			} else if q, err := strconv.Unquote(in); err == nil {
				p = append(p, PathElem{Key: q, IsKey: true})
			} else {
				return nil, fmt.Errorf("path %q: [%s] is not an index: want [0], [*] or [\"key\"]", orig, in)
			}
			s = s[end+1:]
		default:
			if len(p) > 0 {
				return nil, fmt.Errorf("path %q: unexpected %q", orig, s[:1])
			}
			name, n := leadingName(s)
			if name == "" {
				return nil, fmt.Errorf("path %q: unexpected %q", orig, s[:1])
			}
			p = append(p, PathElem{Key: name, IsKey: true})
			s = s[n:]
		}
	}
	return p, nil
}

// String returns the path in its written form.
func (p Path) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.All:
			b.WriteString("[*]")
		case e.IsKey:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.Key)
		default:
			fmt.Fprintf(&b, "[%d]", e.Index)
		}
	}
	return b.String()
}

// Select returns the part of v at the path. After a [*] the rest of the path
// applies to each element and the result is a list.
func (p Path) Select(v any) (any, error) {
	for i, e := range p {
		switch {
		case e.All:
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: want a list, got %s", Path(p[:i+1]), TypeName(v))
			}
			out := make([]any, len(list))
			for j, el := range list {
				r, err := p[i+1:].Select(el)
				if err != nil {
					return nil, fmt.Errorf("[%d]%w", j, err)
				}
				out[j] = r
			}
			return out, nil
		case e.IsKey:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: want an object, got %s", Path(p[:i+1]), TypeName(v))
			}
			r, ok := m[e.Key]
			if !ok {
				return nil, fmt.Errorf("%s: no key %q (keys: %s)", Path(p[:i+1]), e.Key, strings.Join(keys(m), ", "))
			}
			v = r
		default:
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: want a list, got %s", Path(p[:i+1]), TypeName(v))
			}
			if e.Index >= len(list) {
				return nil, fmt.Errorf("%s: index out of range (length %d)", Path(p[:i+1]), len(list))
			}
			v = list[e.Index]
		}
	}
	return v, nil
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TypeName names the JSON type of a value for messages: [actions.TypeName].
func TypeName(v any) string { return actions.TypeName(v) }

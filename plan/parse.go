package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/schema"
)

// Option configures loading.
type Option func(*loadConfig)

type loadConfig struct {
	registry *actions.Registry
}

// WithRegistry checks action and probe names, their arguments and the
// fields of targets against r instead of [actions.Default]. The plan
// remembers r (see [Plan.Registry]) and runs against it.
func WithRegistry(r *actions.Registry) Option {
	return func(c *loadConfig) { c.registry = r }
}

// Parse loads a runbook from src. The filename is used only in messages. On
// failure the error holds every problem found, each an [*Error], sorted by
// position; the returned plan is then nil.
func Parse(filename string, src []byte, opts ...Option) (*Plan, error) {
	cfg := loadConfig{registry: actions.Default()}
	for _, o := range opts {
		o(&cfg)
	}
	d := &decoder{p: &problems{file: filename, src: newSource(src), schema: map[Pos]bool{}}, cfg: cfg}
	pl := d.load(filename, src)
	if err := d.p.err(); err != nil {
		return nil, err
	}
	return pl, nil
}

// ParseFile reads and loads the runbook file at path.
func ParseFile(path string, opts ...Option) (*Plan, error) {
	return readAndParse(path, func() (io.ReadCloser, error) { return os.Open(path) }, opts)
}

// ParseFS reads and loads the runbook at name in fsys.
func ParseFS(fsys fs.FS, name string, opts ...Option) (*Plan, error) {
	return readAndParse(name, func() (io.ReadCloser, error) { return fsys.Open(name) }, opts)
}

func readAndParse(name string, open func() (io.ReadCloser, error), opts []Option) (*Plan, error) {
	f, err := open()
	if err != nil {
		return nil, fmt.Errorf("read runbook: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read runbook %s: %w", name, err)
	}
	return Parse(name, src, opts...)
}

type decoder struct {
	p    *problems
	cfg  loadConfig
	plan *Plan
	// nodes keeps the YAML node of each `with:` value for argument checks.
	nodes map[*Value]*yaml.Node
	// incomplete steps have unknown keys, which the schema reports: checks
	// of what the step lacks would only repeat the problem.
	incomplete map[*Step]bool
	// deferred checks run once the whole document is decoded.
	deferred []func()
	known    known
	suggest  suggester
	// cols locates the references of the scalar being decoded; colAt is
	// its method value, made once.
	cols  refColumns
	colAt func(off int) Pos
}

func (d *decoder) load(filename string, src []byte) *Plan {
	switch {
	case len(src) > MaxSize:
		d.p.add(ErrTooLarge, d.p.src.pos(MaxSize), 0, "", "runbook is larger than the limit of %d MiB, which it passes here", MaxSize>>20)
		return nil
	case len(bytes.TrimSpace(src)) == 0:
		d.p.add(ErrSyntax, Pos{Line: 1, Column: 1}, 0, "", "runbook is empty: want a mapping with apiVersion, kind, name and steps")
		return nil
	}
	if pos, ok := binaryAt(d.p.src); ok {
		d.p.add(ErrSyntax, pos, 1, "", "not a text file: invalid UTF-8 or a NUL byte here")
		return nil
	}
	root := d.parseWhole(src)
	if root == nil {
		return nil
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		d.p.add(ErrSchema, nodePos(root), 0, "", "a runbook is a mapping with apiVersion, kind, name and steps; got %s", nodeKind(root))
		return nil
	}
	if !d.checkDuplicates(root, 0) {
		return nil
	}
	if alias, msg := aliasProblem(root); alias != nil {
		d.p.add(ErrTooLarge, nodePos(alias), len(alias.Value)+1, "", "%s", msg)
		return nil
	}
	// The schema check and the decoding only read the node tree: they run
	// side by side. A semantic problem at a position where the schema
	// reported one is dropped (see problems.err).
	schemaDone := make(chan []schema.Problem, 1)
	go func() { schemaDone <- schema.Validate(root) }()
	d.nodes = map[*Value]*yaml.Node{}
	d.incomplete = map[*Step]bool{}
	pl := &Plan{Filename: filename, Source: src, registry: d.cfg.registry}
	d.plan = pl
	d.decodePlan(root, pl)
	d.check(pl)
	for _, pr := range <-schemaDone {
		pos := Pos{Line: pr.Line, Column: pr.Column}
		d.p.add(ErrSchema, pos, 0, pr.Suggestion, "%s", pr.Message)
		d.p.schema[pos] = true
	}
	return pl
}

// parseWhole parses the whole document, reporting syntax errors and a
// second document.
func (d *decoder) parseWhole(src []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		d.syntax(err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.p.add(ErrSyntax, Pos{Line: next.Line, Column: next.Column}, 3, "", "a runbook file holds one YAML document; a second one starts here")
		return nil
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return nil
	}
	return &doc
}

func (d *decoder) syntax(err error) {
	pos, msg := syntaxError(d.p.src, err)
	if strings.Contains(msg, "exceeded max depth") {
		d.p.add(ErrTooLarge, pos, 0, "", "runbook is nested too deeply")
		return
	}
	d.p.add(ErrSyntax, pos, 0, "", "%s", msg)
}

// binaryAt returns the position of the first NUL byte or invalid UTF-8.
func binaryAt(s *source) (Pos, bool) {
	src := s.text
	bad := bytes.IndexByte(src, 0)
	if bad < 0 {
		bad = len(src)
	}
	if !utf8.Valid(src[:bad]) {
		for i := 0; i < bad; {
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n <= 1 {
				bad = i
				break
			}
			i += n
		}
	}
	if bad == len(src) {
		return Pos{}, false
	}
	return s.pos(bad), true
}

// checkDuplicates reports duplicate keys in every mapping (yaml.v3 keeps
// both in a node tree) and too deep nesting. It reports false when loading
// cannot go on.
func (d *decoder) checkDuplicates(n *yaml.Node, depth int) bool {
	if depth > 200 {
		d.p.add(ErrTooLarge, nodePos(n), 0, "", "runbook is nested more than 200 levels deep")
		return false
	}
	ok := true
	if n.Kind == yaml.MappingNode {
		var seen map[string]*yaml.Node
		if len(n.Content) > 16 {
			seen = make(map[string]*yaml.Node, len(n.Content)/2)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			var first *yaml.Node
			if seen != nil {
				first = seen[k.Value]
				if first == nil {
					seen[k.Value] = k
				}
			} else {
				for j := 0; j < i; j += 2 {
					if n.Content[j].Value == k.Value {
						first = n.Content[j]
						break
					}
				}
			}
			if first != nil {
				d.p.add(ErrSyntax, nodePos(k), len(k.Value), "", "duplicate key %q (first at line %d)", k.Value, first.Line)
				ok = false
			}
		}
	}
	for _, c := range n.Content {
		if !d.checkDuplicates(c, depth+1) {
			ok = false
		}
	}
	return ok
}

func nodePos(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return fmt.Sprintf("the scalar %q", n.Value)
}

// deref follows aliases as the schema check does: [schema.Deref].
func deref(n *yaml.Node) *yaml.Node { return schema.Deref(n) }

// pairs calls f for each key and value of a mapping node, merge keys
// (<<: *anchor, <<: [*a, *b]) applied as YAML and the schema apply them:
// the mapping's own keys win, then the merged mappings in order.
func pairs(n *yaml.Node, f func(k, v *yaml.Node)) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	seen := map[string]bool{}
	mergePairs(n, seen, 0, f)
}

// maxMergeDepth bounds merges of merges (the loader's alias count already
// bounds their size).
const maxMergeDepth = 64

func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" }

func mergePairs(n *yaml.Node, seen map[string]bool, depth int, f func(k, v *yaml.Node)) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if isMerge(k) {
			merges = append(merges, deref(n.Content[i+1]))
			continue
		}
		if !seen[k.Value] {
			seen[k.Value] = true
			f(k, deref(n.Content[i+1]))
		}
	}
	if depth >= maxMergeDepth {
		return
	}
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m != nil && m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			if src = deref(src); src != nil && src.Kind == yaml.MappingNode {
				mergePairs(src, seen, depth+1, f)
			}
		}
	}
}

func items(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func str(n *yaml.Node) string {
	if n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

func boolean(n *yaml.Node) bool {
	return n != nil && n.Tag == "!!bool" && strings.EqualFold(n.Value, "true")
}

func (d *decoder) decodePlan(root *yaml.Node, pl *Plan) {
	pairs(root, func(k, v *yaml.Node) {
		switch k.Value {
		case "apiVersion":
			pl.APIVersion = str(v)
		case "kind":
			pl.Kind = str(v)
		case "name":
			pl.Name = str(v)
		case "title":
			pl.Title = str(v)
		case "description":
			pl.Description = str(v)
		case "params":
			pairs(v, func(k, v *yaml.Node) { pl.Params = append(pl.Params, d.param(k, v)) })
		case "targets":
			pairs(v, func(k, v *yaml.Node) {
				pl.Targets = append(pl.Targets, &Target{Name: k.Value, Fields: d.args(v), Pos: nodePos(k)})
			})
		case "defaults":
			d.defaults(v, &pl.Defaults)
		case "steps":
			for i, n := range items(v) {
				s := d.step(deref(n))
				s.Index = i
				pl.Steps = append(pl.Steps, s)
			}
		}
	})
}

func (d *decoder) param(k, v *yaml.Node) *Param {
	p := &Param{Name: k.Value, Type: TypeString, Pos: nodePos(k)}
	pairs(v, func(k, v *yaml.Node) {
		switch k.Value {
		case "type":
			if s := str(v); s != "" {
				p.Type = ParamType(s)
			}
		case "description":
			p.Description = str(v)
		case "required":
			p.Required = boolean(v)
		case "secret":
			p.Secret = boolean(v)
		case "changeable_on_resume":
			p.ChangeableOnResume = boolean(v)
		case "default":
			p.Default, p.HasDefault = d.static(v), true
			d.checkParamValue(p, v, "default")
		case "enum":
			for _, e := range items(v) {
				p.Enum = append(p.Enum, d.static(e))
			}
		case "pattern":
			re, err := regexp.Compile(str(v))
			if err != nil {
				d.semantic(ErrPattern, v, "param %q: pattern %q does not compile: %v", p.Name, str(v), err)
				return
			}
			p.Pattern = re
		}
	})
	return p
}

// static decodes a value that may not hold references.
func (d *decoder) static(n *yaml.Node) any {
	v := d.value(n)
	if v == nil {
		return nil
	}
	return v.Raw()
}

func (d *decoder) defaults(n *yaml.Node, df *Defaults) {
	pairs(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "timeout":
			df.Timeout = d.duration(v)
		case "interval":
			df.Interval = d.duration(v)
		case "retry":
			df.Retry = d.retry(v)
		case "on_failure":
			df.OnFailure = FailurePolicy(str(v))
		}
	})
}

func (d *decoder) retry(n *yaml.Node) *Retry {
	r := &Retry{Pos: nodePos(n)}
	pairs(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "attempts":
			r.Attempts, _ = strconv.Atoi(str(v))
		case "interval":
			r.Interval = d.duration(v)
		case "backoff":
			r.Backoff, _ = strconv.ParseFloat(str(v), 64)
		case "max_interval":
			r.MaxInterval = d.duration(v)
		}
	})
	return r
}

func (d *decoder) duration(n *yaml.Node) Duration {
	du := Duration{Pos: nodePos(n)}
	s := str(n)
	if strings.Contains(s, "${") {
		du.Ref = d.value(n)
		return du
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" && n.Tag != "!!int" {
		return du // the schema reports the type
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil && n.Tag == "!!int":
		d.semantic(ErrDuration, n, "%s is a number without a unit: write a duration such as %ss or %sm", s, s, s)
	case err != nil:
		d.semantic(ErrDuration, n, "%q is not a duration: use Go syntax such as 30s, 10m, 1h30m", s)
	case v < 0:
		d.semantic(ErrDuration, n, "duration %q is negative", s)
	}
	du.D = v
	return du
}

func (d *decoder) step(n *yaml.Node) *Step {
	s := &Step{Pos: nodePos(n)}
	pairs(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "id":
			s.ID = str(v)
		case "title":
			s.Title = str(v)
		case "doc":
			s.Doc = str(v)
		case "state":
			s.State = str(v)
		case "when":
			s.When = d.when(v)
		case "pre":
			s.Pre = d.conditions(v)
		case "action":
			s.Action, s.ActionPos = str(v), nodePos(v)
		case "with":
			s.With = d.args(v)
		case "timeout":
			s.Timeout = d.duration(v)
		case "retry":
			s.Retry = d.retry(v)
		case "post":
			s.Post = d.conditions(v)
		case "undo":
			u := &Undo{Pos: nodePos(k)}
			pairs(v, func(k, v *yaml.Node) {
				switch k.Value {
				case "action":
					u.Action, u.Pos = str(v), nodePos(v)
				case "with":
					u.With = d.args(v)
				case "timeout":
					u.Timeout = d.duration(v)
				}
			})
			s.Undo = u
		case "on_failure":
			s.OnFailure = FailurePolicy(str(v))
		default:
			d.incomplete[s] = true // the schema reports the unknown key
		}
	})
	return s
}

// args decodes a `with:` mapping, or the fields of a target, and keeps its
// node for the checks against the registry.
func (d *decoder) args(n *yaml.Node) *Value {
	v := d.value(n)
	if v != nil {
		d.nodes[v] = n
	}
	return v
}

func (d *decoder) when(n *yaml.Node) *Condition {
	if n.Kind == yaml.MappingNode {
		return d.condition(n)
	}
	return &Condition{Value: d.value(n), Pos: nodePos(n)}
}

func (d *decoder) conditions(n *yaml.Node) []*Condition {
	var out []*Condition
	for _, c := range items(n) {
		out = append(out, d.condition(deref(c)))
	}
	return out
}

func (d *decoder) condition(n *yaml.Node) *Condition {
	c := &Condition{Pos: nodePos(n)}
	pairs(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "title":
			c.Title = str(v)
		case "probe":
			c.Probe, c.ProbePos = str(v), nodePos(v)
		case "with":
			c.With = d.args(v)
		case "value":
			c.Value = d.value(v)
			if c.Value == nil {
				c.Value = &Value{Pos: nodePos(v)}
			}
		case "expect":
			c.Expect = d.expect(v)
		case "wait":
			w := &Wait{Pos: nodePos(k)}
			pairs(v, func(k, v *yaml.Node) {
				switch k.Value {
				case "timeout":
					w.Timeout = d.duration(v)
				case "interval":
					w.Interval = d.duration(v)
				}
			})
			c.Wait = w
		case "save":
			c.Save = str(v)
		}
	})
	return c
}

func (d *decoder) expect(n *yaml.Node) *Expect {
	e := &Expect{Pos: nodePos(n)}
	if n.Kind != yaml.MappingNode {
		return e
	}
	unknown := false
	pairs(n, func(k, v *yaml.Node) {
		m := &Matcher{Op: k.Value, Pos: nodePos(k)}
		switch k.Value {
		case "path":
			p, err := ParsePath(str(v))
			if err != nil {
				d.semantic(ErrReference, v, "%v", err)
			}
			e.Path = p
			return
		case "as":
			e.As = str(v) // the schema checks the enum
			return
		case "all", "any", "none":
			m.Nested = d.expect(v)
		case "matches":
			m.Arg = d.value(v)
			if v.Kind == yaml.ScalarNode {
				if strings.Contains(v.Value, "${") {
					d.semantic(ErrPattern, v, "matches: a pattern cannot hold references")
					break
				}
				re, err := regexp.Compile(v.Value)
				if err != nil {
					d.semantic(ErrPattern, v, "matches: %q does not compile: %v", v.Value, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
				}
				m.Regexp = re
			}
		case "equals", "not_equals", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "empty":
			m.Arg = d.value(v)
		default:
			unknown = true // the schema reports unknown matchers
			return
		}
		e.Matchers = append(e.Matchers, m)
	})
	if len(e.Matchers) == 0 && !unknown {
		d.semantic(ErrSchema, n, "expect needs at least one matcher (%s)", strings.Join(matcherOps, ", "))
	}
	return e
}

// value decodes any YAML value, parsing references in strings.
func (d *decoder) value(n *yaml.Node) *Value {
	n = deref(n)
	if n == nil {
		return nil
	}
	v := &Value{Pos: nodePos(n)}
	v.v = d.decode(n, v)
	return v
}

func (d *decoder) decode(n *yaml.Node, into *Value) any {
	n = deref(n)
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		pairs(n, func(k, v *yaml.Node) { m[k.Value] = d.decode(v, into) })
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = d.decode(c, into)
		}
		return l
	case yaml.ScalarNode:
		return d.scalar(n, into)
	}
	return nil
}

func (d *decoder) scalar(n *yaml.Node, into *Value) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		return strings.EqualFold(n.Value, "true")
	case "!!int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return i
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			return f
		}
		return n.Value
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			return f
		}
		return n.Value
	}
	s := n.Value
	if !strings.Contains(s, "${") {
		return s
	}
	d.cols.reset(d.p.src, n)
	if d.colAt == nil {
		d.colAt = d.cols.at
	}
	col := d.colAt
	t, lit, err := parseTemplate(s, nodePos(n), col)
	if err != nil {
		var re *refError
		pos := nodePos(n)
		if errors.As(err, &re) {
			pos = col(re.off)
		}
		d.p.add(ErrReference, pos, 0, "", "%s", err.Error())
		return s
	}
	if t == nil {
		return lit
	}
	for _, p := range t.Parts {
		if p.Ref != nil {
			into.refs = append(into.refs, p.Ref)
		}
	}
	return t
}

// refColumns gives the source position of byte offsets in the value of a
// scalar, in increasing order: it walks the value and its source text once,
// side by side, so that the escapes of a quoted scalar (a "\t", a doubled
// single quote) count as written. A value that is not written on one line
// as it is (a block scalar, a scalar folded over lines, a tagged one) maps
// every offset to the scalar's position. The decoder keeps one and resets
// it for each scalar.
type refColumns struct {
	n      *yaml.Node
	line   []byte // the source line of the scalar
	quote  byte   // of a quoted scalar
	whole  bool   // every offset maps to the scalar's position
	i, col int    // the offset in line reached, and its column
	v      int    // bytes of the value walked
}

func (c *refColumns) reset(src *source, n *yaml.Node) {
	*c = refColumns{n: n, col: n.Column}
	if src == nil || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || strings.Contains(n.Value, "\n") {
		c.whole = true
		return
	}
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		c.quote = '"'
	case n.Style&yaml.SingleQuotedStyle != 0:
		c.quote = '\''
	}
	c.line = src.line(n.Line)
	c.i = src.runeOffset(c.line, n.Line, n.Column-1)
	if c.quote == 0 {
		return
	}
	if c.i >= len(c.line) || c.line[c.i] != c.quote {
		c.whole = true
		return
	}
	c.i, c.col = c.i+1, c.col+1
}

// at returns the position of byte off of the value.
func (c *refColumns) at(off int) Pos {
	if off < c.v {
		c.whole = true
	}
	for !c.whole && c.v < off {
		r, size := utf8.DecodeRuneInString(c.n.Value[c.v:])
		line, i := c.line, c.i
		w := 0 // bytes of source that wrote r
		switch {
		case i >= len(line):
		case c.quote == '"' && line[i] == '\\':
			w = escapeLen(line[i:])
		case c.quote == '\'' && r == '\'':
			if i+1 < len(line) && line[i+1] == '\'' {
				w = 2
			}
		default:
			if sr, ss := utf8.DecodeRune(line[i:]); sr == r {
				w = ss
			}
		}
		if w == 0 || i+w > len(line) {
			c.whole = true
			break
		}
		c.v, c.i, c.col = c.v+size, i+w, c.col+utf8.RuneCount(line[i:i+w])
	}
	if c.whole {
		return nodePos(c.n)
	}
	return Pos{Line: c.n.Line, Column: c.col}
}

// escapeLen returns the length of the escape sequence of a double-quoted
// YAML scalar at the start of b, which starts with a backslash.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case 'x':
		return 4
	case 'u':
		return 6
	case 'U':
		return 10
	}
	return 2
}

// semantic reports a problem at a node unless the schema already reported
// one there.
func (d *decoder) semantic(kind error, n *yaml.Node, format string, args ...any) {
	pos := nodePos(n)
	length := 0
	if n.Kind == yaml.ScalarNode && !strings.Contains(n.Value, "\n") {
		length = utf8.RuneCountInString(n.Value)
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			length += 2
		}
	}
	d.p.addSoft(kind, pos, length, format, args...)
}

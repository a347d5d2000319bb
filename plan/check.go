package plan

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/schema"
)

// Check reports whether v fits the param's declared type, enum and pattern.
// It does not convert: see [Param.Convert] for values given as text.
func (p *Param) Check(v any) error {
	if err := checkType(p.Type, v); err != nil {
		return err
	}
	if len(p.Enum) > 0 {
		found := false
		for _, e := range p.Enum {
			if equalScalar(e, v) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s is not one of %s", Format(quoteIfString(v)), formatEnum(p.Enum))
		}
	}
	if p.Pattern != nil {
		if s, ok := v.(string); ok && !p.Pattern.MatchString(s) {
			return fmt.Errorf("%q does not match the pattern %s", s, p.Pattern)
		}
	}
	return nil
}

func quoteIfString(v any) any {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return v
}

func formatEnum(enum []any) string {
	parts := make([]string, len(enum))
	for i, e := range enum {
		parts[i] = Format(e)
	}
	return strings.Join(parts, ", ")
}

func equalScalar(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	return a == b
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func checkType(t ParamType, v any) error {
	ok := false
	switch t {
	case TypeString, "":
		_, ok = v.(string)
	case TypeInteger:
		switch n := v.(type) {
		case int, int64:
			ok = true
		case float64:
			ok = n == float64(int64(n))
		}
	case TypeNumber:
		_, ok = toFloat(v)
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeDuration:
		s, isStr := v.(string)
		if !isStr {
			return fmt.Errorf("want a duration such as 30s or 10m, got %s %s", TypeName(v), Format(v))
		}
		if _, err := time.ParseDuration(s); err != nil {
			return fmt.Errorf("%q is not a duration: use Go syntax such as 30s, 10m, 1h30m", s)
		}
		return nil
	case TypeList:
		_, ok = v.([]any)
	case TypeObject:
		_, ok = v.(map[string]any)
	default:
		return fmt.Errorf("unknown type %q", t)
	}
	if !ok {
		return fmt.Errorf("want %s, got %s %s", article(string(t)), TypeName(v), Format(quoteIfString(v)))
	}
	return nil
}

func article(t string) string {
	if t == "" {
		t = "string"
	}
	if strings.ContainsAny(t[:1], "aeiou") {
		return "an " + t
	}
	return "a " + t
}

func (d *decoder) checkParamValue(p *Param, n *yaml.Node, what string) {
	v := d.static(n)
	// The type and enum may come after the default in the mapping: check
	// once the param is complete.
	d.deferred = append(d.deferred, func() {
		if err := p.Check(v); err != nil {
			d.semantic(ErrType, n, "param %q: %s %v", p.Name, what, err)
		}
	})
}

// scope is what references may name at a point of the runbook.
type scope struct {
	params map[string]*Param
	vars   map[string]bool
	steps  map[string]*Step // earlier steps
	// stepNames are the ids of the earlier steps, for suggestions.
	stepNames names
}

// known holds, for suggestions, the names a runbook defines in the order it
// defines them (targets sorted), and those of the registry.
type known struct {
	params, saves, targets names
	targetList             []string // every target, sorted, for messages
	registry               map[actions.Kind]*names
}

func (d *decoder) check(pl *Plan) {
	for _, f := range d.deferred {
		f()
	}
	reg := d.cfg.registry
	sc := &scope{params: map[string]*Param{}, vars: map[string]bool{}, steps: map[string]*Step{}}
	for _, p := range pl.Params {
		sc.params[p.Name] = p
		d.known.params.add(p.Name)
		for _, e := range p.Enum {
			if err := checkType(p.Type, e); err != nil {
				d.p.add(ErrType, p.Pos, len(p.Name), "", "param %q: enum value %s", p.Name, err)
			}
		}
	}
	// Where every var is saved and every step is, for messages about
	// references that come too early.
	saves := map[string]Pos{}
	allSteps := map[string]*Step{}
	for _, s := range pl.Steps {
		if first, dup := allSteps[s.ID]; dup && s.ID != "" {
			d.p.add(ErrDuplicateID, s.Pos, 0, "", "duplicate step id %q (first at line %d)", s.ID, first.Pos.Line)
		} else {
			allSteps[s.ID] = s
		}
		for _, c := range append(append([]*Condition{}, s.Pre...), s.Post...) {
			if _, ok := saves[c.Save]; c.Save != "" && !ok {
				saves[c.Save] = c.Pos
				d.known.saves.add(c.Save)
			}
		}
	}
	paramsOnly := &scope{params: sc.params}
	for _, t := range pl.Targets {
		d.refs(t.Fields, paramsOnly, nil, saves, allSteps)
	}
	d.checkTargets(pl, reg)
	d.durationRefs(pl.Defaults.Timeout, paramsOnly, nil, saves, allSteps)
	d.durationRefs(pl.Defaults.Interval, paramsOnly, nil, saves, allSteps)
	targets := map[string]bool{}
	for _, t := range pl.Targets {
		if !targets[t.Name] {
			d.known.targetList = append(d.known.targetList, t.Name)
		}
		targets[t.Name] = true
	}
	sort.Strings(d.known.targetList)
	for _, t := range d.known.targetList {
		d.known.targets.add(t)
	}
	for _, s := range pl.Steps {
		if s.Action == "" && len(s.Pre) == 0 && len(s.Post) == 0 && !d.incomplete[s] {
			d.p.addSoft(ErrSchema, s.Pos, 0, "step %q does nothing: give it an action, pre or post conditions", s.ID)
		}
		if s.When != nil {
			d.checkCondition(s.When, sc, s, saves, allSteps, reg, targets)
			d.checkWhen(s.When, sc)
		}
		for _, c := range s.Pre {
			d.checkCondition(c, sc, s, saves, allSteps, reg, targets)
			if c.Save != "" {
				sc.vars[c.Save] = true
			}
		}
		if s.Action != "" {
			d.call(actions.KindAction, s.Action, s.ActionPos, s.With, reg, targets)
		} else if s.With != nil {
			d.p.add(ErrSchema, s.With.Pos, 0, "", "step %q has `with` but no action", s.ID)
		}
		d.refs(s.With, sc, s, saves, allSteps)
		d.durationRefs(s.Timeout, sc, s, saves, allSteps)
		if s.Retry != nil {
			d.durationRefs(s.Retry.Interval, sc, s, saves, allSteps)
			d.durationRefs(s.Retry.MaxInterval, sc, s, saves, allSteps)
		}
		// Postconditions and the undo may use the step's own outputs.
		if _, dup := sc.steps[s.ID]; !dup {
			sc.stepNames.add(s.ID)
		}
		sc.steps[s.ID] = s
		for _, c := range s.Post {
			d.checkCondition(c, sc, s, saves, allSteps, reg, targets)
			if c.Save != "" {
				sc.vars[c.Save] = true
			}
		}
		if u := s.Undo; u != nil {
			d.call(actions.KindAction, u.Action, u.Pos, u.With, reg, targets)
			d.refs(u.With, sc, s, saves, allSteps)
			d.durationRefs(u.Timeout, sc, s, saves, allSteps)
		}
		sc.steps[s.ID] = s
	}
}

func (d *decoder) checkCondition(c *Condition, sc *scope, s *Step, saves map[string]Pos, all map[string]*Step, reg *actions.Registry, targets map[string]bool) {
	if c.Probe != "" {
		d.call(actions.KindProbe, c.Probe, c.ProbePos, c.With, reg, targets)
		d.refs(c.With, sc, s, saves, all)
	}
	d.refs(c.Value, sc, s, saves, all)
	d.expectRefs(c.Expect, sc, s, saves, all)
	if c.Wait != nil {
		d.durationRefs(c.Wait.Timeout, sc, s, saves, all)
		d.durationRefs(c.Wait.Interval, sc, s, saves, all)
		if c.Wait.Interval.IsSet() && c.Wait.Timeout.IsSet() && c.Wait.Interval.Ref == nil && c.Wait.Timeout.Ref == nil && c.Wait.Interval.D > c.Wait.Timeout.D {
			d.p.add(ErrDuration, c.Wait.Interval.Pos, 0, "", "wait interval %s is longer than its timeout %s", c.Wait.Interval.D, c.Wait.Timeout.D)
		}
	}
}

func (d *decoder) expectRefs(e *Expect, sc *scope, s *Step, saves map[string]Pos, all map[string]*Step) {
	if e == nil {
		return
	}
	for _, m := range e.Matchers {
		d.refs(m.Arg, sc, s, saves, all)
		d.expectRefs(m.Nested, sc, s, saves, all)
		if m.Arg == nil {
			continue
		}
		if st, ok := m.Arg.Static(); ok {
			switch m.Op {
			case "gt", "gte", "lt", "lte":
				if _, isNum := toFloat(st); !isNum {
					if _, isStr := st.(string); !isStr {
						d.p.addSoft(ErrType, m.Arg.Pos, 0, "%s: want a number or a dotted version such as 6.3.10.1, got %s", m.Op, TypeName(st))
					}
				}
			case "in", "not_in":
				if _, isList := st.([]any); !isList {
					d.p.addSoft(ErrType, m.Arg.Pos, 0, "%s: want a list, got %s", m.Op, TypeName(st))
				}
			case "empty":
				if _, isBool := st.(bool); !isBool {
					d.p.addSoft(ErrType, m.Arg.Pos, 0, "empty: want true or false, got %s", TypeName(st))
				}
			}
		}
	}
}

func (d *decoder) durationRefs(du Duration, sc *scope, s *Step, saves map[string]Pos, all map[string]*Step) {
	if du.Ref == nil {
		return
	}
	d.refs(du.Ref, sc, s, saves, all)
	if t, ok := du.Ref.v.(*Template); ok && (len(t.Parts) != 1 || t.Parts[0].Ref == nil) {
		d.p.add(ErrDuration, du.Pos, 0, "", "a duration must be a literal such as 10m or a single reference, not %q", t.Source)
		return
	}
	for _, r := range du.Ref.refs {
		if p := sc.params[r.Name]; r.Scope == ScopeParams && p != nil && p.Type != TypeDuration && p.Type != TypeString {
			d.p.add(ErrType, r.Pos, len(r.Source), "", "%s is a param of type %s; a duration needs a param of type duration", r.Source, p.Type)
		}
	}
}

// checkWhen reports a `when` that is not boolean-valued.
func (d *decoder) checkWhen(c *Condition, sc *scope) {
	if c.Expect != nil || c.Probe != "" || c.Value == nil {
		return
	}
	switch v := c.Value.v.(type) {
	case bool:
		return
	case *Template:
		if len(v.Parts) != 1 || v.Parts[0].Ref == nil {
			d.p.add(ErrType, c.Pos, 0, "", "when: %q is text, not a boolean: use a single reference such as ${params.maintain_dr}, or a condition with expect", v.Source)
			return
		}
		r := v.Parts[0].Ref
		if p := sc.params[r.Name]; r.Scope == ScopeParams && p != nil && len(r.Path) == 0 && p.Type != TypeBoolean {
			d.p.add(ErrType, r.Pos, len(r.Source), "", "when: %s is a param of type %s, not boolean: compare it with a condition (value: %s, expect: {equals: ...})", r.Source, p.Type, r.Source)
		}
	default:
		d.p.addSoft(ErrType, c.Pos, 0, "when: want true, false, a reference or a condition, got %s %s", TypeName(v), Format(quoteIfString(v)))
	}
}

// checkTargets checks the fields of every target against those that the
// actions and probes of the registry declare.
func (d *decoder) checkTargets(pl *Plan, reg *actions.Registry) {
	if reg == nil || len(pl.Targets) == 0 {
		return
	}
	sch, err := reg.TargetSchema()
	if err != nil {
		d.p.add(ErrSchema, pl.Targets[0].Pos, 0, "", "targets cannot be checked: %v", err)
		return
	}
	for _, t := range pl.Targets {
		n := d.nodes[t.Fields]
		if n == nil || n.Kind != yaml.MappingNode {
			continue // the runbook schema reports a target that is no mapping
		}
		for _, pr := range schema.ValidateAgainst(sch, n, "") {
			d.p.add(ErrSchema, Pos{Line: pr.Line, Column: pr.Column}, 0, pr.Suggestion, "%s", pr.Message)
		}
	}
}

// call checks an action or probe name and its arguments against the registry.
func (d *decoder) call(kind actions.Kind, name string, pos Pos, with *Value, reg *actions.Registry, targets map[string]bool) {
	if name == "" || reg == nil {
		return
	}
	sch, ok := reg.ArgsSchema(kind, name)
	if !ok {
		other := actions.KindProbe
		if kind == actions.KindProbe {
			other = actions.KindAction
		}
		if _, isOther := reg.Spec(other, name); isOther {
			d.p.add(ErrUnknown, pos, len(name), "", "%q is a %s, not a%s %s", name, other, map[bool]string{true: "n", false: ""}[kind == actions.KindAction], kind)
			return
		}
		d.p.add(ErrUnknown, pos, len(name), d.suggestRegistered(kind, name), "unknown %s %q", kind, name)
		return
	}
	node := d.nodes[with]
	if node == nil {
		node = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: pos.Line, Column: pos.Column}
	}
	for _, pr := range schema.ValidateAgainst(sch, node, fmt.Sprintf("%s %q", kind, name)) {
		d.p.add(ErrArgs, Pos{Line: pr.Line, Column: pr.Column}, 0, pr.Suggestion, "%s", pr.Message)
	}
	if with == nil {
		return
	}
	if m, ok := with.v.(map[string]any); ok {
		if t, ok := m["target"].(string); ok && !targets[t] {
			tpos := with.Pos
			pairs(node, func(k, v *yaml.Node) {
				if k.Value == "target" {
					tpos = nodePos(v)
				}
			})
			msg := fmt.Sprintf("unknown target %q", t)
			if len(d.known.targetList) == 0 {
				msg += ": the runbook defines no targets"
			} else {
				msg += " (targets: " + listNames(d.known.targetList) + ")"
			}
			d.p.add(ErrReference, tpos, len(t), d.suggest.suggest(t, &d.known.targets, len(d.known.targetList)), "%s", msg)
		}
	}
}

// refs checks every reference in v against what is known at this point.
func (d *decoder) refs(v *Value, sc *scope, s *Step, saves map[string]Pos, all map[string]*Step) {
	for _, r := range v.Refs() {
		d.ref(r, sc, s, saves, all)
	}
}

func (d *decoder) ref(r *Ref, sc *scope, s *Step, saves map[string]Pos, all map[string]*Step) {
	bad := func(suggestion, format string, args ...any) {
		d.p.add(ErrReference, r.Pos, len(r.Source), suggestion, format, args...)
	}
	switch r.Scope {
	case ScopeParams:
		if sc.params[r.Name] == nil {
			bad(d.suggest.suggest(r.Name, &d.known.params, len(sc.params)), "%s: unknown param %q", r.Source, r.Name)
		}
	case ScopeVars:
		if sc.vars == nil {
			bad("", "%s: only params may be referred to here", r.Source)
			return
		}
		if sc.vars[r.Name] {
			return
		}
		if at, later := saves[r.Name]; later {
			bad("", "%s is used before it is saved (saved at line %d): a reference may only use a save that comes before it", r.Source, at.Line)
			return
		}
		bad(d.suggest.suggest(r.Name, &d.known.saves, len(saves)), "%s: unknown var %q: no condition saves it (save: %s)", r.Source, r.Name, r.Name)
	case ScopeSteps:
		if sc.steps == nil {
			bad("", "%s: only params may be referred to here", r.Source)
			return
		}
		target, earlier := sc.steps[r.Name]
		if !earlier {
			switch later := all[r.Name]; {
			case later != nil && s != nil && later == s:
				bad("", "%s: a step's own outputs exist only after its action: use them in post or undo", r.Source)
			case later != nil:
				bad("", "%s refers to step %q, which comes later (line %d): a step may only use outputs of steps before it", r.Source, r.Name, later.Pos.Line)
			default:
				bad(d.suggest.suggest(r.Name, &sc.stepNames, len(sc.steps)), "%s: unknown step %q", r.Source, r.Name)
			}
			return
		}
		if target.Action == "" {
			bad("", "%s: step %q has no action, so no outputs", r.Source, r.Name)
			return
		}
		if d.cfg.registry == nil {
			return
		}
		spec, ok := d.cfg.registry.Spec(actions.KindAction, target.Action)
		if !ok || spec.HasOutput(r.Output) {
			return
		}
		names := make([]string, len(spec.Outputs))
		for i, o := range spec.Outputs {
			names[i] = o.Name
		}
		if len(names) == 0 {
			bad("", "%s: action %q of step %q has no outputs", r.Source, target.Action, r.Name)
			return
		}
		bad(schema.Suggest(r.Output, names), "%s: action %q has no output %q (outputs: %s)", r.Source, target.Action, r.Output, strings.Join(names, ", "))
	}
}

// suggestRegistered suggests a registered action or probe for name.
func (d *decoder) suggestRegistered(kind actions.Kind, name string) string {
	n := d.known.registry[kind]
	if n == nil {
		n = &names{}
		for _, r := range d.cfg.registry.Names(kind) {
			n.add(r)
		}
		if d.known.registry == nil {
			d.known.registry = map[actions.Kind]*names{}
		}
		d.known.registry[kind] = n
	}
	return d.suggest.suggest(name, n, len(n.list))
}

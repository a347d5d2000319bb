package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/csmplan/csmplan/actions"
)

// annotations are the keywords kept beside a relaxed schema, for editors.
var annotations = []string{"title", "description", "markdownDescription", "default", "examples", "deprecated", "readOnly", "writeOnly"}

// Full returns the runbook schema extended with the arguments of every
// action and probe in r, for editors: for a step with `action: NAME`, its
// `with` is checked against NAME's argument schema (if/then on the action
// name), and likewise for the probe of a condition and the action of an
// undo; action and probe names are limited to those registered. The
// argument schemas are embedded under $defs as "action:NAME" and
// "probe:NAME", with their local references ("#/...") rewritten. Since any
// value in `with` may be a whole reference string, each argument schema is
// relaxed: wherever a value is expected (properties, patternProperties,
// additionalProperties, items, prefixItems, recursively), a string such as
// "${params.x}" is also accepted.
//
// A target may hold the fields the specs of r declare (see
// [actions.Spec.TargetFields]) and no other, as when a runbook is loaded;
// each field's schema is embedded under $defs as "target:FIELD" and
// relaxed likewise.
func Full(r *actions.Registry) ([]byte, error) {
	var doc map[string]any
	if err := decodeJSON(runbookJSON, &doc); err != nil {
		return nil, fmt.Errorf("runbook schema: %w", err)
	}
	defs := doc["$defs"].(map[string]any)
	step := defs["step"].(map[string]any)
	undo := defs["undo"].(map[string]any)
	cond := defs["condition"].(map[string]any)
	var stepIfs, undoIfs, condIfs []any
	for _, kind := range []actions.Kind{actions.KindAction, actions.KindProbe} {
		specs := r.Specs(kind)
		names := make([]any, 0, len(specs))
		for _, spec := range specs {
			names = append(names, spec.Name)
			raw := spec.Args
			if len(bytes.TrimSpace(raw)) == 0 {
				raw = actions.NoArgs
			}
			var args any
			if err := decodeJSON(raw, &args); err != nil {
				return nil, fmt.Errorf("arguments schema of %s %q: %w", kind, spec.Name, err)
			}
			key := string(kind) + ":" + spec.Name
			ref := "#/$defs/" + pointerEscape(key)
			if m, ok := args.(map[string]any); ok {
				delete(m, "$schema")
				delete(m, "$id")
				if _, ok := m["description"]; !ok && spec.Summary != "" {
					m["description"] = spec.Summary
				}
			}
			args = rewriteRefs(args, ref)
			defs[key] = relax(args)
			field := "action"
			if kind == actions.KindProbe {
				field = "probe"
			}
			then := map[string]any{"properties": map[string]any{"with": map[string]any{"$ref": ref}}}
			if m, ok := args.(map[string]any); ok {
				if req, ok := m["required"].([]any); ok && len(req) > 0 {
					then["required"] = []any{"with"}
				}
			}
			rule := map[string]any{
				"if": map[string]any{
					"properties": map[string]any{field: map[string]any{"const": spec.Name}},
					"required":   []any{field},
				},
				"then": then,
			}
			if kind == actions.KindProbe {
				condIfs = append(condIfs, rule)
			} else {
				stepIfs = append(stepIfs, rule)
				undoIfs = append(undoIfs, rule)
			}
		}
		if len(names) == 0 {
			continue
		}
		if kind == actions.KindProbe {
			setEnum(cond, "probe", names)
		} else {
			setEnum(step, "action", names)
			setEnum(undo, "action", names)
		}
	}
	if len(stepIfs) > 0 {
		step["allOf"] = stepIfs
		undo["allOf"] = undoIfs
	}
	if len(condIfs) > 0 {
		cond["allOf"] = condIfs
	}
	if err := targetFields(defs, r.TargetFields()); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("full runbook schema: %w", err)
	}
	out = append(out, '\n')
	if _, err := Compile(RunbookURL, out); err != nil {
		return nil, fmt.Errorf("full runbook schema: %w", err)
	}
	return out, nil
}

// targetFields closes the target of the runbook schema to the fields
// declared, each embedded under $defs as "target:FIELD".
func targetFields(defs map[string]any, fields map[string]json.RawMessage) error {
	target := defs["target"].(map[string]any)
	props := make(map[string]any, len(fields))
	for name, raw := range fields {
		var s any
		if err := decodeJSON(raw, &s); err != nil {
			return fmt.Errorf("schema of target field %q: %w", name, err)
		}
		key := "target:" + name
		ref := "#/$defs/" + pointerEscape(key)
		prop := map[string]any{"$ref": ref}
		if m, ok := s.(map[string]any); ok {
			delete(m, "$schema")
			delete(m, "$id")
			for _, a := range annotations {
				if v, ok := m[a]; ok {
					prop[a] = v
				}
			}
		}
		defs[key] = relax(rewriteRefs(s, ref))
		props[name] = acceptRef(prop)
	}
	target["properties"] = props
	target["additionalProperties"] = false
	return nil
}

func decodeJSON(src []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	return dec.Decode(v)
}

// setEnum limits the names allowed for the property prop of object schema s.
func setEnum(s map[string]any, prop string, names []any) {
	props := s["properties"].(map[string]any)
	p := props[prop].(map[string]any)
	p["enum"] = names
}

func pointerEscape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// rewriteRefs makes the local references of a schema embedded at base
// ("#/$defs/action:exec") point inside it.
func rewriteRefs(s any, base string) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	each := func(x any) any { return rewriteRefs(x, base) }
	for k, v := range m {
		switch k {
		case "$ref":
			if r, ok := v.(string); ok && (r == "#" || strings.HasPrefix(r, "#/")) {
				m[k] = base + r[1:]
			}
		case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
			m[k] = mapSchemas(v, each)
		case "allOf", "anyOf", "oneOf", "prefixItems":
			list, _ := v.([]any)
			m[k] = listSchemas(list, each)
		case "items", "additionalProperties", "additionalItems", "unevaluatedProperties", "unevaluatedItems",
			"not", "if", "then", "else", "contains", "propertyNames", "contentSchema":
			if list, ok := v.([]any); ok {
				m[k] = listSchemas(list, each)
			} else {
				m[k] = rewriteRefs(v, base)
			}
		}
	}
	return m
}

// relax returns schema s where every place that expects a value also
// accepts a whole reference string.
func relax(s any) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch k {
		case "properties", "patternProperties":
			out[k] = mapSchemas(v, func(x any) any { return acceptRef(relax(x)) })
		case "additionalProperties", "items", "additionalItems", "unevaluatedProperties", "unevaluatedItems":
			if list, ok := v.([]any); ok { // draft-07 tuple items
				out[k] = listSchemas(list, func(x any) any { return acceptRef(relax(x)) })
			} else {
				out[k] = acceptRef(relax(v))
			}
		case "prefixItems":
			list, _ := v.([]any)
			out[k] = listSchemas(list, func(x any) any { return acceptRef(relax(x)) })
		case "allOf", "anyOf", "oneOf":
			list, _ := v.([]any)
			out[k] = listSchemas(list, relax)
		case "then", "else":
			out[k] = relax(v)
		case "dependentSchemas", "$defs", "definitions":
			out[k] = mapSchemas(v, relax)
		default:
			out[k] = v
		}
	}
	return out
}

// acceptRef wraps a schema so that a whole reference string also passes:
// {"if": reference, "else": s}, which keeps the errors of s precise.
func acceptRef(s any) any {
	m, ok := s.(map[string]any)
	if !ok || !constrains(m) {
		return s // false stays false (no value wanted); true needs nothing
	}
	w := map[string]any{
		"if":   map[string]any{"$ref": "#/$defs/reference"},
		"else": m,
	}
	for _, a := range annotations {
		if v, ok := m[a]; ok {
			w[a] = v
		}
	}
	return w
}

// constrains tells whether a schema object has any keyword besides
// annotations.
func constrains(m map[string]any) bool {
outer:
	for k := range m {
		for _, a := range annotations {
			if k == a {
				continue outer
			}
		}
		if k == "$comment" {
			continue
		}
		return true
	}
	return false
}

func mapSchemas(v any, f func(any) any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, s := range m {
		out[k] = f(s)
	}
	return out
}

func listSchemas(list []any, f func(any) any) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = f(s)
	}
	return out
}

package actions

import (
	"encoding/json"
	"sort"
	"strings"
)

// ArgDoc documents one argument of an action or probe, read from its
// argument schema.
type ArgDoc struct {
	Name        string
	Type        string
	Required    bool
	Description string
}

// ArgDocs returns the documented arguments of the spec's argument schema:
// its top-level properties, required ones first, then by name.
func (s Spec) ArgDocs() []ArgDoc {
	var sch struct {
		Properties map[string]struct {
			Type        any    `json:"type"`
			Description string `json:"description"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if len(s.Args) == 0 || json.Unmarshal(s.Args, &sch) != nil {
		return nil
	}
	req := map[string]bool{}
	for _, r := range sch.Required {
		req[r] = true
	}
	out := make([]ArgDoc, 0, len(sch.Properties))
	for name, p := range sch.Properties {
		t := "any"
		switch v := p.Type.(type) {
		case string:
			t = v
		case []any:
			parts := make([]string, 0, len(v))
			for _, x := range v {
				if s, ok := x.(string); ok {
					parts = append(parts, s)
				}
			}
			t = strings.Join(parts, "|")
		}
		out = append(out, ArgDoc{Name: name, Type: t, Required: req[name], Description: p.Description})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Required != out[j].Required {
			return out[i].Required
		}
		return out[i].Name < out[j].Name
	})
	return out
}

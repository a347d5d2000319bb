package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Brief formats a value for a message: strings quoted, null as null, other
// values as Format does, cut to 200 characters.
func Brief(v any) string {
	var s string
	switch t := v.(type) {
	case string:
		s = strconv.Quote(t)
	case nil:
		s = "null"
	default:
		s = Format(v)
	}
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// String says what the condition checks, as a person reads it: its title,
// or its subject and expectation, such as
// `csm.ha(target=primary) role equals "Active"`.
func (c *Condition) String() string {
	c.descOnce.Do(func() {
		c.desc = c.Title
		if c.desc == "" {
			c.desc = c.Subject() + " " + c.Expect.String()
		}
	})
	return c.desc
}

// Subject describes what the condition looks at: the probe with its
// arguments, or the value as written.
func (c *Condition) Subject() string {
	if c.Probe == "" {
		if s, ok := c.Value.Raw().(string); ok {
			return s
		}
		return Brief(c.Value.Raw())
	}
	raw, ok := c.With.Raw().(map[string]any)
	if !ok || len(raw) == 0 {
		return c.Probe
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + Format(raw[k])
	}
	return c.Probe + "(" + strings.Join(parts, ", ") + ")"
}

// String renders the expectation, e.g. `role equals "Active"`; a nil
// expectation reads "is true".
func (e *Expect) String() string {
	if e == nil {
		return "is true"
	}
	e.descOnce.Do(func() { e.desc = e.describe() })
	return e.desc
}

func (e *Expect) describe() string {
	var parts []string
	for _, m := range e.Matchers {
		switch {
		case m.Nested != nil:
			parts = append(parts, m.Op+" ("+m.Nested.String()+")")
		case m.Op == "matches":
			parts = append(parts, fmt.Sprintf("matches /%s/", Format(m.Arg.Raw())))
		default:
			parts = append(parts, m.Op+" "+Brief(m.Arg.Raw()))
		}
	}
	s := strings.Join(parts, " and ")
	if e.As != "" {
		s += " (as a " + e.As + ")"
	}
	if len(e.Path) > 0 {
		s = e.Path.String() + " " + s
	}
	return s
}

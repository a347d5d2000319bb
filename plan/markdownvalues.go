package plan

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/internal/termsafe"
)

// paramRef matches a reference to a whole param, ${params.NAME}, with
// the character before it (a "$" makes it the literal text $${...}).
var paramRef = regexp.MustCompile(`(^|[^$])\$\{params\.([A-Za-z_][A-Za-z0-9_]*)\}`)

// WriteMarkdownValues renders the runbook as [WriteMarkdown] does, for
// one change: values are the params of that change (as bound, defaults
// included). The document lists them after the params, and shows each
// value in place of the references to it (${params.NAME}) in targets,
// arguments, conditions and timeouts. A secret param's value is never
// shown: the list says it is given, and its references stay as written.
// A param without a value keeps its references.
func WriteMarkdownValues(w io.Writer, p *Plan, reg *actions.Registry, values map[string]any) error {
	var doc bytes.Buffer
	if err := WriteMarkdown(&doc, p, reg); err != nil {
		return err
	}
	text := doc.String()
	shown := map[string]string{}
	var table strings.Builder
	table.WriteString("## Values of this change\n\n| name | value |\n|---|---|\n")
	for _, prm := range p.Params {
		v, ok := values[prm.Name]
		cellText := "(not given)"
		switch {
		case ok && prm.Secret:
			cellText = "(secret, given)"
		case ok:
			s := termsafe.String(Format(v))
			shown[prm.Name] = strings.ReplaceAll(s, "`", "'")
			cellText = code(s)
			if s == "" {
				cellText = "(empty)"
			}
		}
		fmt.Fprintf(&table, "| `%s` | %s |\n", prm.Name, cell(cellText))
	}
	table.WriteString("\n")
	// The references, in the text after the list of params (whose
	// descriptions keep them as written).
	at := strings.Index(text, "## Targets\n")
	if at < 0 {
		at = strings.Index(text, "## Procedure\n")
	}
	if at < 0 {
		at = len(text)
	}
	rest := paramRef.ReplaceAllStringFunc(text[at:], func(m string) string {
		g := paramRef.FindStringSubmatch(m)
		if v, ok := shown[g[2]]; ok {
			return g[1] + v
		}
		return m
	})
	_, err := io.WriteString(w, text[:at]+table.String()+rest)
	return err
}

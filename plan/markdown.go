package plan

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/internal/termsafe"
)

// WriteMarkdown renders the runbook as a Markdown procedure a person can
// follow and review: its params and targets, then numbered steps with what
// is checked before and after each, the action, timeouts, retries and what
// happens on failure. reg, when not nil, provides the actions' summaries.
//
// The runbook's text may hold anything: the document is written with its
// control characters and the like escaped (package termsafe), newlines
// kept, so that it is safe to show on a terminal; a heading is one line.
func WriteMarkdown(w io.Writer, p *Plan, reg *actions.Registry) error {
	var doc bytes.Buffer
	b := bufio.NewWriter(&doc)
	title := p.Title
	if title == "" {
		title = p.Name
	}
	fmt.Fprintf(b, "# %s\n\n", termsafe.String(title))
	fmt.Fprintf(b, "Runbook `%s` (%s), %d steps. This document is rendered from the runbook: edit the runbook, not this text.\n\n", p.Name, p.APIVersion, len(p.Steps))
	if p.Description != "" {
		fmt.Fprintf(b, "%s\n\n", strings.TrimSpace(p.Description))
	}
	if len(p.Params) > 0 {
		fmt.Fprintf(b, "## Parameters\n\n| name | type | default | description |\n|---|---|---|---|\n")
		for _, prm := range p.Params {
			def := ""
			switch {
			case prm.Required:
				def = "**required**"
			case prm.Secret && prm.HasDefault:
				def = "(secret)"
			case prm.HasDefault:
				def = code(Format(prm.Default))
				if prm.Default == "" {
					def = "(empty)"
				}
			}
			desc := prm.Description
			if prm.Secret {
				desc = sentence(desc, "Secret: redacted everywhere.")
			}
			if prm.ChangeableOnResume && !prm.Secret {
				desc = sentence(desc, "May change when the run is resumed.")
			}
			if len(prm.Enum) > 0 {
				desc = sentence(desc, "One of: "+formatEnum(prm.Enum)+".")
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", prm.Name, prm.Type, def, cell(desc))
		}
		b.WriteString("\n")
	}
	if len(p.Targets) > 0 {
		b.WriteString("## Targets\n\n")
		for _, t := range p.Targets {
			raw, _ := t.Fields.Raw().(map[string]any)
			keys := make([]string, 0, len(raw))
			for k := range raw {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, 0, len(keys))
			for _, k := range keys {
				parts = append(parts, k+" "+code(Format(raw[k])))
			}
			fmt.Fprintf(b, "- **%s**: %s\n", t.Name, strings.Join(parts, ", "))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Procedure\n\n")
	for i, s := range p.Steps {
		fmt.Fprintf(b, "### %d. %s\n\n", i+1, termsafe.String(s.Name()))
		fmt.Fprintf(b, "Step `%s`, line %d.\n\n", s.ID, s.Pos.Line)
		if s.Doc != "" {
			fmt.Fprintf(b, "%s\n\n", strings.TrimSpace(s.Doc))
		}
		if s.When != nil {
			fmt.Fprintf(b, "Only when %s; otherwise the step is skipped.\n\n", code(s.When.String()))
		}
		writeConditions(b, "Before, check that", s.Pre)
		if s.Action != "" {
			summary := ""
			if reg != nil {
				if spec, ok := reg.Spec(actions.KindAction, s.Action); ok && spec.Summary != "" {
					summary = ": " + strings.TrimSuffix(spec.Summary, ".")
				}
			}
			fmt.Fprintf(b, "**Do** `%s`%s", s.Action, summary)
			if args := formatArgs(s.With); args != "" {
				fmt.Fprintf(b, ", with %s", args)
			}
			b.WriteString(".")
			if t := p.effectiveTimeout(s); t != "" {
				fmt.Fprintf(b, " Each attempt times out after %s.", t)
			}
			if r := s.Retry; r != nil || p.Defaults.Retry != nil {
				if r == nil {
					r = p.Defaults.Retry
				}
				if r.Attempts > 1 {
					fmt.Fprintf(b, " Up to %d attempts", r.Attempts)
					if r.Interval.IsSet() {
						fmt.Fprintf(b, ", %s apart", durationText(r.Interval))
						if r.Backoff > 1 {
							fmt.Fprintf(b, " (times %g after each)", r.Backoff)
						}
					}
					b.WriteString(".")
				}
			}
			b.WriteString("\n\n")
		}
		writeConditions(b, "After, check that", s.Post)
		if s.State != "" {
			fmt.Fprintf(b, "**State once done**: %s\n\n", termsafe.String(strings.TrimSpace(s.State)))
		}
		policy := s.OnFailure
		if policy == "" {
			policy = p.Defaults.OnFailure
		}
		switch policy {
		case Continue:
			b.WriteString("**If it fails**: record the failure and go on with the next step.\n\n")
		case Rollback:
			b.WriteString("**If it fails**: roll back: undo the completed steps in reverse order, each verified, then stop.\n\n")
		default:
			b.WriteString("**If it fails**: stop the run.\n\n")
		}
		if u := s.Undo; u != nil {
			fmt.Fprintf(b, "**Undo** (in a rollback): `%s`", u.Action)
			if args := formatArgs(u.With); args != "" {
				fmt.Fprintf(b, " with %s", args)
			}
			b.WriteString(", then check the preconditions again.\n\n")
		}
	}
	if err := b.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, termsafe.Text(doc.String()))
	return err
}

func writeConditions(b *bufio.Writer, title string, cs []*Condition) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(b, "**%s**:\n\n", title)
	for _, c := range cs {
		line := code(c.String())
		if c.Title != "" {
			line = c.Title + " (" + code(c.Subject()+" "+c.Expect.String()) + ")"
		}
		if c.Wait != nil {
			line += fmt.Sprintf(", waiting up to %s", durationText(c.Wait.Timeout))
			if c.Wait.Interval.IsSet() {
				line += fmt.Sprintf(" and checking every %s", durationText(c.Wait.Interval))
			}
		}
		if c.Save != "" {
			line += fmt.Sprintf("; keep what was observed as `${vars.%s}`", c.Save)
		}
		fmt.Fprintf(b, "- %s\n", line)
	}
	b.WriteString("\n")
}

func (p *Plan) effectiveTimeout(s *Step) string {
	if s.Timeout.IsSet() {
		return durationText(s.Timeout)
	}
	if p.Defaults.Timeout.IsSet() {
		return durationText(p.Defaults.Timeout)
	}
	return ""
}

func durationText(d Duration) string {
	if d.Ref != nil {
		return code(Format(d.Ref.Raw()))
	}
	return d.D.String()
}

func formatArgs(v *Value) string {
	raw, ok := v.Raw().(map[string]any)
	if !ok || len(raw) == 0 {
		return ""
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + code(Format(raw[k]))
	}
	return strings.Join(parts, ", ")
}

func code(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }

// sentence appends add to the text desc as a sentence of its own.
func sentence(desc, add string) string {
	desc = strings.TrimSpace(desc)
	if desc != "" && !strings.HasSuffix(desc, ".") {
		desc += "."
	}
	return strings.TrimSpace(desc + " " + add)
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }

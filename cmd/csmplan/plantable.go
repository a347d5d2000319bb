package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/internal/termsafe"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// writePlanTable prints a dry run's report as a table: for each step, would
// run / would skip (why) / blocked (which condition, what was observed),
// and what was checked; then a legend of the conditions it did not check,
// and why. Its cells are escaped; the table fits width columns (0: no
// limit), its widest columns cut first.
func writePlanTable(w io.Writer, p *plan.Plan, rep *runner.Report, width int) {
	rows := [][]string{{"#", "STEP", "OUTCOME", "CHECKS", "WHY"}}
	seen := map[string]bool{}
	for i, s := range rep.Steps {
		why := s.Reason
		switch s.Outcome {
		case runner.Blocked:
			why = blockedBy(s)
		case runner.WouldRun:
			why = "checks only"
			if a := p.Steps[i].Action; a != "" {
				why = "runs " + a
			}
		}
		c := checks(p.Steps[i], s, seen)
		rows = append(rows, []string{fmt.Sprint(i + 1), s.ID, string(s.Outcome), c, oneLine(why)})
	}
	for _, r := range rows {
		for j := range r {
			r[j] = termsafe.String(r[j])
		}
		r[4] = console.Fit(r[4], maxWhy)
	}
	widths := columnWidths(rows, width)
	for _, r := range rows {
		var b strings.Builder
		for j, cell := range r {
			cell = console.Fit(cell, widths[j])
			b.WriteString(cell)
			if j < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[j]-console.DisplayWidth(cell)+2))
			}
		}
		printf(w, "%s\n", ours(console.Fit(strings.TrimRight(b.String(), " "), width)))
	}
	for _, l := range legend {
		if seen[l.word] {
			for _, line := range wrap(l.word+": "+l.means, width, "  ") {
				printf(w, "%s\n", ours(line))
			}
		}
	}
}

// wrap breaks s into lines of at most width columns (0: no limit) at
// spaces, the lines after the first indented; a word longer than a line
// is cut.
func wrap(s string, width int, indent string) []string {
	if width <= 0 {
		return []string{s}
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case line == indent:
			line += word
		case console.DisplayWidth(line)+1+console.DisplayWidth(word) <= width:
			line += " " + word
		default:
			lines = append(lines, console.Fit(line, width))
			line = indent + word
		}
	}
	return append(lines, console.Fit(line, width))
}

// maxWhy is the most columns the WHY of a step takes.
const maxWhy = 160

// legend says why a condition counted in the CHECKS column was not checked.
var legend = []struct{ word, means string }{
	{"not checked", "an earlier step would change what it looks at, or it needs a value only a run produces (an action's output, a value saved after one)"},
	{"after action", "a postcondition, checked once the action has run, which a dry run does not"},
	{"not reached", "not checked, as an earlier condition of the step did not hold"},
}

// columnWidths are the widths of the table's columns: as wide as their
// widest cell, cut to fit width (0: no limit) from the last column (WHY),
// then CHECKS, then STEP, each down to a minimum.
func columnWidths(rows [][]string, width int) []int {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for j, cell := range r {
			widths[j] = max(widths[j], console.DisplayWidth(cell))
		}
	}
	if width <= 0 {
		return widths
	}
	total := 2 * (len(widths) - 1)
	for _, n := range widths {
		total += n
	}
	for _, c := range []struct{ col, min int }{{4, 16}, {3, 12}, {1, 12}} {
		if total <= width {
			break
		}
		cut := min(total-width, widths[c.col]-c.min)
		if cut > 0 {
			widths[c.col] -= cut
			total -= cut
		}
	}
	return widths
}

// checks counts a step's conditions by status: "2 held, 1 not checked";
// the words of the legend it uses are set in seen.
func checks(ps *plan.Step, s runner.StepReport, seen map[string]bool) string {
	counts := map[string]int{}
	all := append(append([]runner.ConditionResult{}, s.Pre...), s.Post...)
	if s.When != nil {
		all = append(all, *s.When)
	}
	word := map[runner.Status]string{runner.Met: "held", runner.Unmet: "unmet", runner.Error: "failed", runner.NotChecked: "not checked"}
	for _, c := range all {
		counts[word[c.Status]]++
	}
	switch s.Outcome {
	case runner.WouldRun:
		if ps.Action != "" {
			counts["after action"] += len(ps.Post) - len(s.Post)
		}
	case runner.Blocked, runner.Failed:
		counts["not reached"] += len(ps.Pre) - len(s.Pre) + len(ps.Post) - len(s.Post)
	}
	var parts []string
	for _, w := range []string{"held", "unmet", "failed", "not checked", "after action", "not reached"} {
		if n := counts[w]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, w))
			seen[w] = true
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// blockedBy names the first condition that did not hold, with what was
// observed.
func blockedBy(s runner.StepReport) string {
	for _, c := range append(append([]runner.ConditionResult{}, s.Pre...), s.Post...) {
		switch c.Status {
		case runner.Unmet:
			return fmt.Sprintf("%s (line %d): %s", c.Condition, c.Line, strings.Join(c.Unmet, "; "))
		case runner.Error:
			return fmt.Sprintf("%s (line %d): %s", c.Condition, c.Line, c.Error)
		}
	}
	return s.Reason
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// writePlanTable prints a dry run's report as a table: for each step, would
// run / would skip (why) / blocked (which condition, what was observed),
// and what was checked. Its cells are escaped (printf), and hold no tab.
func writePlanTable(w io.Writer, p *plan.Plan, rep *runner.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	printf(tw, "#\tSTEP\tOUTCOME\tCHECKS\tWHY\n")
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
		printf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, s.ID, s.Outcome, checks(s), oneLine(why, 160))
	}
	tw.Flush()
}

// checks counts a step's conditions by status: "2 held, 1 not checked".
func checks(s runner.StepReport) string {
	counts := map[runner.Status]int{}
	all := append(append([]runner.ConditionResult{}, s.Pre...), s.Post...)
	if s.When != nil {
		all = append(all, *s.When)
	}
	for _, c := range all {
		counts[c.Status]++
	}
	var parts []string
	for _, st := range []struct {
		status runner.Status
		word   string
	}{{runner.Met, "held"}, {runner.Unmet, "unmet"}, {runner.Error, "failed"}, {runner.NotChecked, "not checked"}} {
		if n := counts[st.status]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st.word))
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

func oneLine(s string, n int) string {
	return truncate(strings.Join(strings.Fields(s), " "), n)
}

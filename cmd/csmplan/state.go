package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// printNext prints, after a run that failed or was interrupted, where the
// system stands and what to do next:
//
//	state: <the state: of the last step that succeeded and was not undone>
//	next: step N "title" (id): <how to go on>
//
// How to go on: resume the journal when there is one; for a simulated pair,
// which does not outlive this process, run again; otherwise go on with
// --from, whose preconditions guard the step as in any run.
func printNext(w io.Writer, p *plan.Plan, rep *runner.Report, f *runFlags) {
	if rep == nil || len(rep.Steps) != len(p.Steps) {
		return
	}
	state, next := "", -1
	for i, sr := range rep.Steps {
		undone := sr.Undo != nil && sr.Undo.Outcome == runner.Succeeded
		switch {
		case undone || sr.Outcome == runner.Failed || sr.Outcome == runner.Cancelled || sr.Outcome == runner.NotRun:
			if next < 0 {
				next = i
			}
		case sr.Outcome == runner.Succeeded || sr.Outcome == runner.Resumed:
			if p.Steps[i].State != "" && next < 0 {
				state = p.Steps[i].State
			}
		}
	}
	if state != "" {
		printf(w, "state: %s\n", strings.TrimSpace(state))
	}
	if next < 0 {
		return
	}
	s := p.Steps[next]
	var how string
	switch {
	case f.simulate:
		how = "a simulated pair does not outlive the process that started it, so this run cannot be resumed nor continued: run 'csmplan run --simulate' again"
	case f.journal != "":
		how = "resume with 'csmplan run --journal " + f.journal + " --resume' and the same runbook and params"
	case next == 0:
		how = "once the cause is fixed, run it again"
	default:
		how = "once the cause is fixed, go on with 'csmplan run --from " + s.ID + "' and the same runbook and params (its preconditions are checked again); next time run with --journal FILE to be able to resume"
	}
	printf(w, "next: step %d %q (%s): %s\n", next+1, s.Name(), s.ID, how)
}

// verdict is the simulator's summary line, and whether it reports a
// violated invariant (then the run exits 1, so that --simulate can gate an
// edited runbook). completed says that the upgrade ran to its end, all of
// it: then the final state is checked too.
func (s *simulation) verdict(completed bool) (string, bool) {
	violated := len(s.pair.Violations()) > 0
	if completed {
		violated = violated || len(s.pair.CheckFinal(s.target)) > 0
	}
	return s.summary(completed), violated
}

// onlyIDs are the step ids given with --only, repeated or separated by
// commas.
func (f *runFlags) onlyIDs() []string {
	var ids []string
	for _, v := range f.only {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// loginSummary says how many logins each simulated server answered and
// refused: "simulated pair: logins: primary 2 (1 refused), secondary 1".
func loginSummary(pair *csmtest.Pair) string {
	parts := []string{}
	for _, s := range pair.Servers() {
		l := s.Logins()
		part := fmt.Sprintf("%s %d", s.Name(), l.Attempts)
		if l.Failed > 0 {
			part += fmt.Sprintf(" (%d refused)", l.Failed)
		}
		parts = append(parts, part)
	}
	return "simulated pair: logins: " + strings.Join(parts, ", ")
}

// installSummary says how many installers started on each simulated
// server: "simulated pair: installers run: primary 1, secondary 1" after
// an upgrade, however often it was interrupted and resumed.
func installSummary(pair *csmtest.Pair) string {
	parts := []string{}
	for _, s := range pair.Servers() {
		parts = append(parts, fmt.Sprintf("%s %d", s.Name(), s.Installs()))
	}
	return "simulated pair: installers run: " + strings.Join(parts, ", ")
}

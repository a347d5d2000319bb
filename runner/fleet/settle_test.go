package fleet_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
)

// Settle gives the outcome and error that Run gives, in the order of
// what ended the rollout.
func TestSettle(t *testing.T) {
	t.Parallel()
	rows := func(outcomes ...runner.Outcome) *fleet.Report {
		rep := &fleet.Report{}
		for i, o := range outcomes {
			rep.Units = append(rep.Units, fleet.UnitReport{Name: fmt.Sprintf("u%d", i+1), Outcome: o})
		}
		return rep
	}
	s, f, c, n := runner.Succeeded, runner.Failed, runner.Cancelled, runner.NotRun
	for _, tc := range []struct {
		rep     *fleet.Report
		v       fleet.Verdict
		outcome runner.Outcome
		is      error
		msg     string
	}{
		{rows(s, s), fleet.Verdict{}, s, nil, ""},
		{rows(f, n), fleet.Verdict{Canary: "u1"}, f, fleet.ErrCanary, "fleet x: canary failed: u1; no wave started"},
		{rows(s, n), fleet.Verdict{Refused: fleet.ErrNotApproved}, f, fleet.ErrNotApproved, ""},
		{rows(f, f, f, f, f, f, f, n), fleet.Verdict{Failed: 7, MaxFailures: 1}, f, fleet.ErrFailureBudget, "7 (u1, u2, u3, u4, u5 and 2 more), more than max_failures (1)"},
		{rows(s, f), fleet.Verdict{Failed: 1, MaxFailures: 1}, f, fleet.ErrUnitFailed, "fleet x: "},
		{rows(s, c, n), fleet.Verdict{Stopped: true}, c, runner.ErrInterrupted, "1 units done, 1 cancelled, 1 not run"},
	} {
		err := fleet.Settle("x", tc.rep, tc.v)
		if tc.rep.Outcome != tc.outcome || !errors.Is(err, tc.is) || tc.is == nil && err != nil {
			t.Errorf("%+v: outcome %s, err %v; want %s, %v", tc.v, tc.rep.Outcome, err, tc.outcome, tc.is)
		}
		if err != nil && tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: %q lacks %q", tc.v, err, tc.msg)
		}
	}
}

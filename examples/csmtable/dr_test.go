package csmtable

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// Simulated durations, production-like, on the virtual clock.
const (
	installTime    = 20 * time.Minute
	syncTime       = 5 * time.Minute
	reconnectDelay = 2 * time.Minute
)

// compareReports compares what a table of runs pins down: the run's
// outcome and each step's outcome, in order. Evidence, reasons, timings
// and outputs hold addresses and times of the simulated pair; the table
// checks the failing step's reason on its own.
var compareReports = cmp.Options{
	cmpopts.IgnoreFields(runner.Report{}, "Duration", "Error"),
	cmpopts.IgnoreFields(runner.StepReport{}, "Title", "Line", "Reason", "When", "Pre", "Attempts", "Post", "Outputs", "Undo", "Duration"),
}

// report returns the report of a run of p that stops at the step failed
// (none when ""): the steps before it succeeded, those after it did not
// run; skipped lists the steps whose `when` does not hold.
func report(p *plan.Plan, failed string, skipped ...string) *runner.Report {
	rep := &runner.Report{Runbook: p.Name, Outcome: runner.Succeeded}
	o := runner.Succeeded
	for _, s := range p.Steps {
		switch {
		case s.ID == failed:
			rep.Outcome = runner.Failed
			rep.Steps = append(rep.Steps, runner.StepReport{ID: s.ID, Outcome: runner.Failed})
			o = runner.NotRun
			continue
		case o == runner.Succeeded && slices.Contains(skipped, s.ID):
			rep.Steps = append(rep.Steps, runner.StepReport{ID: s.ID, Outcome: runner.Skipped})
			continue
		}
		rep.Steps = append(rep.Steps, runner.StepReport{ID: s.ID, Outcome: o})
	}
	return rep
}

// TestUpgradeWithDR runs the default runbook in the DR mode (all 11 steps
// of the procedure) against the simulated CSM pair of package csmtest, in
// this process and on a virtual clock: the installer and the stop/start
// commands run as the simulator's control program through
// csmtest.ControlExecutor, and two 20-minute installs take milliseconds.
// Each fault either stops the run before harm or is recovered from; the
// simulator's safety monitor holds in every case.
func TestUpgradeWithDR(t *testing.T) {
	t.Parallel()
	validateAlone := []string{"stop-secondary", "start-secondary"} // stop_secondary_during_validation is false
	tests := []struct {
		name     string
		faults   []string
		params   map[string]any // added to the pair's params
		failed   string         // the failing step; "" for success
		kind     error          // runner.ErrPrecondition, ErrPostcondition or ErrAction
		why      string         // in the failing step's reason
		skipped  []string
		installs int                       // installs started, on both servers
		outputs  map[string]map[string]any // some outputs of some steps
	}{
		{
			name: "success", skipped: validateAlone, installs: 2,
			outputs: map[string]map[string]any{"primary-standby": {"sent": false}}, // the primary became standby by itself
		},
		{
			name: "success with the secondary stopped during validation", params: map[string]any{"stop_secondary_during_validation": true},
			installs: 2,
		},
		// Faults that stop the run before any harm.
		{
			name: "the standby is not synchronized", faults: []string{csmtest.FaultStandbyUnsynchronized},
			failed: "check-standby", kind: runner.ErrPrecondition, why: "Synchronization Pending",
		},
		{
			name: "the primary's partner is another server", faults: []string{csmtest.FaultPartnerMismatch},
			failed: "check-standby", kind: runner.ErrPrecondition, why: "the partner is 127.0.0.9",
		},
		{
			name: "the takeover is rejected", faults: []string{csmtest.FaultTakeoverRejected},
			failed: "takeover-to-secondary", kind: runner.ErrAction, why: "IWNR9013E",
		},
		{
			name: "the installer fails on the primary", faults: []string{csmtest.FaultInstallerFails},
			failed: "upgrade-primary", kind: runner.ErrAction, why: "exited with code 1",
		},
		{
			name: "the primary comes back at the old version", faults: []string{csmtest.FaultWrongVersion},
			failed: "upgrade-primary", kind: runner.ErrPostcondition, why: "6.3.10.0", installs: 1,
		},
		// Faults that the runbook recovers from.
		{
			name: "the old active does not reconnect by itself", faults: []string{csmtest.FaultNoAutoReconnect},
			skipped: validateAlone, installs: 2,
			outputs: map[string]map[string]any{"primary-standby": {"sent": true, "msg": "IWNR3052I"}}, // one reconnect was sent
		},
		{
			name: "tokens expire after 3 requests", faults: []string{csmtest.FaultTokenExpiry},
			skipped: validateAlone, installs: 2,
		},
		{
			name: "every 4th request is reset", faults: []string{csmtest.FaultConnectionReset},
			skipped: validateAlone, installs: 2,
		},
		{
			name: "an old-level server reconnects as standby (the other reading)", faults: []string{csmtest.FaultReconnectAcrossLevels},
			skipped: validateAlone, installs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := actionstest.NewClock(actionstest.Epoch)
			pair := csmtest.NewPairForTest(t, csmtest.Options{
				Standby: true, Clock: clk, Faults: tt.faults,
				InstallTime: installTime, SyncTime: syncTime, ReconnectDelay: reconnectDelay,
			})
			reg, err := csmplan.NewRegistry(pair.CSMOptions())
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.Parse(csmplan.DefaultRunbookName, csmplan.DefaultRunbook(), plan.WithRegistry(reg))
			if err != nil {
				t.Fatal(err)
			}
			params := pair.Params()
			for k, v := range tt.params {
				params[k] = v
			}
			rep, err := runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: clk, Params: params})

			if diff := cmp.Diff(report(p, tt.failed, tt.skipped...), rep, compareReports); diff != "" {
				t.Errorf("report (-want +got):\n%s\nrun error: %v", diff, err)
			}
			for id, want := range tt.outputs {
				got := map[string]any{}
				for k := range want {
					got[k] = rep.Step(id).Outputs[k]
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("outputs of step %s (-want +got):\n%s", id, diff)
				}
			}
			if tt.failed == "" {
				if err != nil {
					t.Errorf("run: %v", err)
				}
				if got := pair.Summary(pair.TargetVersion()); got != "simulator: invariants held" {
					t.Errorf("simulator: %s", got)
				}
				if rep.Duration < 2*installTime {
					t.Errorf("the run took %v of virtual time, want at least the two installs", rep.Duration)
				}
			} else {
				var se *runner.StepError
				if !errors.Is(err, tt.kind) || !errors.As(err, &se) || se.Step != tt.failed {
					t.Errorf("err = %v, want %v at step %s", err, tt.kind, tt.failed)
				}
				if r := rep.Step(tt.failed).Reason; !strings.Contains(r, tt.why) {
					t.Errorf("reason %q, want %q in it", r, tt.why)
				}
				if got := pair.SafetySummary(); !strings.HasPrefix(got, "simulator: invariants held") {
					t.Errorf("simulator: %s", got)
				}
			}
			installs := 0
			for _, e := range pair.Timeline() {
				if e.Kind == csmtest.EventInstallStart {
					installs++
				}
			}
			if installs != tt.installs {
				t.Errorf("%d installs started, want %d", installs, tt.installs)
			}
		})
	}
}

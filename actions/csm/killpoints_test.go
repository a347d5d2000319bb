package csm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/runner"
)

// killPoint says where a run is interrupted: at the n-th event (1-based)
// that matches.
type killPoint struct {
	name  string
	match func(runner.Event) bool
}

func at(kind runner.EventKind, step string) func(runner.Event) bool {
	return func(e runner.Event) bool { return e.Kind == kind && e.Step == step }
}

func postOf(step string) func(runner.Event) bool {
	return func(e runner.Event) bool {
		return e.Kind == runner.ConditionStart && e.Step == step && e.Phase == runner.PhasePost
	}
}

func logOf(step, text string) func(runner.Event) bool {
	return func(e runner.Event) bool {
		return e.Kind == runner.ActionLog && e.Step == step && strings.Contains(e.Message, text)
	}
}

// TestUpgradeKillPoints interrupts a real upgrade of the simulated pair at
// 20 points, once and then again at a second point of the resumed run, and
// resumes until it ends: it always ends upgraded, each installer ran
// exactly once per server, and the safety invariants held throughout.
func TestUpgradeKillPoints(t *testing.T) {
	t.Parallel()
	points := []killPoint{
		{"check-primary starts", at(runner.StepStart, "check-primary")},
		{"the backup runs", at(runner.AttemptStart, "backup")},
		{"the secondary's backup runs", at(runner.AttemptStart, "backup-secondary")},
		{"the takeover is sent", at(runner.AttemptStart, "takeover-to-secondary")},
		{"the takeover is checked", postOf("takeover-to-secondary")},
		{"the primary is awaited as standby", at(runner.AttemptStart, "primary-standby")},
		{"the installer on the primary starts", at(runner.AttemptStart, "upgrade-primary")},
		{"the installer on the primary runs", logOf("upgrade-primary", "running")},
		{"the primary is awaited after its installer", logOf("upgrade-primary", "exited 0")},
		{"the primary's level is checked", postOf("upgrade-primary")},
		{"verify-primary", at(runner.StepStart, "verify-primary")},
		{"the takeover back is sent", at(runner.AttemptStart, "takeover-to-primary")},
		{"the takeover back is checked", postOf("takeover-to-primary")},
		{"the window is closed", at(runner.AttemptStart, "close-window")},
		{"the sessions are validated", postOf("validate-sessions")},
		{"the installer on the secondary starts", at(runner.AttemptStart, "upgrade-secondary")},
		{"the installer on the secondary runs", logOf("upgrade-secondary", "running")},
		{"the secondary is awaited after its installer", logOf("upgrade-secondary", "exited 0")},
		{"HA is re-established", at(runner.AttemptStart, "reestablish-ha")},
		{"the end state is compared", postOf("reestablish-ha")},
	}
	// The second interruption, in the resumed run: while it waits for, or
	// checks, a step's postconditions (the repro of issue 10: a resume
	// interrupted while it waits for an install to end).
	again := func(e runner.Event) bool { return e.Kind == runner.ConditionStart && e.Phase == runner.PhasePost }
	for _, twice := range []bool{false, true} {
		for _, kp := range points {
			name := kp.name
			if twice {
				name += ", then again while resuming"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				clk := newClock()
				pair := newPair(t, csmtest.Options{Clock: clk, Standby: true})
				params := upgradeParams(t, pair)
				path := t.TempDir() + "/journal.jsonl"
				stops := []func(runner.Event) bool{kp.match}
				if twice {
					stops = append(stops, again)
				}
				var err error
				var rep *runner.Report
				for run := 0; run < 6; run++ {
					resume := run > 0
					j, jerr := runner.OpenJournal(path, resume)
					if jerr != nil {
						t.Fatalf("run %d: %v", run+1, jerr)
					}
					ctx, cancel := context.WithCancel(context.Background())
					var obs []runner.Observer
					if run < len(stops) {
						stop := stops[run]
						obs = append(obs, runner.ObserverFunc(func(e runner.Event) {
							if stop(e) {
								cancel()
							}
						}))
					}
					rep, err = upgrade(ctx, t, clk, params, runner.Options{Journal: j, Observers: obs})
					cancel()
					j.Close()
					if vs := pair.Violations(); len(vs) > 0 {
						t.Fatalf("run %d: violations %v\n%s", run+1, vs, describe(rep, err, pair))
					}
					if err == nil {
						break
					}
					if !errors.Is(err, runner.ErrInterrupted) {
						t.Fatalf("run %d: %s", run+1, describe(rep, err, pair))
					}
				}
				if err != nil {
					t.Fatalf("not done after 6 runs: %s", describe(rep, err, pair))
				}
				tl := pair.Timeline()
				for _, s := range pair.Servers() {
					if n := count(tl, csmtest.EventInstallStart, s.Name()); n != 1 {
						t.Errorf("%s: %d installs, want exactly 1\n%s", s.Name(), n, dump(tl))
					}
				}
				if got := pair.Summary(pair.TargetVersion()); got != held {
					t.Errorf("Summary = %q", got)
				}
			})
		}
	}
}

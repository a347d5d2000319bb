package csmtable

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

var (
	sessions = []any{
		map[string]any{"name": "MM_DB", "state": "Prepared", "status": "Normal", "type": "Metro Mirror"},
		map[string]any{"name": "FC_BKP", "state": "Target Available", "status": "Normal", "type": "FlashCopy"},
	}
	changed = []any{
		map[string]any{"name": "MM_DB", "state": "Suspended", "status": "Severe", "type": "Metro Mirror"},
		map[string]any{"name": "FC_BKP", "state": "Target Available", "status": "Normal", "type": "FlashCopy"},
	}
	old    = map[string]any{"version": "6.3.10.0"}
	target = map[string]any{"version": "6.3.11.0"}
)

func TestUpgradeWithoutStandby(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		versions  []actionstest.Result // csm.version, call after call
		install   actionstest.Result
		sessions  []actionstest.Result // csm.sessions, call after call
		wantErr   error
		wantSteps map[string]runner.Outcome
		wantCalls []string
	}{{
		name:     "upgrade succeeds",
		versions: []actionstest.Result{actionstest.Returns(old), actionstest.Returns(target)},
		install:  actionstest.Succeeds(actions.Outputs{"exit_code": int64(0), "version": "6.3.11.0"}).After(20 * time.Minute),
		sessions: []actionstest.Result{actionstest.Returns(sessions)},
		wantSteps: map[string]runner.Outcome{"check-primary": runner.Succeeded, "check-standby": runner.Skipped, "backup": runner.Succeeded,
			"upgrade-primary": runner.Succeeded, "validate-sessions": runner.Succeeded, "upgrade-secondary": runner.Skipped},
		wantCalls: []string{"p:csm.ha", "p:csm.sessions", "p:csm.version", "p:csm.tasks", "a:csm.backup", "a:csm.install", "p:csm.version", "p:csm.ha", "p:csm.sessions"},
	}, {
		name:      "already at the target: nothing is installed",
		versions:  []actionstest.Result{actionstest.Returns(target)},
		sessions:  []actionstest.Result{actionstest.Returns(sessions)},
		wantErr:   runner.ErrPrecondition,
		wantSteps: map[string]runner.Outcome{"check-primary": runner.Failed, "backup": runner.NotRun, "upgrade-primary": runner.NotRun},
		wantCalls: []string{"p:csm.ha", "p:csm.sessions", "p:csm.version", "p:csm.tasks"},
	}, {
		name:      "the installer fails",
		versions:  []actionstest.Result{actionstest.Returns(old)},
		install:   actionstest.Fails(actions.Permanent(errors.New("installer exited 1"))),
		sessions:  []actionstest.Result{actionstest.Returns(sessions)},
		wantErr:   runner.ErrAction,
		wantSteps: map[string]runner.Outcome{"backup": runner.Succeeded, "upgrade-primary": runner.Failed, "validate-sessions": runner.NotRun},
		wantCalls: []string{"p:csm.ha", "p:csm.sessions", "p:csm.version", "p:csm.tasks", "a:csm.backup", "a:csm.install"},
	}, {
		name:      "the server comes back at the wrong version",
		versions:  []actionstest.Result{actionstest.Returns(old)},
		install:   actionstest.Succeeds(actions.Outputs{"exit_code": int64(0), "version": "6.3.10.0"}),
		sessions:  []actionstest.Result{actionstest.Returns(sessions)},
		wantErr:   runner.ErrPostcondition,
		wantSteps: map[string]runner.Outcome{"upgrade-primary": runner.Failed, "validate-sessions": runner.NotRun},
	}, {
		name:      "a session changed during the upgrade",
		versions:  []actionstest.Result{actionstest.Returns(old), actionstest.Returns(target)},
		install:   actionstest.Succeeds(actions.Outputs{"exit_code": int64(0), "version": "6.3.11.0"}),
		sessions:  []actionstest.Result{actionstest.Returns(sessions), actionstest.Returns(changed)},
		wantErr:   runner.ErrPostcondition,
		wantSteps: map[string]runner.Outcome{"upgrade-primary": runner.Succeeded, "validate-sessions": runner.Failed},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The fakes carry the real specs of the CSM probes and actions,
			// so that the runbook's arguments and output references are
			// checked as in production, at load time and on every call.
			kit := actionstest.NewKit(actionstest.WithTest(t), actionstest.WithSpecs(csmplan.Registry()))
			kit.Probe("csm.ha", actionstest.Returns(map[string]any{"role": "Active", "status": "", "partner": ""}))
			kit.Probe("csm.sessions", tt.sessions...)
			kit.Probe("csm.version", tt.versions...)
			kit.Probe("csm.tasks", actionstest.Returns([]any{map[string]any{"id": int64(1), "name": "hourly", "enabled": true, "running": false}}))
			kit.Action("csm.backup", actionstest.Succeeds(actions.Outputs{"file": "b.zip", "size": int64(2048), "sha256": "ab"}))
			kit.Action("csm.install", tt.install)
			// Without a standby these never run: a call would fail the test.
			for _, name := range []string{"csm.takeover", "csm.server", "csm.set_standby", "csm.reconnect", "csm.disable_tasks"} {
				kit.Action(name, actionstest.Fails(errors.New(name+" must not run without a standby")))
			}
			reg := kit.Registry()
			p, err := plan.Parse(csmplan.DefaultRunbookName, csmplan.DefaultRunbook(), plan.WithRegistry(reg))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: kit.Clock, Params: map[string]any{
				"primary": "csm1.example.com", "password": "s3cret-pw", "ca_file": "ca.pem", "target_version": "6.3.11.0",
				"installer": []any{"/opt/setup.bin", "-i", "silent"}, "maintain_dr": false,
			}})
			if !errors.Is(err, tt.wantErr) && !(err == nil && tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			got := map[string]runner.Outcome{}
			for id := range tt.wantSteps {
				got[id] = rep.Step(id).Outcome
			}
			if diff := cmp.Diff(tt.wantSteps, got); diff != "" {
				t.Errorf("step outcomes (-want +got):\n%s", diff)
			}
			if tt.wantCalls != nil {
				if diff := cmp.Diff(tt.wantCalls, kit.Recorder.Names()); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
			}
			if tt.name == "a session changed during the upgrade" {
				ev := rep.Step("validate-sessions").Post[1]
				if !strings.Contains(ev.Diff, "Suspended") {
					t.Errorf("want a diff of the sessions, got %+v", ev)
				}
			}
		})
	}
}

package csm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm"
	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/runner"
)

// TestUpgradeTakeoverReset resets the connection of the takeover request
// on the secondary (the reset comes before the server acts on it): the
// runbook retries the takeover and the upgrade completes.
func TestUpgradeTakeoverReset(t *testing.T) {
	t.Parallel()
	clk := newClock()
	pair := newPair(t, csmtest.Options{Clock: clk, Standby: true})
	sec := pair.Secondary()
	client, err := csm.New(csm.Config{Host: sec.Addr(), Username: pair.Username(), Password: pair.Password(), CAFile: pair.CAFile(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var hookErr error
	hook := runner.ObserverFunc(func(e runner.Event) {
		if e.Step != "takeover-to-secondary" || e.Attempt != 1 || hookErr != nil {
			return
		}
		switch e.Kind {
		case runner.AttemptStart:
			// Every 4th API request from the injection is reset: three
			// requests here (a token and two reads), then the takeover.
			if hookErr = pair.Inject(csmtest.FaultConnectionReset); hookErr != nil {
				return
			}
			for range 2 {
				if _, hookErr = client.Version(context.Background()); hookErr != nil {
					return
				}
			}
		case runner.AttemptEnd:
			hookErr = pair.Clear(csmtest.FaultConnectionReset)
		}
	})
	rep, err := upgrade(context.Background(), t, clk, upgradeParams(t, pair), runner.Options{Observers: []runner.Observer{hook}})
	if hookErr != nil {
		t.Fatalf("hook: %v", hookErr)
	}
	if err != nil {
		t.Fatalf("upgrade: %s", describe(rep, err, pair))
	}
	s := rep.Step("takeover-to-secondary")
	if len(s.Attempts) != 2 || !strings.Contains(s.Attempts[0].Error, "server unavailable") || s.Attempts[1].Error != "" {
		t.Errorf("takeover-to-secondary attempts = %+v, want a reset then a success", s.Attempts)
	}
	tl := pair.Timeline()
	if n, r := count(tl, csmtest.EventTakeover, "secondary"), count(tl, csmtest.EventConnectionReset, ""); n != 1 || r != 1 {
		t.Errorf("%d takeovers on the secondary and %d resets, want 1 and 1:\n%s", n, r, dump(tl))
	}
	if got := pair.Summary(pair.TargetVersion()); got != held {
		t.Errorf("Summary = %q, want %q", got, held)
	}
}

// TestTakeoverRetryIsIdempotent checks csm.takeover: a retry on a server
// that is already active (the earlier attempt took effect, its reply was
// lost) succeeds without a second takeover, while a first attempt there is
// refused.
func TestTakeoverRetryIsIdempotent(t *testing.T) {
	t.Parallel()
	clk := newClock()
	pair := newPair(t, csmtest.Options{Clock: clk, Standby: true})
	sec := pair.Secondary()
	targets := map[string]map[string]any{"secondary": {
		"host": sec.Addr(), "username": pair.Username(), "password": pair.Password(), "ca_file": pair.CAFile(),
	}}
	takeover := func(attempt int) (actions.Outputs, error) {
		act, err := csmplan.Registry().NewAction("csm.takeover")
		if err != nil {
			t.Fatal(err)
		}
		return act.Run(context.Background(), &actions.Call{Step: "t", Name: "csm.takeover", Args: map[string]any{"target": "secondary"},
			Targets: targets, Clock: clk, Attempt: attempt})
	}
	// A retry on the standby (the first attempt did not reach it) issues
	// the takeover.
	out, err := takeover(2)
	if err != nil || out["msg"] != csm.MsgTakeoverIssued {
		t.Fatalf("retry on the standby: %v, %v; want the takeover issued", out, err)
	}
	// A retry on the server now active does not issue it again.
	out, err = takeover(3)
	if err != nil || out["msg"] != csm.MsgHAStatusQueried || !strings.Contains(out["text"].(string), "already the active server") {
		t.Fatalf("retry on the active server: %v, %v; want success without a takeover", out, err)
	}
	// A first attempt on the active server is refused, as it should be.
	if _, err := takeover(1); err == nil || !actions.IsPermanent(err) || !strings.Contains(err.Error(), "IWNR9010E") {
		t.Errorf("first attempt on the active server: err = %v, want a permanent IWNR9010E", err)
	}
	tl := pair.Timeline()
	if n, r := count(tl, csmtest.EventTakeover, ""), count(tl, csmtest.EventTakeoverRefused, ""); n != 1 || r != 1 {
		t.Errorf("%d takeovers and %d refused, want 1 and 1:\n%s", n, r, dump(tl))
	}
	if vs := pair.Violations(); len(vs) > 0 {
		t.Errorf("violations: %v", vs)
	}
}

// TestUpgradeFaultsWithoutDR runs the upgrade of a server without standby
// with each fault: the HA faults do not matter, the others stop the run
// at the right step or are recovered from.
func TestUpgradeFaultsWithoutDR(t *testing.T) {
	t.Parallel()
	type want struct {
		step     string
		kind     error
		installs int
	}
	tests := map[string]want{
		csmtest.FaultStandbyUnsynchronized: {installs: 1},
		csmtest.FaultSessionTransitory:     {step: "check-primary", kind: runner.ErrPrecondition},
		csmtest.FaultTakeoverRejected:      {installs: 1},
		csmtest.FaultNoAutoReconnect:       {installs: 1},
		csmtest.FaultInstallerFails:        {step: "upgrade-primary", kind: runner.ErrAction},
		csmtest.FaultNoRestart:             {step: "upgrade-primary", kind: runner.ErrAction, installs: 1},
		csmtest.FaultWrongVersion:          {step: "upgrade-primary", kind: runner.ErrPostcondition, installs: 1},
		csmtest.FaultSessionChanged:        {step: "validate-sessions", kind: runner.ErrPostcondition, installs: 1},
		csmtest.FaultBackupFails:           {step: "backup", kind: runner.ErrAction},
		csmtest.FaultTokenExpiry:           {installs: 1},
		csmtest.FaultConnectionReset:       {installs: 1},
		csmtest.FaultSlowResponse:          {installs: 1},
		csmtest.FaultReconnectAcrossLevels: {installs: 1},
		csmtest.FaultCertRenewed:           {step: "upgrade-primary", kind: runner.ErrAction, installs: 1},
		csmtest.FaultVersionSuffix:         {installs: 1},
		csmtest.FaultPartnerMismatch:       {installs: 1}, // no partner without DR
		csmtest.FaultServerinfoOdd:         {installs: 1},
	}
	for _, fault := range csmtest.FaultNames() {
		w, ok := tests[fault]
		if !ok {
			t.Errorf("fault %q is not in the table", fault)
			continue
		}
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			pair := newPair(t, csmtest.Options{Clock: clk, Faults: []string{fault}})
			rep, err := upgrade(context.Background(), t, clk, upgradeParams(t, pair), runner.Options{})
			if n := count(pair.Timeline(), csmtest.EventInstallStart, ""); n != w.installs {
				t.Errorf("%d install starts, want %d", n, w.installs)
			}
			if vs := pair.Violations(); len(vs) > 0 {
				t.Errorf("violations: %v", vs)
			}
			if w.step == "" {
				if err != nil {
					t.Fatalf("want success: %s", describe(rep, err, pair))
				}
				if got := pair.Summary(pair.TargetVersion()); got != held {
					t.Errorf("Summary = %q, want %q", got, held)
				}
				return
			}
			if got := stepOf(err); got != w.step || !errors.Is(err, w.kind) {
				t.Errorf("failed at %q with %v; want %s, %v\n%s", got, err, w.step, w.kind, describe(rep, err, pair))
			}
		})
	}
}

// The status strings that mean synchronized live in one place: the
// runbook's synchronized_statuses default is csm.DefaultSynchronizedStatuses.
func TestSynchronizedStatusesInOnePlace(t *testing.T) {
	t.Parallel()
	prm := defaultPlan(t).Param("synchronized_statuses")
	if prm == nil {
		t.Fatal("the runbook has no synchronized_statuses param")
	}
	var got []string
	for _, v := range prm.Default.([]any) {
		got = append(got, v.(string))
	}
	if !slices.Equal(got, csm.DefaultSynchronizedStatuses) {
		t.Errorf("runbook default %v, csm.DefaultSynchronizedStatuses %v: keep them one", got, csm.DefaultSynchronizedStatuses)
	}
}

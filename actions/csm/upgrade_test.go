package csm_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm"
	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/runner"
)

// held is the simulator's verdict when every invariant held.
const held = "simulator: invariants held"

// TestUpgradeModes runs the default runbook end to end against a simulated
// pair in both modes, the installer and the stop/start scripts running as
// real processes, on a virtual clock with the runbook's default timeouts.
func TestUpgradeModes(t *testing.T) {
	t.Parallel()
	tests := []modeCase{
		{
			name: "maintain_dr", standby: true,
			want: allOutcomes(runner.Succeeded, map[string]runner.Outcome{
				"stop-secondary": runner.Skipped, "start-secondary": runner.Skipped,
			}),
			installs: map[string]int{"primary": 1, "secondary": 1},
		},
		{
			name: "maintain_dr with the secondary stopped during validation", standby: true, stop: true,
			want:     allOutcomes(runner.Succeeded, nil),
			installs: map[string]int{"primary": 1, "secondary": 1},
		},
		{
			name: "without DR", standby: false,
			want: allOutcomes(runner.Skipped, map[string]runner.Outcome{
				"check-primary": runner.Succeeded, "backup": runner.Succeeded,
				"upgrade-primary": runner.Succeeded, "validate-sessions": runner.Succeeded,
			}),
			installs: map[string]int{"primary": 1},
		},
	}
	// Whether a server at the old level reconnects as standby of a newer
	// one is not public: the runbook must succeed under both readings.
	readings := map[string][]string{"": nil, " (reconnect-across-levels)": {csmtest.FaultReconnectAcrossLevels}}
	for _, tt := range tests {
		for suffix, faults := range readings {
			t.Run(tt.name+suffix, func(t *testing.T) {
				t.Parallel()
				upgradeMode(t, tt, faults)
			})
		}
	}
}

// modeCase is one mode of TestUpgradeModes.
type modeCase struct {
	name    string
	standby bool
	stop    bool // stop_secondary_during_validation
	want    map[string]runner.Outcome
	// installs per server
	installs map[string]int
}

// upgradeMode runs the default runbook end to end in one mode, under the
// reading of the simulator that faults choose.
func upgradeMode(t *testing.T, tt modeCase, faults []string) {
	t.Helper()
	clk := newClock()
	pair := newPair(t, csmtest.Options{Clock: clk, Standby: tt.standby, Faults: faults})
	params := upgradeParams(t, pair)
	if tt.stop {
		params["stop_secondary_during_validation"] = true
	}
	rep, err := upgrade(context.Background(), t, clk, params, runner.Options{})
	if err != nil {
		t.Fatalf("upgrade failed: %s", describe(rep, err, pair))
	}
	if rep.Outcome != runner.Succeeded {
		t.Errorf("run outcome %s, want %s", rep.Outcome, runner.Succeeded)
	}
	if d := cmp.Diff(tt.want, outcomes(rep)); d != "" {
		t.Errorf("step outcomes (-want +got):\n%s", d)
	}
	if got := pair.Summary(pair.TargetVersion()); got != held {
		t.Errorf("Summary = %q, want %q\ntimeline:\n%s", got, held, dump(pair.Timeline()))
	}
	for _, s := range pair.Servers() {
		if v := s.Version(); v != pair.TargetVersion() {
			t.Errorf("%s runs %s, want %s", s.Name(), v, pair.TargetVersion())
		}
		if !s.Up() {
			t.Errorf("%s is down at the end", s.Name())
		}
	}
	if r := pair.Primary().Role(); r != "Active" {
		t.Errorf("primary is %s at the end, want Active", r)
	}
	if s := pair.Secondary(); s != nil && s.Role() != "Standby" {
		t.Errorf("secondary is %s at the end, want Standby", s.Role())
	}
	tl := pair.Timeline()
	for _, s := range pair.Servers() {
		if n := count(tl, csmtest.EventInstallStart, s.Name()); n != tt.installs[s.Name()] {
			t.Errorf("%s: %d installs, want %d", s.Name(), n, tt.installs[s.Name()])
		}
	}
	// The sessions are validated against the snapshot taken before.
	v := rep.Step("validate-sessions")
	if len(v.Post) != 2 || v.Post[1].Status != runner.Met {
		t.Errorf("validate-sessions post = %+v, want the sessions met", v.Post)
	}
	// The backup exists before any installer ran.
	b := rep.Step("backup")
	if size, _ := b.Outputs["size"].(int64); size <= 0 {
		t.Errorf("backup outputs %v, want a positive size", b.Outputs)
	}
	if file, _ := b.Outputs["file"].(string); !strings.HasPrefix(file, params["backup_dir"].(string)) {
		t.Errorf("backup file %q is not in the backup dir", file)
	} else if _, err := os.Stat(file); err != nil {
		t.Errorf("backup file: %v", err)
	}
	if i, j := indexOf(tl, csmtest.EventBackup), indexOf(tl, csmtest.EventInstallStart); i < 0 || j < 0 || i > j {
		t.Errorf("backup at event %d, first install at %d: want the backup first\n%s", i, j, dump(tl))
	}
	if tt.stop {
		sec := "secondary"
		if n := count(tl, csmtest.EventDown, sec); n != 2 { // stopped, then installing
			t.Errorf("secondary went down %d times, want 2 (stop, install)\n%s", n, dump(tl))
		}
		if rep.Step("stop-secondary").Outputs["reachable"] != false || rep.Step("start-secondary").Outputs["reachable"] != true {
			t.Errorf("stop/start outputs: %v, %v", rep.Step("stop-secondary").Outputs, rep.Step("start-secondary").Outputs)
		}
	}
	// A 20-minute install and the waits cost virtual time only.
	if rep.Duration < simInstallTime {
		t.Errorf("report duration %v, want at least one install time (%v) of virtual time", rep.Duration, simInstallTime)
	}
	// The both-active window: the reconnect delay after step 2, and
	// after step 9 until close-window disables the secondary's
	// tasks (at once: the next request).
	w := pair.BothActive()
	t.Logf("%s", pair.WindowSummary())
	if tt.standby && (w.Open || w.Total > simReconnectDelay+time.Minute || w.Count != 2) {
		t.Errorf("both-active window %+v, want closed, two windows, at most %v in all", w, simReconnectDelay+time.Minute)
	}
	if tt.standby && !tt.stop {
		disabled, _ := rep.Step("close-window").Outputs["disabled"].([]any)
		if len(faults) == 0 && (len(disabled) != 1 || disabled[0] != int64(1)) {
			t.Errorf("close-window outputs %v, want task 1 disabled", rep.Step("close-window").Outputs)
		}
	}
}

// TestUpgradeCertRenewed: an upgrade that replaces a server's certificate
// stops the run with the new fingerprint and the param that takes it; a
// resume with that fingerprint (a connection param may change on resume)
// goes on, once per server, and the installer runs once per server.
func TestUpgradeCertRenewed(t *testing.T) {
	t.Parallel()
	clk := newClock()
	pair := newPair(t, csmtest.Options{Clock: clk, Standby: true, Faults: []string{csmtest.FaultCertRenewed}})
	params := upgradeParams(t, pair)
	path := t.TempDir() + "/journal.jsonl"
	run := func(resume bool) (*runner.Report, error) {
		j, err := runner.OpenJournal(path, resume)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		return upgrade(context.Background(), t, clk, params, runner.Options{Journal: j})
	}
	for i, s := range []struct{ step, param string }{{"upgrade-primary", "primary_fingerprint"}, {"upgrade-secondary", "secondary_fingerprint"}} {
		rep, err := run(i > 0)
		srv := pair.Servers()[i]
		fp := srv.Fingerprint()
		if !errors.Is(err, csm.ErrTLS) || stepOf(err) != s.step {
			t.Fatalf("run %d: err = %v, want a TLS failure at %s", i+1, err, s.step)
		}
		msg := err.Error()
		for _, want := range []string{fp, "param " + s.param, "-p " + s.param + "=" + fp} {
			if !strings.Contains(msg, want) {
				t.Errorf("run %d: the error does not show %q:\n%s", i+1, want, msg)
			}
		}
		if vs := pair.Violations(); len(vs) > 0 {
			t.Fatalf("run %d: violations %v", i+1, vs)
		}
		_ = rep
		params[s.param] = fp
	}
	rep, err := run(true)
	if err != nil {
		t.Fatalf("last resume: %s", describe(rep, err, pair))
	}
	tl := pair.Timeline()
	for _, s := range pair.Servers() {
		if n := count(tl, csmtest.EventInstallStart, s.Name()); n != 1 {
			t.Errorf("%s: %d installs, want 1", s.Name(), n)
		}
	}
	if got := pair.Summary(pair.TargetVersion()); got != held {
		t.Errorf("Summary = %q", got)
	}
}

func indexOf(tl []csmtest.Event, kind csmtest.EventKind) int {
	for i, e := range tl {
		if e.Kind == kind {
			return i
		}
	}
	return -1
}

// TestUpgradeFaults runs the DR upgrade with each fault of the simulator:
// the run stops with the right error before harm, or recovers and
// succeeds; the safety invariants hold in every case.
func TestUpgradeFaults(t *testing.T) {
	t.Parallel()
	type want struct {
		step     string // the failing step; "" for success
		kind     error  // runner.ErrPrecondition, ErrPostcondition or ErrAction
		installs int    // install starts (both servers)
		reason   string // in the failing step's reason
	}
	tests := map[string]want{
		csmtest.FaultStandbyUnsynchronized: {step: "check-standby", kind: runner.ErrPrecondition, reason: "Synchronization Pending"},
		csmtest.FaultSessionTransitory:     {step: "check-primary", kind: runner.ErrPrecondition, reason: "Preparing"},
		csmtest.FaultTakeoverRejected:      {step: "takeover-to-secondary", kind: runner.ErrAction, reason: "IWNR9013E"},
		csmtest.FaultNoAutoReconnect:       {installs: 2}, // step 3 sends one reconnect
		csmtest.FaultInstallerFails:        {step: "upgrade-primary", kind: runner.ErrAction, reason: "exited with code 1"},
		csmtest.FaultNoRestart:             {step: "upgrade-primary", kind: runner.ErrAction, installs: 1, reason: "timed out"},
		csmtest.FaultWrongVersion:          {step: "upgrade-primary", kind: runner.ErrPostcondition, installs: 1, reason: "6.3.10.0"},
		csmtest.FaultSessionChanged:        {step: "validate-sessions", kind: runner.ErrPostcondition, installs: 1, reason: "Suspended"},
		csmtest.FaultBackupFails:           {step: "backup", kind: runner.ErrAction, reason: "IWNR9043E"},
		csmtest.FaultTokenExpiry:           {installs: 2},
		csmtest.FaultConnectionReset:       {installs: 2},
		csmtest.FaultSlowResponse:          {installs: 2},
		csmtest.FaultReconnectAcrossLevels: {installs: 2},
		csmtest.FaultCertRenewed:           {step: "upgrade-primary", kind: runner.ErrAction, installs: 1, reason: "primary_fingerprint"},
		csmtest.FaultVersionSuffix:         {installs: 2},
		csmtest.FaultPartnerMismatch:       {step: "check-standby", kind: runner.ErrPrecondition, reason: "the partner is 127.0.0.9, not 127.0.0.2"},
		csmtest.FaultServerinfoOdd:         {installs: 2},
	}
	names := csmtest.FaultNames()
	if len(tests) != len(names) {
		t.Errorf("the table covers %d faults, the simulator has %d: %v", len(tests), len(names), names)
	}
	for _, fault := range names {
		w, ok := tests[fault]
		if !ok {
			t.Errorf("fault %q is not in the table", fault)
			continue
		}
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			pair := newPair(t, csmtest.Options{Clock: clk, Standby: true, Faults: []string{fault}})
			rep, err := upgrade(context.Background(), t, clk, upgradeParams(t, pair), runner.Options{})
			tl := pair.Timeline()
			if vs := pair.Violations(); len(vs) > 0 {
				t.Errorf("safety invariants broken: %v\n%s", vs, describe(rep, err, pair))
			}
			if n := count(tl, csmtest.EventInstallStart, ""); n != w.installs {
				t.Errorf("%d install starts, want %d\n%s", n, w.installs, describe(rep, err, pair))
			}
			wantFailed := 0
			if fault == csmtest.FaultInstallerFails {
				wantFailed = 1
			}
			if n := count(tl, csmtest.EventInstallFailed, ""); n != wantFailed {
				t.Errorf("%d failed installer runs, want %d", n, wantFailed)
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
			if err == nil {
				t.Fatalf("want a failure at %s, got success: %s", w.step, describe(rep, err, pair))
			}
			if got := stepOf(err); got != w.step {
				t.Errorf("failed at step %q, want %q: %s", got, w.step, describe(rep, err, pair))
			}
			if !errors.Is(err, w.kind) {
				t.Errorf("err = %v, want errors.Is %v", err, w.kind)
			}
			if rep.Outcome != runner.Failed {
				t.Errorf("run outcome %s, want %s", rep.Outcome, runner.Failed)
			}
			sr := rep.Step(w.step)
			evidence := sr.Reason
			for _, c := range append(sr.Pre, sr.Post...) {
				evidence += "\n" + c.Diff
			}
			if sr.Outcome != runner.Failed || !strings.Contains(evidence, w.reason) {
				t.Errorf("step %s: %s %q, want failed with %q in its reason or diffs", w.step, sr.Outcome, evidence, w.reason)
			}
			// Nothing after the failing step ran.
			after := false
			for _, s := range rep.Steps {
				if after && s.Outcome != runner.NotRun {
					t.Errorf("step %s after the failure: %s, want %s", s.ID, s.Outcome, runner.NotRun)
				}
				after = after || s.ID == w.step
			}
			if got := pair.SafetySummary(); !strings.HasPrefix(got, held) {
				t.Errorf("SafetySummary = %q", got)
			}
		})
	}
}

// TestUpgradeNoAutoReconnect: a primary that does not reconnect as standby
// after the takeover gets one reconnect after takeover_timeout, and no
// installer before it is in standby mode.
func TestUpgradeNoAutoReconnect(t *testing.T) {
	t.Parallel()
	clk := newClock()
	pair := newPair(t, csmtest.Options{Clock: clk, Standby: true, Faults: []string{csmtest.FaultNoAutoReconnect}})
	rep, err := upgrade(context.Background(), t, clk, upgradeParams(t, pair), runner.Options{})
	if err != nil {
		t.Fatalf("upgrade: %s", describe(rep, err, pair))
	}
	st := rep.Step("primary-standby")
	if st.Outputs["sent"] != true {
		t.Errorf("primary-standby outputs %v, want the reconnect sent", st.Outputs)
	}
	tl := pair.Timeline()
	var takeover, reconnected, install time.Time
	for _, e := range tl {
		switch {
		case e.Kind == csmtest.EventTakeover && e.Server == "secondary":
			takeover = e.Time
		case e.Kind == csmtest.EventRole && e.Server == "primary" && strings.HasPrefix(e.Detail, "Standby") && reconnected.IsZero():
			reconnected = e.Time
		case e.Kind == csmtest.EventInstallStart && e.Server == "primary":
			install = e.Time
		}
	}
	if d := reconnected.Sub(takeover); d < 10*time.Minute {
		t.Errorf("the primary became standby %v after the takeover, want after the 10m takeover_timeout:\n%s", d, dump(tl))
	}
	if install.Before(reconnected) {
		t.Errorf("the installer started before the primary was a standby:\n%s", dump(tl))
	}
	if got := pair.Summary(pair.TargetVersion()); got != held {
		t.Errorf("Summary = %q", got)
	}
}

// TestUpgradeDryRun checks that a dry run changes nothing, checks the first
// steps for real and does not claim what it did not check.
func TestUpgradeDryRun(t *testing.T) {
	t.Parallel()
	t.Run("fresh pair", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		pair := newPair(t, csmtest.Options{Clock: clk, Standby: true})
		params := upgradeParams(t, pair)
		rep, err := upgrade(context.Background(), t, clk, params, runner.Options{DryRun: true})
		if err != nil {
			t.Fatalf("dry run: %s", describe(rep, err, pair))
		}
		if !rep.DryRun || rep.Outcome != runner.WouldRun {
			t.Errorf("report DryRun %v outcome %s, want a dry run that would run", rep.DryRun, rep.Outcome)
		}
		want := allOutcomes(runner.WouldRun, map[string]runner.Outcome{
			"stop-secondary": runner.WouldSkip, "start-secondary": runner.WouldSkip,
		})
		if d := cmp.Diff(want, outcomes(rep)); d != "" {
			t.Errorf("step outcomes (-want +got):\n%s", d)
		}
		// The first steps' checks ran for real, once each.
		type ev struct {
			Status   runner.Status
			Observed any
			Polls    int
		}
		evidence := func(rs []runner.ConditionResult) []ev {
			var out []ev
			for _, r := range rs {
				out = append(out, ev{r.Status, r.Observed, r.Polls})
			}
			return out
		}
		tls := ev{runner.Met, []any{pair.CAFile(), ""}, 1}
		fields := []any{"name", "type", "state", "status"}
		sessions := []any{"Target Available", "Prepared", "Prepared"} // sorted by name: FC_, GM_, MM_
		if d := cmp.Diff([]ev{tls, {runner.Met, fields, 1}, {runner.Met, "Active", 1}, {runner.Met, sessions, 1}, {runner.Met, pair.Version(), 1}, {runner.Met, []any{false}, 1}},
			evidence(rep.Step("check-primary").Pre)); d != "" {
			t.Errorf("check-primary evidence (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]ev{{runner.Met, pair.Secondary().Addr(), 1}, tls, {runner.Met, "ok", 1}, {runner.Met, "ok", 1}, {runner.Met, "Standby", 1}, {runner.Met, "Synchronized", 1}, {runner.Met, pair.Version(), 1}},
			evidence(rep.Step("check-standby").Pre)); d != "" {
			t.Errorf("check-standby evidence (-want +got):\n%s", d)
		}
		// After the first mutating action, probes are not checked.
		for _, id := range []string{"takeover-to-secondary", "primary-standby", "upgrade-primary", "verify-primary", "takeover-to-primary", "validate-sessions", "upgrade-secondary", "reestablish-ha"} {
			s := rep.Step(id)
			for _, c := range append(append([]runner.ConditionResult{}, s.Pre...), s.Post...) {
				if c.Status != runner.NotChecked || c.Polls != 0 {
					t.Errorf("%s: %q is %s after %d checks, want %s", id, c.Condition, c.Status, c.Polls, runner.NotChecked)
				}
			}
			if len(s.Attempts) != 0 {
				t.Errorf("%s: %d attempts in a dry run", id, len(s.Attempts))
			}
		}
		if s := rep.Step("takeover-to-secondary"); len(s.Pre) != 2 {
			t.Errorf("takeover-to-secondary pre = %+v, want 2 results not checked", s.Pre)
		}
		// Nothing changed.
		tl := pair.Timeline()
		for _, k := range []csmtest.EventKind{csmtest.EventTakeover, csmtest.EventTakeoverRefused, csmtest.EventInstallStart, csmtest.EventInstallFailed, csmtest.EventBackup, csmtest.EventHAConfig, csmtest.EventDown} {
			if n := count(tl, k, ""); n != 0 {
				t.Errorf("%d %s events in a dry run:\n%s", n, k, dump(tl))
			}
		}
		for _, s := range pair.Servers() {
			if v := s.Version(); v != pair.Version() {
				t.Errorf("%s runs %s after a dry run, want %s", s.Name(), v, pair.Version())
			}
		}
		if pair.Primary().Role() != "Active" || pair.Secondary().Role() != "Standby" {
			t.Errorf("roles changed in a dry run")
		}
		if entries, err := os.ReadDir(params["backup_dir"].(string)); err != nil || len(entries) != 0 {
			t.Errorf("backup dir after a dry run: %v, %v", entries, err)
		}
	})
	t.Run("unsynchronized standby", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		pair := newPair(t, csmtest.Options{Clock: clk, Standby: true, Faults: []string{csmtest.FaultStandbyUnsynchronized}})
		rep, err := upgrade(context.Background(), t, clk, upgradeParams(t, pair), runner.Options{DryRun: true})
		if !errors.Is(err, runner.ErrPrecondition) || stepOf(err) != "check-standby" {
			t.Fatalf("err = %v, want a precondition of check-standby", err)
		}
		s := rep.Step("check-standby")
		if s.Outcome != runner.Blocked {
			t.Errorf("check-standby %s, want %s", s.Outcome, runner.Blocked)
		}
		if len(s.Pre) != 7 || s.Pre[5].Status != runner.Unmet || s.Pre[5].Observed != "Synchronization Pending" || s.Pre[5].Polls != 1 {
			t.Errorf("check-standby pre = %+v, want the status observed Synchronization Pending, unmet after 1 check", s.Pre)
		}
		if !strings.Contains(s.Reason, "Synchronization Pending") {
			t.Errorf("reason %q does not show the observed status", s.Reason)
		}
		if rep.Outcome != runner.Failed {
			t.Errorf("run outcome %s, want %s", rep.Outcome, runner.Failed)
		}
		for _, id := range stepIDs[2:] {
			if o := rep.Step(id).Outcome; o != runner.NotRun {
				t.Errorf("%s: %s, want %s", id, o, runner.NotRun)
			}
		}
		if n := count(pair.Timeline(), csmtest.EventTakeover, ""); n != 0 {
			t.Errorf("%d takeovers in a dry run", n)
		}
	})
}

// TestUpgradeKillAndResume interrupts the DR upgrade at several points and
// resumes it with a new journal handle: the run finishes, the steps done
// before are reported done earlier, and each server is upgraded once.
func TestUpgradeKillAndResume(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// stop reports whether the event is the point to cancel the run.
		stop func(e runner.Event) bool
		// resumed are the steps the second run reports done earlier.
		resumed []string
		// midInstall is the step whose installer the first run left running.
		midInstall string
	}{
		{
			name:    "when takeover-to-secondary starts",
			stop:    func(e runner.Event) bool { return e.Kind == runner.StepStart && e.Step == "takeover-to-secondary" },
			resumed: []string{"check-primary", "check-standby", "backup", "backup-secondary"},
		},
		{
			name:    "when the installer's attempt on the primary starts",
			stop:    func(e runner.Event) bool { return e.Kind == runner.AttemptStart && e.Step == "upgrade-primary" },
			resumed: stepIDs[:6],
		},
		{
			name: "while the installer runs on the primary",
			stop: func(e runner.Event) bool {
				return e.Kind == runner.ActionLog && e.Step == "upgrade-primary" && strings.Contains(e.Message, "exited 0")
			},
			resumed:    stepIDs[:6],
			midInstall: "upgrade-primary",
		},
		{
			name: "while the installer runs on the secondary",
			stop: func(e runner.Event) bool {
				return e.Kind == runner.ActionLog && e.Step == "upgrade-secondary" && strings.Contains(e.Message, "exited 0")
			},
			resumed:    stepIDs[:13],
			midInstall: "upgrade-secondary",
		},
		{
			name:    "when upgrade-secondary starts",
			stop:    func(e runner.Event) bool { return e.Kind == runner.StepStart && e.Step == "upgrade-secondary" },
			resumed: stepIDs[:13],
		},
		{
			name:    "when the installer's attempt on the secondary starts",
			stop:    func(e runner.Event) bool { return e.Kind == runner.AttemptStart && e.Step == "upgrade-secondary" },
			resumed: stepIDs[:13],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			pair := newPair(t, csmtest.Options{Clock: clk, Standby: true})
			params := upgradeParams(t, pair)
			path := t.TempDir() + "/journal.jsonl"

			j, err := runner.OpenJournal(path, false)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stopped := false
			stopper := runner.ObserverFunc(func(e runner.Event) {
				if !stopped && tt.stop(e) {
					stopped = true
					cancel()
				}
			})
			rep, err := upgrade(ctx, t, clk, params, runner.Options{Journal: j, Observers: []runner.Observer{stopper}})
			j.Close()
			if !stopped {
				t.Fatalf("the stop point was never reached: %s", describe(rep, err, pair))
			}
			if !errors.Is(err, context.Canceled) || rep.Outcome != runner.Cancelled {
				t.Fatalf("first run: outcome %s, err %v; want cancelled", rep.Outcome, err)
			}

			j, err = runner.OpenJournal(path, true)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			rep, err = upgrade(context.Background(), t, clk, params, runner.Options{Journal: j})
			if err != nil {
				t.Fatalf("resumed run: %s", describe(rep, err, pair))
			}
			for _, id := range tt.resumed {
				if o := rep.Step(id).Outcome; o != runner.Resumed {
					t.Errorf("%s: %s, want %s", id, o, runner.Resumed)
				}
			}
			if n := rep.Count(runner.Resumed); n != len(tt.resumed) {
				t.Errorf("%d steps done earlier, want %d: %v", n, len(tt.resumed), outcomes(rep))
			}
			if tt.midInstall != "" {
				// The installer of the first run was left running: the
				// resumed step waits for it instead of running another.
				s := rep.Step(tt.midInstall)
				if s.Outcome != runner.Succeeded || len(s.Attempts) != 0 || len(s.Post) != 1 || s.Post[0].Waited < simInstallTime/2 {
					t.Errorf("%s: %s %q, %d attempts, post %+v; want done by waiting for its postcondition", tt.midInstall, s.Outcome, s.Reason, len(s.Attempts), s.Post)
				}
			}
			if got := pair.Summary(pair.TargetVersion()); got != held {
				t.Errorf("Summary = %q, want %q\n%s", got, held, dump(pair.Timeline()))
			}
			tl := pair.Timeline()
			for _, s := range []string{"primary", "secondary"} {
				if n := count(tl, csmtest.EventInstallStart, s); n != 1 {
					t.Errorf("%s: the installer ran %d times, want once\n%s", s, n, dump(tl))
				}
			}
		})
	}
}

// TestUpgradeSecrets checks that the password appears in no report, event,
// error or journal, in success, failure and dry runs. In the last case the
// password is also part of the backup directory, so that the backup's file
// name (an output, and a progress message) must be redacted too.
func TestUpgradeSecrets(t *testing.T) {
	t.Parallel()
	const password = "S3cret-pa55"
	tests := []struct {
		name    string
		faults  []string
		dry     bool
		wantErr bool
		// inPath puts the password in the backup directory's name.
		inPath bool
	}{
		{name: "success"},
		{name: "failure", faults: []string{csmtest.FaultTakeoverRejected}, wantErr: true},
		{name: "token expiry", faults: []string{csmtest.FaultTokenExpiry}},
		{name: "dry run", dry: true},
		{name: "password in a value", inPath: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			pair := newPair(t, csmtest.Options{Clock: clk, Standby: true, Password: password, Faults: tt.faults})
			params := upgradeParams(t, pair)
			if params["password"] != password {
				t.Fatalf("params password %v", params["password"])
			}
			if tt.inPath {
				params["backup_dir"] = params["backup_dir"].(string) + "/" + password
			}
			opts := runner.Options{DryRun: tt.dry}
			var events eventLog
			opts.Observers = []runner.Observer{&events}
			path := t.TempDir() + "/journal.jsonl"
			if !tt.dry {
				j, err := runner.OpenJournal(path, false)
				if err != nil {
					t.Fatal(err)
				}
				defer j.Close()
				opts.Journal = j
			}
			rep, err := upgrade(context.Background(), t, clk, params, opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("unexpected result: %s", describe(rep, err, pair))
			}
			// go-cmp elides the depths of a long report: the JSON encoding
			// shows all of it.
			full, jerr := json.Marshal(rep)
			if jerr != nil {
				t.Fatal(jerr)
			}
			texts := map[string]string{
				"report (cmp)":  cmp.Diff(nil, rep),
				"report (JSON)": string(full),
				"events":        events.JSON(t),
			}
			if err != nil {
				texts["error"] = err.Error()
			}
			if !tt.dry {
				data, rerr := os.ReadFile(path)
				if rerr != nil {
					t.Fatal(rerr)
				}
				texts["journal"] = string(data)
			}
			for what, text := range texts {
				if !strings.Contains(text, "check-primary") && what != "error" {
					t.Errorf("%s does not show the run:\n%s", what, text)
				}
				if strings.Contains(text, password) {
					t.Errorf("the password appears in the %s", what)
				}
			}
			if tt.inPath {
				// The backup file was written where asked, and every record
				// of its name shows the password redacted.
				file, _ := rep.Step("backup").Outputs["file"].(string)
				if !strings.Contains(file, runner.Redacted) {
					t.Errorf("backup output file = %q, want the password redacted", file)
				}
				for _, what := range []string{"report (JSON)", "events", "journal"} {
					if !strings.Contains(texts[what], runner.Redacted) {
						t.Errorf("the %s shows no %s", what, runner.Redacted)
					}
				}
				if entries, err := os.ReadDir(params["backup_dir"].(string)); err != nil || len(entries) != 2 {
					t.Errorf("backup dir: %v, %v; want two backups (primary and secondary)", entries, err)
				}
			}
		})
	}
}

// BenchmarkUpgrade runs the full DR upgrade on a virtual clock with zero
// install time. The installer runs as a real process (twice per op).
func BenchmarkUpgrade(b *testing.B) {
	benchmarkUpgrade(b, func() actions.Clock { return newClock() }, nil)
}

// BenchmarkUpgradeRealClock runs the full DR upgrade on the wall clock with
// the shortened timeouts of cmd/csmplan's simulation.
func BenchmarkUpgradeRealClock(b *testing.B) {
	benchmarkUpgrade(b, func() actions.Clock { return actions.RealClock{} }, map[string]any{
		"sync_timeout": "10s", "takeover_timeout": "10s", "install_timeout": "20s", "poll_interval": "100ms",
	})
}

func benchmarkUpgrade(b *testing.B, newClk func() actions.Clock, extra map[string]any) {
	p := defaultPlan(b)
	requests := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		clk := newClk()
		pair, err := csmtest.NewPair(csmtest.Options{Clock: clk, Standby: true})
		if err != nil {
			b.Fatal(err)
		}
		params := upgradeParams(b, pair)
		for k, v := range extra {
			params[k] = v
		}
		b.StartTimer()
		rep, err := csmplan.Run(context.Background(), p, runner.Options{Params: params, Clock: clk})
		b.StopTimer()
		if err != nil {
			b.Fatalf("upgrade: %s", describe(rep, err, pair))
		}
		requests += pair.Requests()
		pair.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
}

// Without a CA file or a fingerprint, the upgrade stops at its first check:
// TLS is never skipped.
func TestUpgradeNeedsAWayToVerifyTLS(t *testing.T) {
	t.Parallel()
	clk := newClock()
	pair := newPair(t, csmtest.Options{Clock: clk, Standby: true})
	params := upgradeParams(t, pair)
	params["ca_file"] = ""
	rep, err := upgrade(context.Background(), t, clk, params, runner.Options{})
	if !errors.Is(err, runner.ErrPrecondition) || stepOf(err) != "check-primary" {
		t.Fatalf("err = %v, want check-primary's precondition", err)
	}
	if c := rep.Step("check-primary").Pre[0]; c.Status != runner.Unmet || !strings.Contains(c.Condition, "ca_file or primary_fingerprint") {
		t.Errorf("first precondition = %+v, want the TLS check unmet", c)
	}
}

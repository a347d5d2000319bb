package csm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// controlPrefix makes the test binary act as the simulator's control
// program: the installer and the site's stop/start scripts (see TestMain).
const controlPrefix = "csmtest-control"

// TestMain lets the test binary stand in for the CSM installer and the
// stop/start scripts, so that the runbook runs them as real processes
// through the real exec path (csmtest/doc.go).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == controlPrefix {
		os.Exit(csmtest.ControlMain(os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// Simulated durations: production-like, on the virtual clock.
const (
	simInstallTime    = 20 * time.Minute
	simSyncTime       = 5 * time.Minute
	simReconnectDelay = 2 * time.Minute
)

// The ids of the default runbook's steps, in order.
var stepIDs = []string{
	"check-primary", "check-standby", "backup", "backup-secondary", "takeover-to-secondary", "primary-standby",
	"upgrade-primary", "verify-primary", "takeover-to-primary", "close-window", "stop-secondary",
	"validate-sessions", "start-secondary", "upgrade-secondary", "reestablish-ha",
}

// loadDefault loads the default runbook once per test binary.
var loadDefault = sync.OnceValues(csmplan.LoadDefault)

func defaultPlan(tb testing.TB) *plan.Plan {
	tb.Helper()
	p, err := loadDefault()
	if err != nil {
		tb.Fatalf("LoadDefault: %v", err)
	}
	return p
}

// newPair starts a simulated pair with production-like durations; opts
// override them. Options.Clock must be set.
func newPair(tb testing.TB, opts csmtest.Options) *csmtest.Pair {
	tb.Helper()
	if opts.Clock == nil {
		tb.Fatal("newPair: Options.Clock is nil")
	}
	if opts.InstallTime == 0 {
		opts.InstallTime = simInstallTime
	}
	if opts.SyncTime == 0 {
		opts.SyncTime = simSyncTime
	}
	if opts.ReconnectDelay == 0 {
		opts.ReconnectDelay = simReconnectDelay
	}
	pair, err := csmtest.NewPair(opts)
	if err != nil {
		tb.Fatalf("NewPair: %v", err)
	}
	tb.Cleanup(pair.Close)
	return pair
}

func list(argv []string) []any {
	out := make([]any, len(argv))
	for i, a := range argv {
		out[i] = a
	}
	return out
}

// upgradeParams binds the default runbook to pair as cmd/csmplan's
// simParams does, but keeps the runbook's default timeouts (30m sync, 10m
// takeover, 90m install, 30s poll). The mode follows the pair: maintain_dr
// is true when the pair has a standby.
func upgradeParams(tb testing.TB, pair *csmtest.Pair) map[string]any {
	tb.Helper()
	m := map[string]any{
		"primary":        pair.Primary().Addr(),
		"username":       pair.Username(),
		"password":       pair.Password(),
		"ca_file":        pair.CAFile(),
		"target_version": pair.TargetVersion(),
		"installer":      list(pair.InstallerArgv(os.Args[0], controlPrefix)),
		"server_stop":    list(pair.ServerArgv(os.Args[0], "stop", controlPrefix)),
		"server_start":   list(pair.ServerArgv(os.Args[0], "start", controlPrefix)),
		"backup_dir":     tb.TempDir(),
		"maintain_dr":    pair.Secondary() != nil,
	}
	if s := pair.Secondary(); s != nil {
		m["secondary"] = s.Addr()
	}
	return m
}

// outcomes maps each step id to its outcome.
func outcomes(rep *runner.Report) map[string]runner.Outcome {
	out := map[string]runner.Outcome{}
	for _, s := range rep.Steps {
		out[s.ID] = s.Outcome
	}
	return out
}

// allOutcomes maps every step to o, then applies the exceptions.
func allOutcomes(o runner.Outcome, except map[string]runner.Outcome) map[string]runner.Outcome {
	out := map[string]runner.Outcome{}
	for _, id := range stepIDs {
		out[id] = o
	}
	for id, x := range except {
		out[id] = x
	}
	return out
}

// count counts the timeline's events of a kind on a server ("" for any).
func count(tl []csmtest.Event, kind csmtest.EventKind, server string) int {
	n := 0
	for _, e := range tl {
		if e.Kind == kind && (server == "" || e.Server == server) {
			n++
		}
	}
	return n
}

func dump(tl []csmtest.Event) string {
	var b strings.Builder
	for _, e := range tl {
		b.WriteString("  " + e.String() + "\n")
	}
	return b.String()
}

// eventLog collects a run's events; it may be read while the run goes on.
type eventLog struct {
	mu     sync.Mutex
	events []runner.Event
}

func (l *eventLog) Observe(e runner.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) JSON(tb testing.TB) string {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, e := range l.events {
		if err := enc.Encode(e); err != nil {
			tb.Fatalf("encode event: %v", err)
		}
	}
	return b.String()
}

// stepOf returns the step of the run's *runner.StepError, or "".
func stepOf(err error) string {
	var se *runner.StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return ""
}

// upgrade runs the default runbook against pair on clk.
func upgrade(ctx context.Context, tb testing.TB, clk actions.Clock, params map[string]any, opts runner.Options) (*runner.Report, error) {
	tb.Helper()
	opts.Params = params
	opts.Clock = clk
	rep, err := csmplan.Run(ctx, defaultPlan(tb), opts)
	if rep == nil {
		tb.Fatalf("Run returned a nil report (err %v)", err)
	}
	return rep, err
}

// newClock returns a virtual clock at actionstest.Epoch.
func newClock() *actionstest.Clock { return actionstest.NewClock(actionstest.Epoch) }

// describe sums up a failed run for a test message.
func describe(rep *runner.Report, err error, pair *csmtest.Pair) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s, err: %v\n", rep.Outcome, err)
	for _, s := range rep.Steps {
		fmt.Fprintf(&b, "  %-22s %-12s %s\n", s.ID, s.Outcome, s.Reason)
	}
	b.WriteString("timeline:\n" + dump(pair.Timeline()))
	return b.String()
}

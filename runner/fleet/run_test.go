package fleet_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
)

var errInstall = errors.New("IWNR1234E install failed")

func TestRunSucceeds(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	install := kit.Action("up.install")
	f, dir := loadFleet(t, kit, fleetOf(names(3), map[string]string{"u01": "site: a"}, "  waves: {size: 2}\n  max_parallel: 2\n"))
	jdir := filepath.Join(dir, "journals")
	rep, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, JournalDir: jdir})
	if err != nil {
		t.Fatal(err)
	}
	want := &fleet.Report{Fleet: "test-fleet", Outcome: runner.Succeeded, Units: []fleet.UnitReport{
		{Name: "u01", Labels: map[string]string{"site": "a"}, Wave: 1, Outcome: runner.Succeeded, Journal: filepath.Join(jdir, "u01.journal")},
		{Name: "u02", Wave: 1, Outcome: runner.Succeeded, Journal: filepath.Join(jdir, "u02.journal")},
		{Name: "u03", Wave: 2, Outcome: runner.Succeeded, Journal: filepath.Join(jdir, "u03.journal")},
	}}
	if d := cmp.Diff(want, rep, cmpopts.IgnoreFields(fleet.UnitReport{}, "Report")); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	if install.Calls() != 3 || rep.Units[2].Report == nil || rep.Units[2].Report.Outcome != runner.Succeeded {
		t.Errorf("%d calls, unit report %+v", install.Calls(), rep.Units[2].Report)
	}
	if rep.Count(runner.Succeeded) != 3 || rep.Unit("u02") == nil || rep.Unit("nope") != nil {
		t.Error("Count or Unit")
	}
	for _, u := range rep.Units {
		log, err := runner.ReadJournal(u.Journal)
		if err != nil || log.Entries[len(log.Entries)-1].Outcome != runner.Succeeded {
			t.Errorf("journal of %s: %v", u.Name, err)
		}
	}
}

// TestCanaryFailureStopsRollout: a failing canary stops the rollout;
// no other unit is touched.
func TestCanaryFailureStopsRollout(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	install := kit.Action("up.install", actionstest.Succeeds(nil))
	install.On(actionstest.Args{"host": "u03"}, actionstest.Fails(errInstall))
	f, _ := loadFleet(t, kit, fleetOf(names(5), nil, "  canary: {units: [u02, u03]}\n  max_failures: 3\n  max_parallel: 2\n"))
	rep, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock})
	if !errors.Is(err, fleet.ErrCanary) || !strings.Contains(err.Error(), "u03") {
		t.Errorf("error %v: want ErrCanary naming u03", err)
	}
	if got := outcomes(rep); got != "u02=succeeded u03=failed u01=not run u04=not run u05=not run" {
		t.Errorf("outcomes %s", got)
	}
	if rep.Outcome != runner.Failed || rep.Unit("u04").Reason != "canary u03 failed" {
		t.Errorf("outcome %s, reason %q", rep.Outcome, rep.Unit("u04").Reason)
	}
	for _, c := range kit.Recorder.Calls() {
		if h := c.Args["host"]; h != "u02" && h != "u03" {
			t.Errorf("unit %v was called", h)
		}
	}
}

// TestMaxFailuresStopsNewStarts: once the failures exceed max_failures,
// no new unit starts, and the running ones finish.
func TestMaxFailuresStopsNewStarts(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	g := newGate()
	kit.Action("up.install", g.result())
	f, _ := loadFleet(t, kit, fleetOf(names(5), nil, "  max_parallel: 2\n  max_failures: 0\n"))
	ended := make(chan string, 10)
	obs := fleet.ObserverFunc(func(e fleet.Event) {
		if e.Kind == fleet.UnitEnd {
			ended <- e.Unit
		}
	})
	wait := runAsync(context.Background(), f, fleet.Options{Clock: kit.Clock, Observers: []fleet.Observer{obs}})
	first, second := g.next(t), g.next(t)
	if first+second != "u01u02" && first+second != "u02u01" {
		t.Fatalf("started %s and %s, want u01 and u02", first, second)
	}
	g.open("u01", errInstall) // u02 is still running
	if u := <-ended; u != "u01" {
		t.Fatalf("%s ended, want u01", u)
	}
	g.open("u02", nil)
	rep, err := wait()
	g.noMore(t)
	if !errors.Is(err, fleet.ErrFailureBudget) {
		t.Errorf("error %v: want ErrFailureBudget", err)
	}
	if got := outcomes(rep); got != "u01=failed u02=succeeded u03=not run u04=not run u05=not run" {
		t.Errorf("outcomes %s", got)
	}
	if r := rep.Unit("u03").Reason; r != "failed units: 1, more than max_failures (0)" {
		t.Errorf("reason %q", r)
	}
}

// TestMaxFailuresTolerates: failures within the budget let the rollout
// go on; the fleet still fails.
func TestMaxFailuresTolerates(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install", actionstest.Succeeds(nil)).On(actionstest.Args{"host": "u01"}, actionstest.Fails(errInstall))
	f, _ := loadFleet(t, kit, fleetOf(names(3), nil, "  max_failures: 40%\n"))
	one := 1
	rep, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, MaxParallel: &one})
	if !errors.Is(err, fleet.ErrUnitFailed) || outcomes(rep) != "u01=failed u02=succeeded u03=succeeded" {
		t.Errorf("error %v, outcomes %s", err, outcomes(rep))
	}
	zero := 0
	rep, err = fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, MaxFailures: &zero})
	if !errors.Is(err, fleet.ErrFailureBudget) || outcomes(rep) != "u01=failed u02=not run u03=not run" {
		t.Errorf("override to 0: error %v, outcomes %s", err, outcomes(rep))
	}
}

// TestMaxParallelNeverExceeded keeps max_parallel units in flight and
// checks that no more ever are.
func TestMaxParallelNeverExceeded(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	g := newGate()
	kit.Action("up.install", g.result())
	const total, parallel = 10, 3
	f, _ := loadFleet(t, kit, fleetOf(names(total), nil, "  waves: {size: 7}\n  max_parallel: 3\n"))
	wait := runAsync(context.Background(), f, fleet.Options{Clock: kit.Clock})
	var running []string
	started := 0
	for done := 0; done < total; {
		// Wave 1 has 7 units, wave 2 has 3: fill the slots of the wave,
		// then let one unit end.
		inWave := 7
		if done >= 7 {
			inWave = total
		}
		for len(running) < parallel && started < inWave {
			running = append(running, g.next(t))
			started++
		}
		g.open(running[0], nil)
		running = running[1:]
		done++
	}
	rep, err := wait()
	if err != nil || rep.Count(runner.Succeeded) != total {
		t.Fatalf("error %v, outcomes %s", err, outcomes(rep))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.most != parallel {
		t.Errorf("at most %d units in flight, want %d", g.most, parallel)
	}
}

// TestResume: a fleet interrupted mid-rollout resumes: done units are
// not run again, a failed one runs again, the interrupted one resumes
// from its journal.
func TestResume(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	install := kit.Action("up.install", actionstest.Succeeds(nil))
	install.On(actionstest.Args{"host": "u02"}, actionstest.Fails(errInstall), actionstest.Succeeds(nil))
	install.On(actionstest.Args{"host": "u03"}, actionstest.Succeeds(nil).After(time.Hour), actionstest.Succeeds(nil))
	f, dir := loadFleet(t, kit, fleetOf(names(4), nil, "  max_failures: 1\n"))
	jdir := filepath.Join(dir, "j")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupt := fleet.ObserverFunc(func(e fleet.Event) {
		if e.Kind == fleet.UnitEvent && e.Unit == "u03" && e.Run.Kind == runner.AttemptStart {
			cancel() // the kill, while u03's install is in flight
		}
	})
	rep, err := fleet.Run(ctx, f, fleet.Options{Clock: kit.Clock, JournalDir: jdir, Observers: []fleet.Observer{interrupt}})
	if !errors.Is(err, fleet.ErrUnitFailed) || outcomes(rep) != "u01=succeeded u02=failed u03=cancelled u04=not run" {
		t.Fatalf("first run: error %v, outcomes %s", err, outcomes(rep))
	}
	if r := rep.Unit("u04").Reason; r != "the fleet was stopped" {
		t.Errorf("u04: %q", r)
	}
	// Without Resume, the journals of the earlier run are refused.
	if _, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, JournalDir: jdir}); !errors.Is(err, fleet.ErrJournalDir) || !strings.Contains(err.Error(), "u01, u02, u03") {
		t.Errorf("without resume: %v", err)
	}
	kit.Recorder.Reset()
	rep, err = fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, JournalDir: jdir, Resume: true})
	if err != nil || outcomes(rep) != "u01=done earlier u02=succeeded u03=succeeded u04=succeeded" {
		t.Fatalf("resume: error %v, outcomes %s", err, outcomes(rep))
	}
	var hosts []string
	for _, c := range kit.Recorder.Calls() {
		hosts = append(hosts, c.Args["host"].(string))
	}
	// u02 failed: it runs again. u03's install was started, its outcome
	// unknown, and nothing proves it done: its journal's resume runs it
	// again. u01 is not run again.
	if strings.Join(hosts, " ") != "u02 u03 u04" {
		t.Errorf("resume called %v, want u02 u03 u04", hosts)
	}
	if rep.Unit("u01").Report != nil || rep.Unit("u03").Report == nil {
		t.Errorf("u01 %+v, u03 %+v", rep.Unit("u01"), rep.Unit("u03").Report)
	}
	// A second resume runs nothing.
	kit.Recorder.Reset()
	rep, err = fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, JournalDir: jdir, Resume: true})
	if err != nil || rep.Count(runner.Resumed) != 4 || len(kit.Recorder.Calls()) != 0 {
		t.Errorf("second resume: %v, %s, %d calls", err, outcomes(rep), len(kit.Recorder.Calls()))
	}
}

// TestSecondRunRefusesLockedUnit: two runs on the same journal directory
// at once: the second is refused the unit the first one runs.
func TestSecondRunRefusesLockedUnit(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	g := newGate()
	kit.Action("up.install", g.result())
	f, dir := loadFleet(t, kit, fleetOf(names(1), nil, ""))
	jdir := filepath.Join(dir, "j")
	wait := runAsync(context.Background(), f, fleet.Options{Clock: kit.Clock, JournalDir: jdir})
	g.next(t) // u01 runs, its journal locked
	rep, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, JournalDir: jdir, Resume: true})
	row := rep.Unit("u01")
	if !errors.Is(err, fleet.ErrFailureBudget) || row.Outcome != runner.Failed || !strings.Contains(row.Reason, "unit u01: ") || !strings.Contains(row.Reason, runner.ErrJournalLocked.Error()) {
		t.Errorf("second run: %v, %+v", err, row)
	}
	g.noMore(t)
	g.open("u01", nil)
	if rep, err := wait(); err != nil || rep.Outcome != runner.Succeeded {
		t.Errorf("first run: %v", err)
	}
}

func TestApproval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		approver actions.Approver
		want     string
		err      error
	}{
		{"approved", actions.AutoApprove{}, "u01=succeeded u02=succeeded u03=succeeded", nil},
		{"refused", actions.ApproverFunc(func(context.Context, actions.ApprovalRequest) (bool, error) { return false, nil }), "u01=succeeded u02=not run u03=not run", fleet.ErrNotApproved},
		{"no approver", nil, "u01=succeeded u02=not run u03=not run", fleet.ErrNotApproved},
		{"approver fails", actions.ApproverFunc(func(context.Context, actions.ApprovalRequest) (bool, error) { return true, errors.New("no terminal") }), "u01=succeeded u02=not run u03=not run", fleet.ErrNotApproved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kit := actionstest.NewKit()
			kit.Action("up.install")
			f, _ := loadFleet(t, kit, fleetOf(names(3), nil, "  canary: {units: [u01], approve: true}\n"))
			var asked []actions.ApprovalRequest
			var approver actions.Approver
			if tt.approver != nil {
				approver = actions.ApproverFunc(func(ctx context.Context, req actions.ApprovalRequest) (bool, error) {
					asked = append(asked, req)
					return tt.approver.Approve(ctx, req)
				})
			}
			rep, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, Approver: approver})
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) || outcomes(rep) != tt.want {
				t.Errorf("error %v, outcomes %s", err, outcomes(rep))
			}
			if tt.approver != nil && (len(asked) != 1 || !strings.Contains(asked[0].Prompt, "(u01)")) {
				t.Errorf("asked %+v", asked)
			}
			if tt.err != nil && !strings.HasPrefix(rep.Unit("u02").Reason, "rollout not approved after the canaries") {
				t.Errorf("reason %q", rep.Unit("u02").Reason)
			}
		})
	}
}

// TestStop: after Stop, no new unit starts and the running one finishes.
func TestStop(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	g := newGate()
	kit.Action("up.install", g.result())
	f, _ := loadFleet(t, kit, fleetOf(names(3), nil, ""))
	stop := make(chan struct{})
	var mu sync.Mutex
	var kinds []string
	obs := fleet.ObserverFunc(func(e fleet.Event) {
		if e.Kind == fleet.UnitEvent {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		kinds = append(kinds, string(e.Kind)+":"+e.Unit)
	})
	wait := runAsync(context.Background(), f, fleet.Options{Clock: kit.Clock, Stop: stop, Observers: []fleet.Observer{obs}})
	g.next(t)
	close(stop)
	g.open("u01", nil) // the running install finishes
	rep, err := wait()
	g.noMore(t)
	if !errors.Is(err, runner.ErrInterrupted) || rep.Outcome != runner.Cancelled {
		t.Errorf("error %v, outcome %s", err, rep.Outcome)
	}
	if got := outcomes(rep); got != "u01=cancelled u02=not run u03=not run" && got != "u01=succeeded u02=not run u03=not run" {
		t.Errorf("outcomes %s", got)
	}
	mu.Lock()
	defer mu.Unlock()
	got := strings.Join(kinds, " ")
	// The fleet may see the stop before u01 ends or after (then after its
	// wave.end): either way it says so once, and starts no other unit.
	if strings.Count(got, "fleet.stopping:") != 1 || !strings.HasPrefix(got, "fleet.start: wave.start: unit.start:u01") || !strings.Contains(got, " wave.end: ") ||
		!strings.HasSuffix(got, " fleet.end:") || strings.Count(got, "unit.start") != 1 {
		t.Errorf("events %s", got)
	}
}

func TestLimit(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install")
	labels := map[string]string{"u01": "site: east", "u02": "site: west", "u03": "site: east"}
	f, _ := loadFleet(t, kit, fleetOf(names(4), labels, ""))
	rep, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, Limit: []string{"site=east", "u04"}})
	if err != nil || outcomes(rep) != "u01=succeeded u02=skipped u03=succeeded u04=succeeded" {
		t.Errorf("error %v, outcomes %s", err, outcomes(rep))
	}
	for _, c := range kit.Recorder.Calls() {
		if c.Args["host"] == "u02" {
			t.Error("u02 ran")
		}
	}
	for _, bad := range []string{"u5", "site=north"} {
		_, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, Limit: []string{bad}})
		if !errors.Is(err, fleet.ErrLimit) {
			t.Errorf("limit %s: %v", bad, err)
		}
	}
	if _, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, Limit: []string{"u004"}}); !errors.Is(err, fleet.ErrUnknownUnit) || !strings.Contains(err.Error(), `did you mean "u04"`) {
		t.Errorf("unknown unit: %v", err)
	}
	if _, err := fleet.Run(context.Background(), f, fleet.Options{Resume: true}); !errors.Is(err, fleet.ErrJournalDir) {
		t.Errorf("resume without a journal directory: %v", err)
	}
}

// TestEvents: every event carries its unit, and a unit's run events are
// wrapped; the Unit hook adjusts each unit's options.
func TestEvents(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install")
	f, _ := loadFleet(t, kit, fleetOf(names(2), nil, "  max_parallel: 2\n"))
	var mu sync.Mutex
	runEvents := map[string]int{}
	var hooked []string
	obs := fleet.ObserverFunc(func(e fleet.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == fleet.UnitEvent {
			if e.Run == nil || e.Unit == "" || e.Wave != 1 || e.Time.IsZero() {
				t.Errorf("event %+v", e)
			}
			runEvents[e.Unit+":"+string(e.Run.Kind)]++
		}
	})
	_, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, Observers: []fleet.Observer{obs},
		Unit: func(name string, o *runner.Options) {
			mu.Lock()
			defer mu.Unlock()
			hooked = append(hooked, name)
			if o.Params["host"] != name || o.Clock != kit.Clock {
				t.Errorf("unit %s options %+v", name, o)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if runEvents["u01:run.start"] != 1 || runEvents["u02:run.end"] != 1 || len(hooked) != 2 {
		t.Errorf("run events %v, hooked %v", runEvents, hooked)
	}
}

package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/schema"
)

const header = "apiVersion: csmplan/v1\nkind: Runbook\nname: t\n"

func load(t *testing.T, reg *actions.Registry, body string) *plan.Plan {
	t.Helper()
	p, err := plan.Parse("t.yaml", []byte(header+body), plan.WithRegistry(reg))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}

func run(t *testing.T, kit *actionstest.Kit, body string, opts runner.Options) (*runner.Report, []runner.Event, error) {
	t.Helper()
	reg := kit.Registry()
	p := load(t, reg, body)
	var events []runner.Event
	opts.Registry = reg
	opts.Clock = kit.Clock
	opts.Observers = append(opts.Observers, runner.ObserverFunc(func(e runner.Event) { events = append(events, e) }))
	rep, err := runner.Run(context.Background(), p, opts)
	return rep, events, err
}

var errBoom = errors.New("boom")

func TestRunHappyPath(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns(map[string]any{"role": "Standby"}), actionstest.Returns(map[string]any{"role": "Active"}))
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "takeover", Mutates: true, Outputs: []actions.Output{{Name: "msg"}}},
		actionstest.Succeeds(actions.Outputs{"msg": "IWNR3063I"})))
	rep, _, err := run(t, kit, `
steps:
  - id: takeover
    pre:
      - probe: ha
        expect: {path: role, equals: Standby}
    action: takeover
    post:
      - probe: ha
        expect: {path: role, equals: Active}
  - id: report
    action: log
    with: {message: "took over: ${steps.takeover.outputs.msg}"}
`, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := &runner.Report{Runbook: "t", Outcome: runner.Succeeded, Steps: []runner.StepReport{
		{ID: "takeover", Line: 6, Outcome: runner.Succeeded,
			Pre:      []runner.ConditionResult{{Condition: `ha role equals "Standby"`, Line: 8, Status: runner.Met, Expected: `role equals "Standby"`, Observed: "Standby", Polls: 1}},
			Attempts: []runner.Attempt{{N: 1}},
			Post:     []runner.ConditionResult{{Condition: `ha role equals "Active"`, Line: 12, Status: runner.Met, Expected: `role equals "Active"`, Observed: "Active", Polls: 1}},
			Outputs:  map[string]any{"msg": "IWNR3063I"}},
		{ID: "report", Line: 14, Outcome: runner.Succeeded, Attempts: []runner.Attempt{{N: 1}}, Outputs: map[string]any{"message": "took over: IWNR3063I"}},
	}}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func TestRunWaitPollsOnTheClock(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns("Standby").Times(3), actionstest.Returns("Active"))
	rep, events, err := run(t, kit, `
steps:
  - id: wait
    post:
      - probe: ha
        expect: {equals: Active}
        wait: {timeout: 30m, interval: 30s}
`, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Steps[0].Post[0]
	if got.Status != runner.Met || got.Polls != 4 || got.Waited != 90*time.Second {
		t.Errorf("post = %+v, want met after 4 polls and 90s", got)
	}
	polls := 0
	for _, e := range events {
		if e.Kind == runner.WaitPoll {
			polls++
			if e.Timeout != 30*time.Minute || e.Condition.Observed != "Standby" {
				t.Errorf("wait event %+v: want timeout 30m and last observed value", e)
			}
		}
	}
	if polls != 3 {
		t.Errorf("wait.poll events = %d, want 3", polls)
	}
}

func TestRunWaitTimesOutWithEvidence(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns(map[string]any{"role": "Standby", "status": "Synchronization Pending"}))
	rep, _, err := run(t, kit, `
steps:
  - id: sync
    pre:
      - probe: ha
        expect: {path: status, equals: Synchronized}
        wait: {timeout: 30m, interval: 1m}
      - value: 3
        expect: {gte: 5}
    action: log
    with: {message: never}
`, runner.Options{})
	if !errors.Is(err, runner.ErrPrecondition) {
		t.Fatalf("err = %v, want ErrPrecondition", err)
	}
	var se *runner.StepError
	if !errors.As(err, &se) || se.Step != "sync" || se.Pos.Line != 6 {
		t.Fatalf("err = %v, want a StepError for step sync at line 6", err)
	}
	for _, want := range []string{`step "sync" (t.yaml:6)`, "status equals \"Synchronized\"", `observed "Synchronization Pending"`, "gte 5: observed 3", "line 11"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := rep.Steps[0].Pre[0]; got.Waited != 30*time.Minute || got.Polls != 31 {
		t.Errorf("waited %s in %d polls, want 30m in 31", got.Waited, got.Polls)
	}
	if rep.Steps[0].Attempts != nil {
		t.Errorf("the action ran despite an unmet precondition")
	}
	if kit.Clock.Slept() != 30*time.Minute {
		t.Errorf("clock slept %s, want 30m", kit.Clock.Slept())
	}
}

func TestRunRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	act := kit.Action("flaky", actionstest.Fails(errBoom).Times(2), actionstest.Succeeds(nil))
	rep, _, err := run(t, kit, `
steps:
  - id: flaky
    action: flaky
    retry: {attempts: 3, interval: 10s, backoff: 2}
`, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if act.Calls() != 3 || len(rep.Steps[0].Attempts) != 3 {
		t.Fatalf("calls = %d, attempts = %+v, want 3", act.Calls(), rep.Steps[0].Attempts)
	}
	if kit.Clock.Slept() != 30*time.Second {
		t.Errorf("slept %s between attempts, want 10s + 20s", kit.Clock.Slept())
	}
}

func TestRunFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		result   actionstest.Result
		step     string
		wantErr  error
		wantText string
		calls    int
	}{
		{"permanent errors are not retried", actionstest.Fails(actions.Permanent(errBoom)), "retry: {attempts: 5}", actions.ErrPermanent, "boom", 1},
		{"retries run out", actionstest.Fails(errBoom), "retry: {attempts: 2}", runner.ErrAction, "after 2 attempts", 2},
		{"timeout", actionstest.Succeeds(nil).After(10 * time.Minute), "timeout: 5m", runner.ErrTimeout, "timed out after 5m0s", 1},
		{"panic", actionstest.Panics("kaboom"), "", runner.ErrPanic, "kaboom", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kit := actionstest.NewKit()
			act := kit.Action("act", tt.result)
			rep, _, err := run(t, kit, "steps:\n  - id: s\n    action: act\n    "+tt.step+"\n", runner.Options{})
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.wantErr, tt.wantText)
			}
			if act.Calls() != tt.calls {
				t.Errorf("calls = %d, want %d", act.Calls(), tt.calls)
			}
			if rep.Outcome != runner.Failed || rep.Steps[0].Outcome != runner.Failed {
				t.Errorf("outcome = %s/%s, want failed", rep.Outcome, rep.Steps[0].Outcome)
			}
		})
	}
}

func TestRunWhenSkips(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	act := kit.Action("act")
	rep, _, err := run(t, kit, `
params:
  dr: {type: boolean, default: true}
steps:
  - id: s
    when: ${params.dr}
    action: act
`, runner.Options{Params: map[string]any{"dr": "false"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Steps[0].Outcome != runner.Skipped || act.Calls() != 0 || !strings.Contains(rep.Steps[0].Reason, "${params.dr}") {
		t.Errorf("step = %+v, calls %d; want skipped naming the condition", rep.Steps[0], act.Calls())
	}
}

func TestRunContinueAndAbort(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"continue", "abort"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			kit := actionstest.NewKit()
			kit.Action("bad", actionstest.Fails(errBoom))
			last := kit.Action("last")
			rep, _, err := run(t, kit, "steps:\n  - id: a\n    action: bad\n    on_failure: "+policy+"\n  - id: b\n    action: last\n", runner.Options{})
			if err == nil || rep.Outcome != runner.Failed {
				t.Fatalf("err = %v, outcome %s: want a failed run", err, rep.Outcome)
			}
			wantCalls, wantB := 1, runner.Succeeded
			if policy == "abort" {
				wantCalls, wantB = 0, runner.NotRun
			}
			if last.Calls() != wantCalls || rep.Steps[1].Outcome != wantB {
				t.Errorf("step b: calls %d outcome %s, want %d %s", last.Calls(), rep.Steps[1].Outcome, wantCalls, wantB)
			}
		})
	}
}

func TestRunRollbackUndoesInReverseAndVerifies(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("do")
	kit.Action("undo")
	kit.Action("bad", actionstest.Fails(errBoom))
	rep, _, err := run(t, kit, `
defaults: {on_failure: rollback}
steps:
  - id: one
    pre: [{value: true}]
    action: do
    with: {n: 1}
    undo: {action: undo, with: {n: 1}}
  - id: two
    action: do
    with: {n: 2}
    undo: {action: undo, with: {n: 2}}
  - id: three
    action: bad
`, runner.Options{})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the failure of step three", err)
	}
	var got []string
	for _, c := range kit.Calls() {
		got = append(got, c.Name+plan.Format(c.Args["n"]))
	}
	want := []string{"do1", "do2", "bad", "undo2", "undo1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if u := rep.Steps[0].Undo; u == nil || u.Outcome != runner.Succeeded || len(u.Verify) != 1 || u.Verify[0].Status != runner.Met {
		t.Errorf("undo of one = %+v, want succeeded and verified", u)
	}
}

func TestRunFailedUndoIsReported(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("do")
	kit.Action("undo", actionstest.Fails(errors.New("undo exploded")))
	kit.Action("bad", actionstest.Fails(errBoom))
	_, _, err := run(t, kit, `
steps:
  - id: one
    action: do
    undo: {action: undo}
  - id: two
    action: bad
    on_failure: rollback
`, runner.Options{})
	if !errors.Is(err, runner.ErrUndo) || !strings.Contains(err.Error(), "undo exploded") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want both the failure and the failed undo", err)
	}
}

func TestRunCancellation(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	ctx, cancel := context.WithCancel(context.Background())
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "cancel"}, actionstest.Result{}))
	reg := actions.NewRegistry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "stop"}, func() actions.Action {
		return actions.ActionFunc(func(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
			cancel()
			<-ctx.Done()
			return nil, ctx.Err()
		})
	}))
	actions.MustRegister(actions.RegisterBuiltins(reg))
	p := load(t, reg, "steps:\n  - id: a\n    action: stop\n  - id: b\n    action: log\n    with: {message: x}\n")
	rep, err := runner.Run(ctx, p, runner.Options{Registry: reg, Clock: kit.Clock})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep.Outcome != runner.Cancelled || rep.Steps[0].Outcome != runner.Cancelled || rep.Steps[1].Outcome != runner.NotRun {
		t.Errorf("outcomes = %s %s %s", rep.Outcome, rep.Steps[0].Outcome, rep.Steps[1].Outcome)
	}
}

func TestRunRedactsSecrets(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "echo", Mutates: true, Outputs: []actions.Output{{Name: "said"}}},
		actionstest.Result{Outputs: actions.Outputs{"said": "login with hunter2!"}, Err: errors.New("bad password hunter2")}))
	rep, events, err := run(t, kit, `
params:
  password: {type: string, secret: true}
steps:
  - id: a
    pre:
      - value: "pw=${params.password}"
        expect: {equals: nope}
    action: echo
  - id: b
    action: echo
    with: {password: "${params.password}"}
`, runner.Options{Params: map[string]any{"password": "hunter2"}})
	if err == nil {
		t.Fatal("want a failure")
	}
	text := err.Error() + cmp.Diff(nil, rep) + cmp.Diff(nil, events)
	if strings.Contains(text, "hunter2") {
		t.Errorf("secret leaked:\n%s", text)
	}
	if !strings.Contains(text, runner.Redacted) {
		t.Errorf("want %s in place of the secret", runner.Redacted)
	}
	if got := kit.Calls(); len(got) != 0 {
		t.Errorf("action ran despite unmet precondition: %v", got)
	}
}

func TestRunUnmetStructureHasDiff(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("sessions", actionstest.Returns([]any{map[string]any{"name": "MM1", "state": "Prepared"}}),
		actionstest.Returns([]any{map[string]any{"name": "MM1", "state": "Suspended"}}))
	rep, _, err := run(t, kit, `
steps:
  - id: before
    pre:
      - probe: sessions
        expect: {empty: false}
        save: before
  - id: after
    post:
      - probe: sessions
        expect: {equals: "${vars.before}"}
`, runner.Options{})
	if !errors.Is(err, runner.ErrPostcondition) {
		t.Fatalf("err = %v", err)
	}
	diff := rep.Steps[1].Post[0].Diff
	if !strings.Contains(diff, `-`) || !strings.Contains(diff, `"Prepared"`) || !strings.Contains(diff, `"Suspended"`) {
		t.Errorf("diff = %q, want a go-cmp diff of the sessions", diff)
	}
}

func TestRunMatchers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, expect string
		met           bool
	}{
		{`"6.3.10.1"`, `{gte: 6.3.9}`, true},
		{`"6.3.10.1"`, `{lt: "6.3.2"}`, false},
		{`7`, `{gt: 6.5}`, true},
		{`[a, b]`, `{contains: b}`, true},
		{`"hello"`, `{matches: "^h.*o$"}`, true},
		{`[]`, `{empty: true}`, true},
		{`{a: 1}`, `{path: a, in: [1, 2]}`, true},
		{`{a: 3}`, `{path: a, not_in: [1, 2]}`, true},
		{`[{s: Prepared}, {s: Preparing}]`, `{path: "[*].s", none: {in: [Preparing]}}`, false},
		{`[{s: Prepared}, {s: Protected}]`, `{all: {path: s, matches: "^P"}}`, true},
		{`[1, 2, 3]`, `{any: {gt: 2}}`, true},
		{`{x: [1, 2]}`, `{path: x, equals: [1, 2]}`, true},
		{`3`, `{not_equals: 3.0}`, false},
		// as: version compares levels: trailing zeros and build suffixes
		// do not matter.
		{`"6.3.11"`, `{as: version, equals: "6.3.11.0"}`, true},
		{`"6.3.11.0"`, `{equals: "6.3.11"}`, false},
		{`{v: "6.3.11.0-b20261101"}`, `{path: v, as: version, equals: 6.3.11}`, true},
		{`"6.3.11.0 build 7"`, `{as: version, not_equals: "6.3.11"}`, false},
		{`"6.3.10.1-b3"`, `{as: version, lt: "6.3.11.0"}`, true},
		{`"6.3.10.1-b3"`, `{lt: "6.3.11.0"}`, true},
		{`"6.3.11"`, `{as: version, in: ["6.3.10.1", "6.3.11.0"]}`, true},
		{`"latest"`, `{as: version, equals: "6.3.11"}`, false},
		// Integers beyond 2^53 compare exactly (no float64 round trip).
		{`9007199254740993`, `{equals: 9007199254740992}`, false},
		{`9007199254740993`, `{not_equals: 9007199254740992}`, true},
		{`9007199254740993`, `{gt: 9007199254740992}`, true},
		{`9007199254740993`, `{in: [9007199254740992]}`, false},
		{`{n: 9007199254740993}`, `{equals: {n: 9007199254740992}}`, false},
		{`{n: 3}`, `{equals: {n: 3.0}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.value+" "+tt.expect, func(t *testing.T) {
			t.Parallel()
			kit := actionstest.NewKit()
			rep, _, _ := run(t, kit, "steps:\n  - id: s\n    pre:\n      - value: "+tt.value+"\n        expect: "+tt.expect+"\n", runner.Options{})
			if got := rep.Steps[0].Pre[0].Status == runner.Met; got != tt.met {
				t.Errorf("met = %v, want %v (%+v)", got, tt.met, rep.Steps[0].Pre[0])
			}
		})
	}
}

func TestRunDryRun(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	probe := kit.Probe("ha", actionstest.Returns("Standby"))
	act := kit.Action("takeover")
	rep, _, err := run(t, kit, `
params:
  dr: {type: boolean, default: false}
steps:
  - id: optional
    when: ${params.dr}
    action: takeover
  - id: takeover
    pre: [{probe: ha, expect: {equals: Standby}}]
    action: takeover
  - id: verify
    post: [{probe: ha, expect: {equals: Active}}]
`, runner.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	got := []runner.Outcome{rep.Steps[0].Outcome, rep.Steps[1].Outcome, rep.Steps[2].Outcome}
	if diff := cmp.Diff([]runner.Outcome{runner.WouldSkip, runner.WouldRun, runner.WouldRun}, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if act.Calls() != 0 || probe.Calls() != 1 {
		t.Errorf("action calls %d, probe calls %d; want 0 and 1 (the probe before any change)", act.Calls(), probe.Calls())
	}
	if st := rep.Steps[2].Post[0].Status; st != runner.NotChecked {
		t.Errorf("verify's postcondition = %s: a dry run must not claim it after a change it did not make", st)
	}
}

func TestRunDryRunBlocked(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns("Active"))
	kit.Action("takeover")
	rep, _, err := run(t, kit, `
steps:
  - id: takeover
    pre: [{probe: ha, expect: {equals: Standby}}]
    action: takeover
  - id: next
    action: takeover
`, runner.Options{DryRun: true})
	if err == nil || rep.Steps[0].Outcome != runner.Blocked || rep.Steps[0].Pre[0].Observed != "Active" {
		t.Fatalf("err %v, step %+v: want blocked with the observation", err, rep.Steps[0])
	}
	if rep.Steps[1].Outcome != runner.NotRun {
		t.Errorf("next = %s, want not run", rep.Steps[1].Outcome)
	}
}

func TestBindParams(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	p := load(t, kit.Registry(), `
params:
  host: {type: string, required: true}
  port: {type: integer, default: 9559}
  mode: {type: string, enum: [dr, nodr], default: dr}
  pw: {type: string, secret: true, pattern: "^[a-z]+$"}
steps:
  - id: s
    action: log
    with: {message: x}
`)
	_, err := runner.BindParams(p, map[string]any{"prot": "1", "port": "x", "mode": "drr", "pw": "SECRET1"})
	if !errors.Is(err, runner.ErrParams) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"param prot: unknown param; did you mean \"port\"?", "param host: required", `param port: "x" is not an integer`, `param mode: "drr" is not one of dr, nodr`, "param pw: secret value does not fit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "SECRET1") {
		t.Errorf("secret in error: %v", err)
	}
	got, err := runner.BindParams(p, map[string]any{"host": "h", "port": "10"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"host": "h", "port": int64(10), "mode": "dr", "pw": ""}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
}

// A probe's progress messages (such as an insecure-TLS warning) reach the
// observers, in a dry run too.
func TestRunProbeLogs(t *testing.T) {
	t.Parallel()
	for _, dry := range []bool{false, true} {
		reg := actions.NewRegistry()
		err := reg.RegisterProbe(actions.Spec{Name: "warns", Summary: "a probe that warns", Outputs: []actions.Output{{Name: "ok"}}}, func() actions.Probe {
			return actions.ProbeFunc(func(_ context.Context, call *actions.Call) (any, error) {
				call.Logf("TLS verification of %s is DISABLED", "x")
				return true, nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		p := load(t, reg, "steps:\n  - id: s\n    pre:\n      - probe: warns\n")
		var logs []runner.Event
		_, err = runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: actionstest.NewClock(actionstest.Epoch), DryRun: dry,
			Observers: []runner.Observer{runner.ObserverFunc(func(e runner.Event) {
				if e.Kind == runner.ActionLog {
					logs = append(logs, e)
				}
			})}})
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) != 1 || logs[0].Step != "s" || logs[0].Index != 1 || !strings.Contains(logs[0].Message, "DISABLED") {
			t.Errorf("dry run %v: logs %+v, want the probe's warning of step s", dry, logs)
		}
	}
}

// A wait stops at once on a probe error that retrying cannot fix (refused
// credentials, say), instead of polling until its timeout.
func TestRunWaitStopsOnPermanentError(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("login", actionstest.Fails(actions.Permanent(errors.New("authentication failed"))).Times(100))
	rep, _, err := run(t, kit, `
steps:
  - id: s
    pre:
      - probe: login
        wait: {timeout: 30m, interval: 1s}
`, runner.Options{})
	if err == nil {
		t.Fatal("the run succeeded")
	}
	c := rep.Steps[0].Pre[0]
	if c.Polls != 1 || c.Waited != 0 || !strings.Contains(c.Error, "retrying cannot fix this error") {
		t.Errorf("condition %+v: want one check, no wait, and the reason", c)
	}
}

// An action's and a probe's passing statuses (Call.Progressf) reach the
// observers as action.progress events, in the form of the events schema;
// a Call without Progress falls back to Log.
func TestRunProgressEvents(t *testing.T) {
	t.Parallel()
	reg := actions.NewRegistry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "install", Mutates: true}, func() actions.Action {
		return actions.ActionFunc(func(_ context.Context, call *actions.Call) (actions.Outputs, error) {
			call.Progressf("still waiting: %ds", 1)
			return nil, nil
		})
	}))
	actions.MustRegister(reg.RegisterProbe(actions.Spec{Name: "slow", Outputs: []actions.Output{{Name: "ok"}}}, func() actions.Probe {
		return actions.ProbeFunc(func(_ context.Context, call *actions.Call) (any, error) {
			call.Progressf("probing: %d of 2", 1)
			return true, nil
		})
	}))
	p := load(t, reg, "steps:\n  - id: s\n    action: install\n    post:\n      - probe: slow\n")
	sc, err := schema.Compile(schema.EventsURL, schema.Events())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	_, err = runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: actionstest.NewClock(actionstest.Epoch),
		Observers: []runner.Observer{runner.ObserverFunc(func(e runner.Event) {
			if e.Kind != runner.ActionProgress {
				return
			}
			got = append(got, fmt.Sprintf("%s %d %s", e.Step, e.Index, e.Message))
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if err := sc.Validate(v); err != nil {
				t.Errorf("%s does not match the events schema: %v", b, err)
			}
		})}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"s 1 still waiting: 1s", "s 1 probing: 1 of 2"}; !slices.Equal(got, want) {
		t.Errorf("progress events %q, want %q", got, want)
	}
	var logged []string
	(&actions.Call{Log: func(msg string) { logged = append(logged, msg) }}).Progressf("at %d%%", 50)
	(&actions.Call{}).Progressf("nowhere") // neither set: nothing happens
	if !slices.Equal(logged, []string{"at 50%"}) {
		t.Errorf("Progressf without Progress logged %q, want [at 50%%]", logged)
	}
}

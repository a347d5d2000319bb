package runner_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// preflighted is a fake action that is also an actions.Preflighter.
type preflighted struct {
	*actionstest.FakeAction
	calls *atomic.Int32
	check func(call *actions.Call) error
}

func (p preflighted) Preflight(_ context.Context, call *actions.Call) error {
	p.calls.Add(1)
	return p.check(call)
}

var errNoInstaller = errors.New("the program /opt/setup.bin is not an executable file on csm1")

const preflightBook = `
steps:
  - id: first
    action: produce
  - id: install
    action: install
    with: {argv: [/opt/setup.bin], from: "${steps.first.outputs.file}"}
  - id: again
    action: install
    with: {argv: [/opt/setup.bin]}
  - id: last
    action: log
    with: {message: done}
`

func preflightKit(t *testing.T, check func(call *actions.Call) error) (*actions.Registry, *actionstest.FakeAction, *atomic.Int32) {
	t.Helper()
	kit := actionstest.NewKit(actionstest.WithTest(t))
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "produce", Outputs: []actions.Output{{Name: "file", Type: "string"}}}, actionstest.Succeeds(actions.Outputs{"file": "f"})))
	install := actionstest.NewFakeAction(actions.Spec{Name: "install", Mutates: true})
	reg := kit.Registry()
	calls := &atomic.Int32{}
	if err := reg.RegisterAction(install.Spec(), func() actions.Action { return preflighted{install, calls, check} }); err != nil {
		t.Fatal(err)
	}
	return reg, install, calls
}

// A dry run asks a Preflighter instead of running the action: a failure
// blocks the step with the reason; a success says the step would run, and
// what it needs is there. Arguments that need outputs a dry run does not
// have are not preflighted. A real run never asks.
func TestDryRunPreflight(t *testing.T) {
	t.Parallel()
	var args []map[string]any
	reg, install, calls := preflightKit(t, func(call *actions.Call) error {
		args = append(args, call.Args)
		return actions.NotReady(errNoInstaller)
	})
	p := load(t, reg, preflightBook)
	rep, err := runner.Run(t.Context(), p, runner.Options{DryRun: true, Clock: actionstest.NewClock(actionstest.Epoch)})
	if !errors.Is(err, runner.ErrPreflight) || !errors.Is(err, actions.ErrPreflight) || !errors.Is(err, errNoInstaller) {
		t.Fatalf("err = %v, want ErrPreflight wrapping the check's error", err)
	}
	want := `step "again" (t.yaml:11): not ready to run: install: ` + errNoInstaller.Error()
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	got := map[string]runner.Outcome{}
	for _, s := range rep.Steps {
		got[s.ID] = s.Outcome
	}
	if got["first"] != runner.WouldRun || got["install"] != runner.WouldRun || got["again"] != runner.Blocked || got["last"] != runner.NotRun {
		t.Errorf("outcomes %v", got)
	}
	if r := rep.Steps[1].Reason; r != "action install" {
		t.Errorf("step install, whose arguments need an output: reason %q, want it not preflighted", r)
	}
	if install.Calls() != 0 || calls.Load() != 1 || len(args) != 1 || args[0]["argv"].([]any)[0] != "/opt/setup.bin" {
		t.Errorf("runs %d, preflights %d with %v: want 0 runs and 1 preflight of step again", install.Calls(), calls.Load(), args)
	}

	reg, install, calls = preflightKit(t, func(*actions.Call) error { return nil })
	p = load(t, reg, preflightBook)
	rep, err = runner.Run(t.Context(), p, runner.Options{DryRun: true})
	if err != nil || rep.Steps[2].Outcome != runner.WouldRun || !strings.Contains(rep.Steps[2].Reason, "what it needs is there") {
		t.Errorf("a passing preflight: %v, %+v", err, rep.Steps[2])
	}

	rep, err = runner.Run(t.Context(), p, runner.Options{})
	if err != nil || rep.Outcome != runner.Succeeded || install.Calls() != 2 || calls.Load() != 1 {
		t.Errorf("real run: %v, %s, runs %d, preflights %d; want 2 runs and no more preflight", err, rep.Outcome, install.Calls(), calls.Load())
	}
}

// An action's error that names the action already is not prefixed with
// its name again.
func TestActionErrorNamesOnce(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("csm.x", actionstest.Fails(errors.New(`csm.x on target "a": refused`)))
	kit.Action("y", actionstest.Fails(errors.New("refused")))
	for step, want := range map[string]string{
		"csm.x": `action failed: csm.x on target "a": refused`,
		"y":     "action failed: y: refused",
	} {
		_, _, err := run(t, kit, "steps:\n  - id: s\n    action: "+step+"\n", runner.Options{})
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to end %q", step, err, want)
		}
	}
}

// Conditions that could not be checked for the same cause say it once; a
// timeout says what timed out and after how long, not Go's "context
// deadline exceeded".
func TestMessagesSayCausesOnce(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	login := errors.New("csm login on h:9559: the user name or password is not valid")
	kit.Probe("p1", actionstest.Answers(func(*actions.Call) (any, error) { return nil, errors.New(`p1 on target "a": ` + login.Error()) }))
	kit.Probe("p2", actionstest.Answers(func(*actions.Call) (any, error) { return nil, errors.New(`p2 on target "a": ` + login.Error()) }))
	kit.Probe("p3", actionstest.Answers(func(*actions.Call) (any, error) { return nil, errors.New("other") }))
	kit.Action("slow", actionstest.Succeeds(nil).After(time.Hour))
	_, _, err := run(t, kit, `
steps:
  - id: s
    pre:
      - {probe: p1, expect: {equals: 1}}
      - {probe: p3, expect: {equals: 1}}
      - {probe: p2, expect: {equals: 1}}
`, runner.Options{})
	want := `precondition unmet: p1 equals 1 (line 8), p2 equals 1 (line 10): error: ` + login.Error() + `; p3 equals 1 (line 9): error: probe p3: other`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %v, want it to end %q", err, want)
	}
	kit.Probe("p4", actionstest.Answers(func(*actions.Call) (any, error) {
		return nil, errors.New(`p4 on target "a": no more logins (the last refusal: the user name or password is not valid)`)
	}))
	_, _, err = run(t, kit, `
steps:
  - id: s
    pre:
      - {probe: p1, expect: {equals: 1}}
      - {probe: p4, expect: {equals: 1}}
`, runner.Options{})
	want = `p1 equals 1 (line 8): error: p1 on target "a": ` + login.Error() + `; p4 equals 1 (line 9): error: p4 on target "a": no more logins (the last refusal: as above)`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %v, want it to end %q", err, want)
	}
	_, _, err = run(t, kit, "steps:\n  - id: s\n    action: slow\n    timeout: 1m\n", runner.Options{})
	if !errors.Is(err, runner.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || !strings.HasSuffix(err.Error(), "action failed: slow: fake action slow: timed out after 1m0s") {
		t.Errorf("err = %v", err)
	}
}

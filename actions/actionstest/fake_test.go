package actionstest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
)

func TestFakeProbeScript(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection refused")
	kit := actionstest.NewKit()
	probe := kit.Probe("csm.ha",
		actionstest.Returns(map[string]any{"role": "Standby"}).Times(2),
		actionstest.Fails(boom),
		actionstest.Returns(map[string]any{"role": "Active"}),
	)
	want := []struct {
		role string
		err  error
	}{{"Standby", nil}, {"Standby", nil}, {"", boom}, {"Active", nil}, {"Active", nil}}
	for i, w := range want {
		v, err := probe.Observe(context.Background(), kit.NewCall("s", "csm.ha", nil))
		if !errors.Is(err, w.err) {
			t.Fatalf("call %d: err = %v, want %v", i+1, err, w.err)
		}
		if w.err != nil {
			continue
		}
		if got := v.(map[string]any)["role"]; got != w.role {
			t.Errorf("call %d: role = %v, want %s", i+1, got, w.role)
		}
	}
	if n := probe.Calls(); n != len(want) {
		t.Errorf("Calls() = %d, want %d", n, len(want))
	}
}

func TestFakeDefaultsAndOutputsAsObservation(t *testing.T) {
	t.Parallel()
	a := actionstest.NewFakeAction(actions.Spec{Name: "x"})
	out, err := a.Run(context.Background(), &actions.Call{})
	if err != nil || out != nil {
		t.Errorf("unscripted action = %v, %v; want nil, nil", out, err)
	}
	if a.Spec().Summary == "" || string(a.Spec().Args) != string(actionstest.AnyArgs) {
		t.Errorf("spec not filled in: %+v", a.Spec())
	}
	p := actionstest.NewFakeProbe(actions.Spec{Name: "y"}, actionstest.Succeeds(actions.Outputs{"a": int64(1)}))
	v, err := p.Observe(context.Background(), &actions.Call{})
	if err != nil || !reflect.DeepEqual(v, map[string]any{"a": int64(1)}) {
		t.Errorf("probe with Outputs = %v, %v; want the outputs as a map", v, err)
	}
}

func TestFakeResultsAreCopies(t *testing.T) {
	t.Parallel()
	a := actionstest.NewFakeAction(actions.Spec{Name: "x"}, actionstest.Succeeds(actions.Outputs{"list": []any{"a"}}))
	out, _ := a.Run(context.Background(), &actions.Call{})
	out["list"].([]any)[0] = "changed"
	out2, _ := a.Run(context.Background(), &actions.Call{})
	if got := out2["list"].([]any)[0]; got != "a" {
		t.Errorf("second call returned %v: changing the first result changed the script", got)
	}
}

func TestFakeDelayUsesClockAndHonoursContext(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	a := kit.Action("slow", actionstest.Succeeds(nil).After(5*time.Minute))
	if _, err := a.Run(context.Background(), kit.NewCall("s", "slow", nil)); err != nil {
		t.Fatal(err)
	}
	if got := kit.Clock.Slept(); got != 5*time.Minute {
		t.Errorf("slept %v, want 5m", got)
	}
	ctx, cancel := kit.Clock.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := a.Run(ctx, kit.NewCall("s", "slow", nil))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run under a 1m timeout = %v, want context.DeadlineExceeded", err)
	}
	if got := kit.Clock.Slept(); got != 6*time.Minute {
		t.Errorf("slept %v in all, want 6m (stopped at the timeout)", got)
	}
}

func TestFakePanics(t *testing.T) {
	t.Parallel()
	a := actionstest.NewFakeAction(actions.Spec{Name: "x"}, actionstest.Panics("kaboom"))
	defer func() {
		if p := recover(); p != "kaboom" {
			t.Errorf("recovered %v, want kaboom", p)
		}
	}()
	_, _ = a.Run(context.Background(), &actions.Call{})
	t.Error("Run returned; want a panic")
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("csm.ha", actionstest.Returns("Active"))
	kit.Action("csm.takeover")
	reg := kit.Registry()

	args := map[string]any{"target": "primary", "list": []any{"x"}}
	p, err := reg.NewProbe("csm.ha")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = p.Observe(context.Background(), kit.NewCall("check", "csm.ha", args))
	kit.Clock.Advance(time.Minute)
	a, err := reg.NewAction("csm.takeover")
	if err != nil {
		t.Fatal(err)
	}
	call := kit.NewCall("takeover", "csm.takeover", map[string]any{"target": "secondary"})
	call.Attempt = 2
	_, _ = a.Run(context.Background(), call)
	args["list"].([]any)[0] = "changed after the call"

	want := []actionstest.Call{
		{Kind: actions.KindProbe, Name: "csm.ha", Step: "check", Args: map[string]any{"target": "primary", "list": []any{"x"}}, Attempt: 1, At: actionstest.Epoch},
		{Kind: actions.KindAction, Name: "csm.takeover", Step: "takeover", Args: map[string]any{"target": "secondary"}, Attempt: 2, At: actionstest.Epoch.Add(time.Minute)},
	}
	if got := kit.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("Calls() =\n%v\nwant\n%v", got, want)
	}
	if got, want := kit.Recorder.Names(), []string{"p:csm.ha", "a:csm.takeover"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if got, want := kit.Calls()[1].String(), "step takeover: action csm.takeover (attempt 2)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	kit.Recorder.Reset()
	if n := len(kit.Calls()); n != 0 {
		t.Errorf("%d calls after Reset, want 0", n)
	}
}

func TestKitRegistry(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("csm.takeover", actionstest.Fails(errors.New("first")))
	replaced := kit.Action("csm.takeover", actionstest.Succeeds(actions.Outputs{"msg": "IWNR3063I"}))
	exec := kit.Probe("exec", actionstest.Returns(map[string]any{"exit_code": int64(0)}))
	reg := kit.Registry()

	if got, want := reg.Names(actions.KindAction), []string{"csm.takeover", "exec", "http", "log", "manual", "sleep"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions = %v, want %v", got, want)
	}
	if got, want := reg.Names(actions.KindProbe), []string{"exec", "http", "value"}; !reflect.DeepEqual(got, want) {
		t.Errorf("probes = %v, want %v", got, want)
	}
	a, _ := reg.NewAction("csm.takeover")
	if out, err := a.Run(context.Background(), kit.NewCall("s", "csm.takeover", nil)); err != nil || out["msg"] != "IWNR3063I" {
		t.Errorf("csm.takeover = %v, %v; want the replacing fake's outputs", out, err)
	}
	if replaced.Calls() != 1 {
		t.Errorf("replacing fake called %d times, want 1", replaced.Calls())
	}
	p, _ := reg.NewProbe("exec")
	if _, err := p.Observe(context.Background(), kit.NewCall("s", "exec", map[string]any{"argv": []any{"definitely-not-run"}})); err != nil {
		t.Errorf("fake exec probe: %v", err)
	}
	if exec.Calls() != 1 {
		t.Errorf("the fake exec probe was not the one registered: %d calls", exec.Calls())
	}
	if spec, _ := reg.Spec(actions.KindAction, "csm.takeover"); !spec.Mutates {
		t.Errorf("a kit's fake action does not mutate; want Mutates true like a real action")
	}
	// Built-ins still work through the kit's registry.
	v, _ := reg.NewProbe("value")
	if got, err := v.Observe(context.Background(), kit.NewCall("s", "value", map[string]any{"value": "x"})); err != nil || got != "x" {
		t.Errorf("value probe = %v, %v", got, err)
	}
}

func TestKitRegisterErrors(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("Bad Name")
	kit.Probe("log.ok")
	err := kit.Register(actions.NewRegistry())
	if !errors.Is(err, actions.ErrInvalidName) {
		t.Errorf("Register = %v, want ErrInvalidName", err)
	}
	r := actions.NewRegistry()
	kit2 := actionstest.NewKit()
	kit2.Probe("p")
	if err := kit2.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := kit2.Register(r); !errors.Is(err, actions.ErrDuplicate) {
		t.Errorf("second Register = %v, want ErrDuplicate", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Registry() with an invalid fake name did not panic")
		}
	}()
	kit.Registry()
}

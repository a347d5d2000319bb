package runner_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// deploy uses, in two steps, a mutating action, an undo action and a probe
// that no built-in registry has.
const deploy = `
steps:
  - id: check
    pre:
      - probe: site.health
        expect: {equals: ok}
  - id: deploy
    pre:
      - probe: site.health
        expect: {equals: ok}
    action: site.deploy
    undo: {action: site.revert}
    post:
      - probe: exec
        with: {argv: ["true"]}
        expect: {path: exit_code, equals: 0}
`

// deployKit fakes what deploy uses, with deploy a mutating action.
func deployKit() *actionstest.Kit {
	kit := actionstest.NewKit()
	kit.Probe("site.health", actionstest.Returns("ok"))
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "site.deploy", Mutates: true}))
	kit.Action("site.revert")
	kit.Probe("exec", actionstest.Returns(map[string]any{"exit_code": int64(0)}))
	return kit
}

// A plan runs against the registry it was loaded with when the options
// name none: before, it ran against actions.Default() and failed at its
// first step.
func TestRunUsesThePlansRegistry(t *testing.T) {
	t.Parallel()
	kit := deployKit()
	p := load(t, kit.Registry(), deploy)
	rep, err := runner.Run(context.Background(), p, runner.Options{Clock: kit.Clock})
	if err != nil || rep.Outcome != runner.Succeeded {
		t.Fatalf("Run = %v, %v; want success against the plan's registry", rep.Outcome, err)
	}
	if diff := cmp.Diff([]string{"p:site.health", "p:site.health", "a:site.deploy", "p:exec"}, kit.Recorder.Names()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// Another registry that has everything the plan uses is accepted: a test
// runs a plan loaded with the real registry against fakes.
func TestRunAcceptsARegistryWithEverythingThePlanUses(t *testing.T) {
	t.Parallel()
	real := actions.NewRegistry()
	actions.MustRegister(actions.RegisterBuiltins(real))
	actions.MustRegister(real.RegisterProbe(actions.Spec{Name: "site.health"}, func() actions.Probe { return nil }))
	for _, name := range []string{"site.deploy", "site.revert"} {
		actions.MustRegister(real.RegisterAction(actions.Spec{Name: name, Mutates: true}, func() actions.Action { return nil }))
	}
	p := load(t, real, deploy)
	kit := deployKit()
	rep, err := runner.Run(context.Background(), p, runner.Options{Registry: kit.Registry(), Clock: kit.Clock})
	if err != nil || rep.Outcome != runner.Succeeded {
		t.Fatalf("Run = %v, %v; want success against the fakes", rep.Outcome, err)
	}
}

// A registry that lacks what the plan uses is refused before the first
// step, with everything it lacks; before, the run failed halfway, at the
// first step that used a missing name, after running the steps before it.
func TestRunRefusesARegistryThatLacksWhatThePlanUses(t *testing.T) {
	t.Parallel()
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry run %v", dry), func(t *testing.T) {
			t.Parallel()
			kit := deployKit()
			p := load(t, kit.Registry(), deploy)
			other := actionstest.NewKit()
			other.Probe("site.health", actionstest.Returns("ok"))
			rep, err := runner.Run(context.Background(), p, runner.Options{Registry: other.Registry(), Clock: other.Clock, DryRun: dry})
			if !errors.Is(err, runner.ErrRegistryMismatch) {
				t.Fatalf("err = %v, want ErrRegistryMismatch", err)
			}
			var re *runner.RegistryError
			if !errors.As(err, &re) {
				t.Fatalf("err = %T, want a *RegistryError", err)
			}
			want := []runner.Missing{
				{Kind: actions.KindAction, Name: "site.deploy", Steps: []string{"deploy"}},
				{Kind: actions.KindAction, Name: "site.revert", Steps: []string{"deploy"}},
			}
			if diff := cmp.Diff(want, re.Missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if rep.Outcome != runner.Failed || rep.Error != err.Error() {
				t.Errorf("report = %v %q, want failed with the error", rep.Outcome, rep.Error)
			}
			for _, s := range rep.Steps {
				if s.Outcome != runner.NotRun {
					t.Errorf("step %s: %v, want not run", s.ID, s.Outcome)
				}
			}
			if calls := other.Recorder.Names(); len(calls) != 0 {
				t.Errorf("calls = %v, want none before the refusal", calls)
			}
		})
	}
}

// A dry run never guesses what an action without a spec would do: before,
// it called an unknown mutating action read-only and said the run would
// succeed.
func TestDryRunRefusesAnActionWithoutSpec(t *testing.T) {
	t.Parallel()
	kit := deployKit()
	p := load(t, kit.Registry(), deploy)
	builtins := actions.NewRegistry()
	actions.MustRegister(actions.RegisterBuiltins(builtins))
	actions.MustRegister(builtins.RegisterProbe(actions.Spec{Name: "site.health"}, func() actions.Probe {
		return actions.ProbeFunc(func(context.Context, *actions.Call) (any, error) { return "ok", nil })
	}))
	rep, err := runner.Run(context.Background(), p, runner.Options{Registry: builtins, DryRun: true})
	if !errors.Is(err, runner.ErrRegistryMismatch) || rep.Outcome == runner.WouldRun {
		t.Fatalf("dry run = %v, %v; want refused with ErrRegistryMismatch", rep.Outcome, err)
	}
	// A plan built by hand, with no registry, runs against actions.Default():
	// an action that it lacks is refused as well.
	hand := &plan.Plan{Name: "hand", Filename: "hand", Steps: []*plan.Step{{ID: "go", Action: "site.nowhere"}}}
	rep, err = runner.Run(context.Background(), hand, runner.Options{DryRun: true})
	if !errors.Is(err, runner.ErrRegistryMismatch) || rep.Outcome == runner.WouldRun {
		t.Fatalf("dry run of a plan built by hand = %v, %v; want refused with ErrRegistryMismatch", rep.Outcome, err)
	}
}

// A name registered as a probe does not stand for an action of that name,
// and the steps that use a missing name are each listed once.
func TestRegistryErrorListsEveryUse(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("site.health", actionstest.Returns("ok"))
	kit.Action("site.health")
	kit.Action("site.stop")
	p := load(t, kit.Registry(), `
steps:
  - id: a
    when: {probe: site.health, expect: {equals: ok}}
    pre: [{probe: site.health, expect: {equals: ok}}]
    action: site.health
    undo: {action: site.stop}
  - id: b
    action: site.stop
    post: [{probe: site.health, expect: {equals: ok}}]
`)
	other := actionstest.NewKit()
	other.Probe("site.health", actionstest.Returns("ok"))
	other.Probe("site.stop")
	_, err := runner.Run(context.Background(), p, runner.Options{Registry: other.Registry()})
	want := `t.yaml: the registry of the run lacks what the plan uses: action "site.health" (step "a"), action "site.stop" (steps "a", "b")`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// A run given a registry other than its plan's is refused before its
// first step when that registry lacks what the plan uses.
func ExampleRegistryError() {
	reg := actions.NewRegistry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "site.deploy", Mutates: true}, func() actions.Action {
		return actions.ActionFunc(func(context.Context, *actions.Call) (actions.Outputs, error) { return nil, nil })
	}))
	p, err := plan.Parse("deploy.yaml", []byte(`apiVersion: csmplan/v1
kind: Runbook
name: deploy
steps:
  - id: deploy
    action: site.deploy
`), plan.WithRegistry(reg))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = runner.Run(context.Background(), p, runner.Options{Registry: actions.NewRegistry(), DryRun: true})
	fmt.Println(err)
	fmt.Println(errors.Is(err, runner.ErrRegistryMismatch))
	// Output:
	// deploy.yaml: the registry of the run lacks what the plan uses: action "site.deploy" (step "deploy")
	// true
}

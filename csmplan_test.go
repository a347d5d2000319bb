package csmplan_test

import (
	"context"
	"errors"
	"testing"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// A package of the program registers its action into actions.Default in
// its init function, as package actions documents.
func init() {
	actions.MustRegister(actions.RegisterAction(actions.Spec{
		Name:    "site.inventory",
		Summary: "Count the site's servers",
		Outputs: []actions.Output{{Name: "servers", Type: "integer"}},
	}, func() actions.Action {
		return actions.ActionFunc(func(context.Context, *actions.Call) (actions.Outputs, error) {
			return actions.Outputs{"servers": int64(2)}, nil
		})
	}))
}

const inventory = `apiVersion: csmplan/v1
kind: Runbook
name: inventory
targets:
  primary: {host: csm1.example.com, port: 9559, ssh: {user: csm}}
steps:
  - id: count
    action: site.inventory
    post:
      - value: ${steps.count.outputs.servers}
        expect: {equals: 2}
`

// What a program registered into actions.Default in init is in
// csmplan.Registry and in every csmplan.NewRegistry, beside the built-ins
// and CSM: csmplan.Load and csmplan.Run accept it. Before, Load refused
// the action as unknown.
func TestDefaultRegistrationsAreSeen(t *testing.T) {
	t.Parallel()
	p, err := csmplan.Load("inventory.yaml", []byte(inventory))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	rep, err := csmplan.Run(context.Background(), p, runner.Options{})
	if err != nil || rep.Step("count").Outputs["servers"] != int64(2) {
		t.Fatalf("Run = %+v, %v", rep, err)
	}
	reg, err := csmplan.NewRegistry(csmplan.CSMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"site.inventory", "exec", "csm.takeover"} {
		if _, ok := reg.Spec(actions.KindAction, name); !ok {
			t.Errorf("NewRegistry has no action %q", name)
		}
	}
	// Registering into a registry of one's own changes neither
	// actions.Default nor csmplan.Registry.
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "site.private"}, func() actions.Action { return nil }))
	for _, shared := range []*actions.Registry{actions.Default(), csmplan.Registry()} {
		if _, ok := shared.Spec(actions.KindAction, "site.private"); ok {
			t.Error("a registration into NewRegistry's registry leaked into a shared one")
		}
	}
}

// csmplan.Run runs a plan against the registry it was loaded with. Before,
// it ran every plan against csmplan.Registry, and a plan loaded with a
// registry of one's own failed at its first step of one's own.
func TestRunUsesThePlansRegistry(t *testing.T) {
	t.Parallel()
	reg, err := csmplan.NewRegistry(csmplan.CSMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "site.private", Mutates: true}, func() actions.Action {
		return actions.ActionFunc(func(context.Context, *actions.Call) (actions.Outputs, error) { return nil, nil })
	}))
	p, err := plan.Parse("private.yaml", []byte("apiVersion: csmplan/v1\nkind: Runbook\nname: private\nsteps:\n  - id: go\n    action: site.private\n"), plan.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := csmplan.Run(context.Background(), p, runner.Options{}); err != nil || rep.Outcome != runner.Succeeded {
		t.Errorf("Run = %v, %v; want success", rep.Outcome, err)
	}
	// Asking for the shared registry, which lacks the action, is refused
	// before the first step.
	_, err = csmplan.Run(context.Background(), p, runner.Options{Registry: csmplan.Registry()})
	if !errors.Is(err, runner.ErrRegistryMismatch) {
		t.Errorf("Run with a registry that lacks the action: %v, want ErrRegistryMismatch", err)
	}
}

// An embedder's target, with fields of its own, loads when an action
// declares them. Before, targets were closed to CSM's fields.
func TestOpenTargets(t *testing.T) {
	t.Parallel()
	reg, err := csmplan.NewRegistry(csmplan.CSMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src := []byte("apiVersion: csmplan/v1\nkind: Runbook\nname: api\ntargets:\n  api: {host: h, token: t}\nsteps:\n  - id: go\n    action: log\n    with: {message: hi}\n")
	_, err = plan.Parse("api.yaml", src, plan.WithRegistry(reg))
	if want := `api.yaml:5:18: unknown key "token" in target`; err == nil || err.Error() != want {
		t.Errorf("no action declares token: err = %v, want %s", err, want)
	}
	actions.MustRegister(reg.RegisterProbe(actions.Spec{Name: "api.status", TargetFields: []byte(`{"host": {"type": "string"}, "token": {"type": "string", "writeOnly": true}}`)},
		func() actions.Probe { return nil }))
	if _, err := plan.Parse("api.yaml", src, plan.WithRegistry(reg)); err != nil {
		t.Errorf("a target with declared fields: %v", err)
	}
	// CSM's own targets are checked as before.
	if _, err := csmplan.LoadDefault(); err != nil {
		t.Errorf("LoadDefault: %v", err)
	}
	_, err = csmplan.Load("api.yaml", []byte("apiVersion: csmplan/v1\nkind: Runbook\nname: api\ntargets:\n  primary: {host: h, fingreprint: ab}\nsteps:\n  - id: go\n    action: log\n    with: {message: hi}\n"))
	if want := `api.yaml:5:22: unknown key "fingreprint" in target (did you mean "fingerprint"?)`; err == nil || err.Error() != want {
		t.Errorf("a misspelt CSM field: err = %v, want %s", err, want)
	}
}

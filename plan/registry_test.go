package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

func TestPlanRemembersItsRegistry(t *testing.T) {
	t.Parallel()
	reg := apiRegistry(t)
	p, err := plan.Parse("t.yaml", []byte(apiRunbook), plan.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	if p.Registry() != reg {
		t.Errorf("Registry() = %p, want the registry given to Parse, %p", p.Registry(), reg)
	}
	p, err = plan.Parse("t.yaml", []byte("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    action: log\n    with: {message: hi}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Registry() != actions.Default() {
		t.Error("a plan loaded without a registry does not remember actions.Default()")
	}
	if (&plan.Plan{}).Registry() != nil {
		t.Error("a plan built by hand has a registry")
	}
}

// A plan remembers the registry it was checked against, and runs against
// it.
func ExamplePlan_Registry() {
	reg := actions.NewRegistry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "site.deploy", Mutates: true}, nop))
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
	fmt.Println(p.Registry() == reg, strings.Join(p.Registry().Names(actions.KindAction), ", "))
	// Output: true site.deploy
}

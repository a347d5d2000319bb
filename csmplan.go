// Package csmplan loads and runs declarative runbooks, and ships as its
// default runbook the upgrade of an IBM Copy Services Manager (CSM)
// high-availability pair without losing disaster-recovery capability.
//
// A runbook is YAML: steps, each an action guarded by preconditions and
// verified by postconditions (package plan for the model, package runner
// for execution, package actions for the pluggable actions and probes,
// package schema for the JSON Schema). This package puts them together:
// [Registry] holds every built-in and CSM action, [Load] and [LoadDefault]
// load a runbook checked against it, and [Run] runs one.
//
//	p, err := csmplan.LoadFile("upgrade.yaml")
//	if err != nil { ... }  // every problem, each "file:line:col: message"
//	report, err := csmplan.Run(ctx, p, runner.Options{Params: map[string]any{"primary": "csm1.example.com"}})
//
// A plan keeps the registry it was checked against when it was loaded, and
// runs against it: what loaded is what runs. To add actions and probes of
// your own, register them into a registry of your own and load with it;
// the run needs no registry:
//
//	reg, err := csmplan.NewRegistry(csmplan.CSMOptions{}) // built-ins, CSM, and what init functions registered into actions.Default
//	err = reg.RegisterAction(spec, newAction)
//	p, err := plan.Parse("site.yaml", src, plan.WithRegistry(reg))
//	report, err := runner.Run(ctx, p, runner.Options{Params: params})
//
// A package that registers into [actions.Default] in its init function
// (actions.RegisterAction) is seen by [Registry], [Load] and [Run] too.
// Targets hold the fields that the registered actions and probes declare
// (actions.Spec.TargetFields). To resume an interrupted run, give each run
// the same journal (runner.OpenJournal, runner.Options.Journal). To test a
// plan, load it with the registry of an actionstest.Kit, whose fakes stand
// for the real actions, and run it on the kit's virtual clock.
package csmplan

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// DefaultRunbookName is the file name the default runbook is loaded under.
const DefaultRunbookName = "csm-upgrade.yaml"

// DefaultRunbook returns the YAML of the default runbook: the CSM HA
// upgrade, in both modes (maintain_dr true: all 11 steps of the procedure;
// false: steps 4-7), with a configuration backup before any installer runs.
func DefaultRunbook() []byte { return bytes.Clone(csm.UpgradeRunbook) }

// CSMOptions configure the CSM actions: how commands reach a server's host
// (local or SSH) and the timeout of REST requests.
type CSMOptions = csm.Options

// NewRegistry returns a new registry with everything in [actions.Default]
// (the generic built-ins, and the actions and probes the program's
// packages registered into it in their init functions) and the CSM
// actions and probes, configured by opts. Registering into it afterwards
// changes neither actions.Default nor [Registry]. It fails if something
// registered into actions.Default takes the name of a CSM action or probe,
// or declares a CSM target field with another schema.
func NewRegistry(opts CSMOptions) (*actions.Registry, error) {
	r := actions.Default().Clone()
	if err := csm.Register(r, opts); err != nil {
		return nil, fmt.Errorf("csmplan: %w", err)
	}
	return r, nil
}

var defaultRegistry = sync.OnceValues(func() (*actions.Registry, error) {
	return NewRegistry(CSMOptions{})
})

// Registry returns the shared registry that [Load], [LoadFile] and
// [LoadDefault] check runbooks against, and that their plans run against:
// [NewRegistry] with the default CSM options, made on first use, so that
// it holds what the program's packages registered into [actions.Default]
// in their init functions. Register your own actions into a registry of
// your own (NewRegistry, then Registry.RegisterAction) and load with it
// (plan.WithRegistry), or into actions.Default in an init function; not
// into this one, which the whole program shares. Registry panics if
// NewRegistry fails: the program's registrations clash with CSM's.
func Registry() *actions.Registry {
	r, err := defaultRegistry()
	if err != nil {
		panic(err)
	}
	return r
}

// Load loads a runbook from src, checked against [Registry]; the plan
// remembers that registry and runs against it (see [Run]). The filename is
// used only in messages. To load with a registry of your own, use
// plan.Parse with plan.WithRegistry.
func Load(filename string, src []byte) (*plan.Plan, error) {
	reg, err := defaultRegistry()
	if err != nil {
		return nil, err
	}
	return plan.Parse(filename, src, plan.WithRegistry(reg))
}

// LoadFile reads and loads the runbook at path, as [Load] does.
func LoadFile(path string) (*plan.Plan, error) {
	reg, err := defaultRegistry()
	if err != nil {
		return nil, err
	}
	return plan.ParseFile(path, plan.WithRegistry(reg))
}

// LoadDefault loads the default runbook, the CSM HA upgrade, as [Load]
// does.
func LoadDefault() (*plan.Plan, error) {
	return Load(DefaultRunbookName, csm.UpgradeRunbook)
}

// Run runs the plan: it is [runner.Run]. The plan runs against the
// registry it was loaded with, unless opts.Registry names another, which
// is then refused before the first step if it lacks an action or probe
// the plan uses ([runner.ErrRegistryMismatch]).
func Run(ctx context.Context, p *plan.Plan, opts runner.Options) (*runner.Report, error) {
	return runner.Run(ctx, p, opts)
}

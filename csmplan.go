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
package csmplan

import (
	"bytes"
	"context"
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

// NewRegistry returns a new registry with the generic built-ins and the CSM
// actions and probes, configured by opts.
func NewRegistry(opts CSMOptions) (*actions.Registry, error) {
	r := actions.NewRegistry()
	if err := actions.RegisterBuiltins(r); err != nil {
		return nil, err
	}
	if err := csm.Register(r, opts); err != nil {
		return nil, err
	}
	return r, nil
}

var defaultRegistry = sync.OnceValue(func() *actions.Registry {
	r, err := NewRegistry(CSMOptions{})
	if err != nil {
		panic(err) // the built-in registrations are fixed: an error is a bug
	}
	return r
})

// Registry returns a shared registry with every built-in and CSM action and
// probe. Register your own into a registry of your own (see NewRegistry),
// not into this one, unless the whole program should see them.
func Registry() *actions.Registry { return defaultRegistry() }

// Load loads a runbook from src, checked against [Registry]. The filename is
// used only in messages.
func Load(filename string, src []byte) (*plan.Plan, error) {
	return plan.Parse(filename, src, plan.WithRegistry(Registry()))
}

// LoadFile reads and loads the runbook at path, checked against [Registry].
func LoadFile(path string) (*plan.Plan, error) {
	return plan.ParseFile(path, plan.WithRegistry(Registry()))
}

// LoadDefault loads the default runbook, the CSM HA upgrade.
func LoadDefault() (*plan.Plan, error) {
	return Load(DefaultRunbookName, csm.UpgradeRunbook)
}

// Run runs the plan, with [Registry] unless opts names another.
func Run(ctx context.Context, p *plan.Plan, opts runner.Options) (*runner.Report, error) {
	if opts.Registry == nil {
		opts.Registry = Registry()
	}
	return runner.Run(ctx, p, opts)
}

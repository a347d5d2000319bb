package console_test

import (
	"context"
	"os"
	"time"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

const runbook = `apiVersion: csmplan/v1
kind: Runbook
name: example
title: An example
steps:
  - id: back-up
    title: Back up the server
    action: change
  - id: note
    action: change
    when: {probe: ready, expect: {equals: true}}
`

// example loads the runbook on a registry of fakes and a virtual clock.
func example() (*plan.Plan, runner.Options) {
	kit := actionstest.NewKit()
	kit.Action("change")
	kit.Probe("ready", actionstest.Returns(false))
	reg := kit.Registry()
	p, err := plan.Parse("example.yaml", []byte(runbook), plan.WithRegistry(reg))
	if err != nil {
		panic(err)
	}
	return p, runner.Options{Registry: reg, Clock: kit.Clock}
}

// A run shown as `csmplan run` shows it in a log.
func Example() {
	p, opts := example()
	prog := console.New(os.Stdout, console.Options{Plan: p})
	stop := prog.Ticker(time.Second) // the line of a long-running action
	opts.Observers = []runner.Observer{prog}
	rep, _ := runner.Run(context.Background(), p, opts)
	stop()
	prog.Summary(rep, os.Stderr)
	// Output:
	// Running An example (2 steps)
	// [1/2] Back up the server ...
	// [1/2] ✓ Back up the server (succeeded)
	// [2/2] note ...
	// [2/2] - note (skipped)
	//       when: ready equals true does not hold: equals true: observed false
	// Succeeded: 2 steps: 1 succeeded, 1 skipped in 0s
}

// Events that a run elsewhere recorded (a workflow's query, a journal)
// are shown as they arrive, late: EventTimes measures a running action by
// the times the events carry.
func Example_relayed() {
	p, opts := example()
	var recorded []runner.Event
	opts.Observers = []runner.Observer{runner.ObserverFunc(func(e runner.Event) { recorded = append(recorded, e) })}
	rep, _ := runner.Run(context.Background(), p, opts)

	prog := console.New(os.Stdout, console.Options{Plan: p, EventTimes: true})
	for _, e := range recorded {
		prog.Observe(e)
	}
	prog.Summary(rep, os.Stderr)
	// Output:
	// Running An example (2 steps)
	// [1/2] Back up the server ...
	// [1/2] ✓ Back up the server (succeeded)
	// [2/2] note ...
	// [2/2] - note (skipped)
	//       when: ready equals true does not hold: equals true: observed false
	// Succeeded: 2 steps: 1 succeeded, 1 skipped in 0s
}

// Package csmworker makes the Temporal worker of csmplan: it registers the
// interpreter workflow and the activities that perform its calls, with the
// same actions and probes as the csmplan command (csmplan.Registry).
package csmworker

import (
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// DefaultTaskQueue is the task queue of the workflows, and of the calls
// on targets that name no queue of their own, when none is given.
const DefaultTaskQueue = "csmplan"

// Registrar is what Register registers with: a worker.Worker, or the test
// suite's environment.
type Registrar interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Registry returns the registry of the csmplan command's actions and
// probes (a clone of csmplan.Registry) with interpreter.QueueSpec's probe,
// which declares the target field task_queue.
func Registry() (*actions.Registry, error) {
	reg := csmplan.Registry().Clone()
	if err := interpreter.RegisterQueueProbe(reg); err != nil {
		return nil, fmt.Errorf("csmworker: %w", err)
	}
	return reg, nil
}

// Register registers on w the interpreter workflow (interpreter.WorkflowName),
// the fleet workflow (interpreter.FleetWorkflowName) and the activities,
// whose calls reg performs.
func Register(w Registrar, reg *actions.Registry) {
	ip := &interpreter.Interpreter{Local: reg}
	w.RegisterWorkflowWithOptions(ip.Run, workflow.RegisterOptions{Name: interpreter.WorkflowName})
	w.RegisterWorkflowWithOptions(ip.Fleet, workflow.RegisterOptions{Name: interpreter.FleetWorkflowName})
	acts := &interpreter.Activities{Registry: reg}
	acts.Register(w)
}

// New returns a worker of the task queue on c with Registry's actions and
// probes registered; start it with Run or Start.
func New(c client.Client, taskQueue string) (worker.Worker, error) {
	reg, err := Registry()
	if err != nil {
		return nil, err
	}
	w := worker.New(c, taskQueue, worker.Options{})
	Register(w, reg)
	return w, nil
}

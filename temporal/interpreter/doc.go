// Package interpreter runs csmplan runbooks as Temporal workflows.
//
// The workflow ([Interpreter.Run], registered as [WorkflowName]) parses
// the runbook it is given, deterministically, against a registry built
// from the specs in its [Input] (the name set of the registry the client
// loaded the runbook with), and runs it with [runner.Run]: the runner
// decides what to call, when and how often, exactly as on one machine,
// and the workflow performs each call through a [runner.Exec]:
//
//   - each probe observation and each action attempt is an activity
//     ([ObserveActivity], [ActActivity]) with MaximumAttempts 1: the
//     runbook's retries and waits are the runner's, never Temporal's;
//   - an action attempt's StartToCloseTimeout is the step's timeout (the
//     same meaning: the attempt fails when it has run that long); calls
//     without one are bounded by Input.CallTimeout, which the runner has
//     not;
//   - the activity's task queue is the task_queue field of the target the
//     call's "target" argument names, or the workflow's own;
//   - waits, retry intervals and the sleep action are durable timers
//     (workflow.Sleep through the run's clock);
//   - the manual action runs in the workflow, and its approval is a
//     signal ([ApproveSignal]);
//   - the progress (events so far) and the report are queries
//     ([ProgressQuery], [ReportQuery]).
//
// A fleet (runner/fleet) is the workflow [Interpreter.Fleet], registered
// as [FleetWorkflowName]: a child workflow of [WorkflowName] per unit,
// started by fleet.Run's rules (canaries, the approval after them as
// [ApproveSignal], waves, max_parallel, max_failures), returning the
// fleet.Report that fleet.Run would; its progress is [FleetProgressQuery].
// [NewFleetInput] makes its input from a loaded fleet.
//
// Secrets never enter the workflow's history: a secret param is given as
// a reference, {"secret_ref": "env:NAME"} or {"secret_ref": "file:PATH"}
// (see [SecretRef]); the workflow carries a token in its place, and the
// activity resolves it on the worker, just before the call, and puts the
// token back in place of the secret in what the call returns.
package interpreter

// Package runner executes a loaded runbook ([plan.Plan]).
//
// [Run] binds the params, then runs the steps in order: `when`, the
// preconditions (polled per `wait`), the action (timeout, retries with
// backoff, cancellation, panics recovered), the postconditions, outputs and
// saves. A failed step aborts the run, is recorded and passed over
// (continue), or rolls back the completed steps through their undo actions,
// each verified.
//
// Everything observable goes to [Observer]s as [Event]s, with secret params
// redacted first. A secret is redacted by finding its text, so a non-empty
// secret shorter than [MinSecretLen] characters, which would be found inside
// ordinary words, is refused when the params are bound: redacting it would
// mangle every message and give it away, and not redacting it would show it. The outcome is a [Report]: a plain value that go-cmp can
// compare in a table-driven test. A [Journal] records the run as JSON lines
// so that an interrupted run can be resumed; a dry run ([Options].DryRun)
// runs no mutating action and says for each step what would happen.
//
// A run stops in one of two ways. Cancelling the context passed to [Run]
// stops everything at once: the action in flight, mutating or not, is
// cancelled (for a command, actions/remote sends SIGTERM, then SIGKILL
// after a grace, which the run waits for before it abandons the action).
// Closing [Options].Stop asks for a graceful stop: waits,
// probes and actions that change nothing are cancelled and no new action
// starts, but a mutating action already running is let finish (a
// [RunStopping] event names it) and only the context cancels it. Its end
// is journaled and the run stops before its postconditions, which a
// resume checks. Either way the run ends Cancelled with [ErrInterrupted].
//
// All waiting goes through [Options].Clock, so a test on a virtual clock
// (package actionstest) runs a 30-minute wait in microseconds.
package runner

package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/csmplan/csmplan/plan"
)

// Kinds of step failures; a [*StepError] wraps one. Test with errors.Is.
var (
	ErrPrecondition  = errors.New("precondition unmet")
	ErrPostcondition = errors.New("postcondition unmet")
	ErrCondition     = errors.New("condition could not be checked")
	ErrAction        = errors.New("action failed")
	ErrTimeout       = errors.New("timed out")
	ErrUndo          = errors.New("undo failed")
	ErrPanic         = errors.New("panic")
	// ErrInterrupted: the run's context was done (Ctrl-C, a deadline),
	// or Options.Stop was closed, before the run ended. Such an error
	// also wraps the context's error (context.Canceled, also for a Stop,
	// or context.DeadlineExceeded). What the
	// interruption stopped is not a failure: an action or probe that
	// answered it with an error of its own does not make the error
	// ErrAction or a condition's; an interrupted run is resumed, not
	// repaired. (A step that failed by itself just as the run was
	// interrupted is reported as both.)
	ErrInterrupted = errors.New("interrupted")
	// ErrDuration: a duration given at run time (through a reference,
	// such as timeout: ${params.install_timeout}) is not one, or is
	// negative. It is plan.ErrDuration, the error of such a duration
	// written in the runbook itself, so that one test finds both.
	ErrDuration = plan.ErrDuration
	// ErrInProgress: on resume, the Inspector of a step's action says that
	// the attempt an earlier run left unfinished is still in progress, and
	// the step's postconditions did not hold after their waits (or it has
	// none): the runner does not start the action again while it may be
	// running. Resume again once it has ended.
	ErrInProgress = errors.New("action still in progress")
	// ErrNotRestored: a resumed run refers to a value that the journal of
	// the earlier run does not give back (see Journal): an output or saved
	// var that held a secret, which the journal writes redacted, or an
	// output of a step found done whose action was interrupted before it
	// returned it. The error names the reference, the step or var, and why.
	ErrNotRestored = errors.New("value not restored from the journal")
	// ErrActionLost is returned (wrapped) by an [Exec] that lost an
	// action's attempt: the worker that ran it went away, and whether it
	// took effect is unknown. The run decides as it does for an attempt
	// that an interrupted run left unfinished: it asks the action's
	// Inspector (through ExecChecks), waits for the step's postconditions
	// and, when they hold, the step succeeds without running the action
	// again; otherwise the action runs again, unless its Inspector says it
	// is in progress (ErrInProgress), or the step's retry attempts, which
	// the lost one counts among, are spent. A lost attempt that the
	// Inspector finds not done (it never took effect) does not count, up
	// to three such in a step.
	ErrActionLost = errors.New("action's attempt lost")
)

// interrupted is the error of a run or step stopped, while doing what,
// because ctx is done.
func interrupted(ctx context.Context, what string) error {
	return fmt.Errorf("%w %s: %w", ErrInterrupted, what, context.Cause(ctx))
}

// StepError is the error of a failed step: which step, where in the
// runbook, which attempt, and why.
type StepError struct {
	Step string
	File string
	Pos  plan.Pos
	// Attempt is the attempt of the action that failed; 0 when the action
	// did not run.
	Attempt int
	Err     error
}

// Error returns `step "ID" (FILE:LINE): why`.
func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %q (%s:%d)", e.Step, e.File, e.Pos.Line)
	if e.Attempt > 1 {
		fmt.Fprintf(&b, " attempt %d", e.Attempt)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// conditionError says which conditions did not hold, with their evidence.
type conditionError struct {
	kind    error
	results []ConditionResult
	// cause, when not nil, is why a condition could not be checked at all
	// (a wait whose duration is not one).
	cause error
}

func (e *conditionError) Error() string {
	return fmt.Sprintf("%v: %s", e.kind, strings.Join(sameCause(e.results), "; "))
}

func (e *conditionError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// describeResult is one line of evidence for a condition that did not hold.
func describeResult(r ConditionResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (line %d)", r.Condition, r.Line)
	switch r.Status {
	case Error:
		fmt.Fprintf(&b, ": error: %s", r.Error)
	case Unmet:
		fmt.Fprintf(&b, ": %s", strings.Join(r.Unmet, "; "))
	}
	if r.Polls > 1 {
		fmt.Fprintf(&b, " (after waiting %s, %d checks)", r.Waited, r.Polls)
	}
	return b.String()
}

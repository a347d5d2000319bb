package actions

import "context"

// Inspector is an optional ability of an [Action]: telling, when a run is
// resumed, what an attempt that was interrupted (the runner was killed or
// cancelled while the action ran) left behind. The call is the one the
// interrupted attempt would have made, with the same arguments and
// targets. An action without it keeps the runner's default: the step's
// postconditions get their waits, then the step runs again.
type Inspector interface {
	Inspect(ctx context.Context, call *Call) (Inspection, error)
}

// Inspection is what an [Inspector] found of an interrupted attempt.
type Inspection int

// The inspections.
const (
	// Unknown: the action cannot tell; the runner keeps its default.
	Unknown Inspection = iota
	// Done: the attempt took effect; the step's postconditions are checked
	// (with their waits) and the action does not run again.
	Done
	// InProgress: the attempt is still running (an installer on its host);
	// the runner waits for the step's postconditions and never starts the
	// action a second time meanwhile.
	InProgress
	// NotDone: the attempt never took effect; the step runs again at once,
	// from its preconditions, without waiting for its postconditions.
	NotDone
)

// String returns "unknown", "done", "in progress" or "not done".
func (i Inspection) String() string {
	switch i {
	case Done:
		return "done"
	case InProgress:
		return "in progress"
	case NotDone:
		return "not done"
	}
	return "unknown"
}

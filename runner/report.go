package runner

import "time"

// Outcome is the outcome of a run or a step.
type Outcome string

// Outcomes of runs and steps. A run ends Succeeded, Failed or Cancelled;
// a dry run WouldRun, Failed (a step is blocked or failed) or Cancelled
// (see [Run]).
const (
	// Succeeded: the step ran and its conditions held. A step that an
	// earlier run left unfinished, and that this run found done (its
	// postconditions hold, or its action's inspection says so), is
	// Succeeded too, not Resumed: this run checked it; its Reason says so.
	Succeeded Outcome = "succeeded"
	Failed    Outcome = "failed"
	Skipped   Outcome = "skipped"   // `when` did not hold, or the operator left the step out (StepReport.ByOperator)
	Cancelled Outcome = "cancelled" // the run's context was done: see ErrInterrupted
	NotRun    Outcome = "not run"   // the run stopped before the step
	// Resumed: the journal of an earlier run records the step as done
	// (it ended succeeded, skipped or done earlier), so this run neither
	// ran nor checked it again; its outputs and saved vars are the ones
	// the journal recorded (see Journal).
	Resumed Outcome = "done earlier"
	// Dry-run outcomes.
	WouldRun  Outcome = "would run"
	WouldSkip Outcome = "would skip"
	Blocked   Outcome = "blocked"
)

// Report is the record of a run: a plain value, comparable with go-cmp.
// Durations come from the run's clock; secrets are redacted.
type Report struct {
	Runbook  string
	DryRun   bool
	Outcome  Outcome
	Steps    []StepReport
	Duration time.Duration
	// Error is the run's error message, or "".
	Error string
}

// Step returns the report of the step with the id, or nil.
func (r *Report) Step(id string) *StepReport {
	for i := range r.Steps {
		if r.Steps[i].ID == id {
			return &r.Steps[i]
		}
	}
	return nil
}

// Count returns how many steps have the outcome.
func (r *Report) Count(o Outcome) int {
	n := 0
	for _, s := range r.Steps {
		if s.Outcome == o {
			n++
		}
	}
	return n
}

// StepReport is the record of one step.
type StepReport struct {
	ID      string
	Title   string
	Line    int
	Outcome Outcome
	// Reason says why the step was skipped, failed or blocked.
	Reason string
	// ByOperator: the operator left the step out of the run
	// (Options.From, Options.Only); its Reason begins with OperatorSkip.
	ByOperator bool `json:",omitempty"`
	// Inspection is what the Inspector of the step's action found, on
	// resume, of the attempt that an earlier run left unfinished: "done",
	// "in progress", "not done" or "unknown" (see actions.Inspection), or
	// "error: ..." when Inspect failed (the runner then does as for
	// "unknown"; see Journal). Empty when no Inspector was asked.
	Inspection string           `json:",omitempty"`
	When       *ConditionResult `json:",omitempty"`
	Pre        []ConditionResult
	Attempts   []Attempt
	Post       []ConditionResult
	Outputs    map[string]any
	Undo       *UndoReport `json:",omitempty"`
	Duration   time.Duration
}

// Status is the status of a condition.
type Status string

// Condition statuses. A condition is never simply "false": it is met, unmet
// (with what was expected and observed), an error (the probe failed), or not
// checked (a dry run does not check what depends on earlier actions).
const (
	Met        Status = "met"
	Unmet      Status = "unmet"
	Error      Status = "error"
	NotChecked Status = "not checked"
)

// ConditionResult is the evidence of one condition.
type ConditionResult struct {
	// Condition says what was checked, as a person reads it.
	Condition string
	Line      int
	Status    Status
	// Expected describes the expectation, e.g. `role equals "Active"`.
	// An operand that holds references shows their values, then the
	// operand as written: `version equals "6.3.11.0"
	// (${params.target_version})`; secrets are redacted.
	Expected string
	// Observed is the value at the expectation's path, when there was one.
	Observed any
	// Unmet lists each matcher that did not hold and why.
	Unmet []string `json:",omitempty"`
	// Diff is a go-cmp diff (-expected +observed) for structures.
	Diff string `json:",omitempty"`
	// Error is the probe's error, for Status Error.
	Error string `json:",omitempty"`
	// Polls is the number of checks made; Waited the time spent waiting.
	Polls  int
	Waited time.Duration
}

// Attempt is one attempt of a step's action.
type Attempt struct {
	N        int
	Error    string `json:",omitempty"`
	Duration time.Duration
}

// UndoReport is the record of a step's compensation in a rollback.
type UndoReport struct {
	Action  string
	Outcome Outcome
	Error   string `json:",omitempty"`
	// Verify is the evidence that the undo restored the step's
	// preconditions.
	Verify []ConditionResult
}

package runner

import (
	"context"
	"log/slog"
	"time"
)

// EventKind names what happened.
type EventKind string

// The kinds of events, in the order a step emits them.
const (
	RunStart  EventKind = "run.start"
	StepStart EventKind = "step.start"
	// ActionInspect: on resume, the Inspector of the step's action said
	// what the attempt an earlier run left unfinished left behind: Message
	// is "done", "in progress", "not done" or "unknown" (see
	// actions.Inspection), Error the Inspector's error, if any.
	ActionInspect  EventKind = "action.inspect"
	ConditionStart EventKind = "condition.start"
	WaitPoll       EventKind = "wait.poll" // one unmet check of a waited condition
	ConditionEnd   EventKind = "condition.end"
	AttemptStart   EventKind = "attempt.start"
	AttemptEnd     EventKind = "attempt.end"
	ActionLog      EventKind = "action.log" // a progress message of an action or a probe (such as a warning)
	// ActionProgress: a passing status of an action or a probe that takes
	// long (actions.Call.Progress), which the next one replaces: a display
	// may redraw it in place.
	ActionProgress EventKind = "action.progress"
	StepEnd        EventKind = "step.end"
	UndoStart      EventKind = "undo.start"
	UndoEnd        EventKind = "undo.end"
	// RunStopping: Options.Stop was closed; it comes once, before the
	// run's next event. When a mutating action is in flight, which the
	// run lets finish, Step, Index, Count, Title and Line name its step,
	// Attempt its attempt and Message the action; otherwise they are
	// zero: nothing that changes anything is running.
	RunStopping EventKind = "run.stopping"
	RunEnd      EventKind = "run.end"
)

// Phase says which part of a step a condition belongs to.
type Phase string

// Condition phases.
const (
	PhaseWhen   Phase = "when"
	PhasePre    Phase = "pre"
	PhasePost   Phase = "post"
	PhaseVerify Phase = "verify" // after an undo
)

// Event is one observable thing in a run. Secrets are redacted before any
// observer sees an event. Fields that do not apply to a kind are zero.
// Its JSON form (MarshalJSON) is versioned: see [EventSchemaVersion].
type Event struct {
	Kind EventKind
	Time time.Time
	// Runbook is the runbook's name.
	Runbook string
	// Step is the step's id; Index its 1-based number of Count steps.
	Step  string
	Index int
	Count int
	Title string
	// Line is the runbook line of the step or condition.
	Line int
	// Phase and Condition describe a condition event.
	Phase     Phase
	Condition *ConditionResult
	// Attempt is the attempt number of an action.
	Attempt int
	// Elapsed and Timeout describe a wait in progress, or the duration of
	// what ended; Timeout of an attempt.start is the attempt's timeout (0:
	// none).
	Elapsed time.Duration
	Timeout time.Duration
	// Outcome of a step, undo or run that ended.
	Outcome Outcome
	Message string
	Error   string
	DryRun  bool
}

// Observer receives the events of a run, in order, from the goroutine that
// runs the plan. It must not block for long.
type Observer interface {
	Observe(e Event)
}

// ObserverFunc adapts a function to [Observer].
type ObserverFunc func(Event)

// Observe calls f.
func (f ObserverFunc) Observe(e Event) { f(e) }

// SlogObserver returns an observer that logs every event to logger: errors
// and failures at level Error, waits and logs at Debug, the rest at Info.
func SlogObserver(logger *slog.Logger) Observer {
	return ObserverFunc(func(e Event) {
		level := slog.LevelInfo
		switch {
		case e.Error != "" || e.Outcome == Failed:
			level = slog.LevelError
		case e.Kind == WaitPoll || e.Kind == ActionProgress || e.Kind == ConditionStart || e.Kind == AttemptStart:
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{slog.String("event", string(e.Kind))}
		add := func(k, v string) {
			if v != "" {
				attrs = append(attrs, slog.String(k, v))
			}
		}
		add("step", e.Step)
		add("phase", string(e.Phase))
		add("outcome", string(e.Outcome))
		add("error", e.Error)
		if e.Condition != nil {
			add("condition", e.Condition.Condition)
			add("status", string(e.Condition.Status))
			if e.Condition.Observed != nil {
				attrs = append(attrs, slog.Any("observed", e.Condition.Observed))
			}
		}
		if e.Attempt > 0 {
			attrs = append(attrs, slog.Int("attempt", e.Attempt))
		}
		if e.Elapsed > 0 {
			attrs = append(attrs, slog.Duration("elapsed", e.Elapsed))
		}
		msg := e.Message
		if msg == "" {
			msg = string(e.Kind)
		}
		logger.LogAttrs(context.Background(), level, msg, attrs...)
	})
}

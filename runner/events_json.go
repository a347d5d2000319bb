package runner

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventSchemaVersion is the version of the JSON form of events (the
// "schema_version" field of every event; schema/events.schema.json
// describes it). It changes only when a field is removed or changes
// meaning; fields may be added within a version.
const EventSchemaVersion = 1

// eventJSON is the JSON form of an Event: snake_case names shared with the
// journal ("type", "step", "outcome", "error"), times in RFC 3339 (UTC,
// with fractional seconds), durations in whole milliseconds.
type eventJSON struct {
	SchemaVersion int            `json:"schema_version"`
	Type          EventKind      `json:"type"`
	Time          string         `json:"time"`
	Runbook       string         `json:"runbook,omitempty"`
	Step          string         `json:"step,omitempty"`
	Index         int            `json:"index,omitempty"`
	Count         int            `json:"count,omitempty"`
	Title         string         `json:"title,omitempty"`
	Line          int            `json:"line,omitempty"`
	Phase         Phase          `json:"phase,omitempty"`
	Condition     *conditionJSON `json:"condition,omitempty"`
	Attempt       int            `json:"attempt,omitempty"`
	ElapsedMS     *int64         `json:"elapsed_ms,omitempty"`
	TimeoutMS     int64          `json:"timeout_ms,omitempty"`
	Outcome       Outcome        `json:"outcome,omitempty"`
	Message       string         `json:"message,omitempty"`
	Error         string         `json:"error,omitempty"`
	DryRun        bool           `json:"dry_run,omitempty"`
}

// conditionJSON is the JSON form of a ConditionResult in an event.
type conditionJSON struct {
	Condition string   `json:"condition"`
	Line      int      `json:"line,omitempty"`
	Status    Status   `json:"status"`
	Expected  string   `json:"expected,omitempty"`
	Observed  any      `json:"observed,omitempty"`
	Unmet     []string `json:"unmet,omitempty"`
	Diff      string   `json:"diff,omitempty"`
	Error     string   `json:"error,omitempty"`
	Polls     int      `json:"polls,omitempty"`
	WaitedMS  int64    `json:"waited_ms,omitempty"`
}

// timed reports whether events of the kind always carry elapsed_ms, even
// when it is 0: those that say how long something took.
func timed(k EventKind) bool {
	switch k {
	case WaitPoll, AttemptEnd, StepEnd, RunEnd:
		return true
	}
	return false
}

// MarshalJSON encodes the event in its versioned JSON form, the one
// `csmplan run --json` writes and schema/events.schema.json describes:
//
//	{"schema_version":1,"type":"step.end","time":"2026-01-02T15:04:05.123456Z",
//	 "runbook":"csm-upgrade","step":"backup","index":3,"count":15,
//	 "title":"...","line":42,"outcome":"succeeded","elapsed_ms":1200}
//
// Names are snake_case, as in the journal; Time is RFC 3339 in UTC with
// fractional seconds; Elapsed, Timeout and a condition's Waited are whole
// milliseconds (elapsed_ms, timeout_ms, waited_ms). Fields that do not
// apply are left out, except elapsed_ms in wait.poll, attempt.end,
// step.end and run.end, which is always there.
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{
		SchemaVersion: EventSchemaVersion, Type: e.Kind, Time: e.Time.UTC().Format(time.RFC3339Nano),
		Runbook: e.Runbook, Step: e.Step, Index: e.Index, Count: e.Count, Title: e.Title, Line: e.Line,
		Phase: e.Phase, Attempt: e.Attempt, TimeoutMS: e.Timeout.Milliseconds(),
		Outcome: e.Outcome, Message: e.Message, Error: e.Error, DryRun: e.DryRun,
	}
	if ms := e.Elapsed.Milliseconds(); ms != 0 || timed(e.Kind) {
		j.ElapsedMS = &ms
	}
	if c := e.Condition; c != nil {
		j.Condition = &conditionJSON{Condition: c.Condition, Line: c.Line, Status: c.Status, Expected: c.Expected,
			Observed: c.Observed, Unmet: c.Unmet, Diff: c.Diff, Error: c.Error, Polls: c.Polls, WaitedMS: c.Waited.Milliseconds()}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes an event from the JSON form MarshalJSON writes,
// for programs that read `csmplan run --json`. Durations come back with
// millisecond precision; an observed value comes back as encoding/json
// decodes it into an any. An event of another schema_version is an error.
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.SchemaVersion != EventSchemaVersion {
		return fmt.Errorf("event schema_version %d: want %d", j.SchemaVersion, EventSchemaVersion)
	}
	t, err := time.Parse(time.RFC3339Nano, j.Time)
	if err != nil {
		return fmt.Errorf("event time: %w", err)
	}
	*e = Event{Kind: j.Type, Time: t, Runbook: j.Runbook, Step: j.Step, Index: j.Index, Count: j.Count, Title: j.Title,
		Line: j.Line, Phase: j.Phase, Attempt: j.Attempt, Timeout: time.Duration(j.TimeoutMS) * time.Millisecond,
		Outcome: j.Outcome, Message: j.Message, Error: j.Error, DryRun: j.DryRun}
	if j.ElapsedMS != nil {
		e.Elapsed = time.Duration(*j.ElapsedMS) * time.Millisecond
	}
	if c := j.Condition; c != nil {
		e.Condition = &ConditionResult{Condition: c.Condition, Line: c.Line, Status: c.Status, Expected: c.Expected,
			Observed: c.Observed, Unmet: c.Unmet, Diff: c.Diff, Error: c.Error, Polls: c.Polls, Waited: time.Duration(c.WaitedMS) * time.Millisecond}
	}
	return nil
}

var (
	_ json.Marshaler   = Event{}
	_ json.Unmarshaler = (*Event)(nil)
)

package runner_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/schema"
)

func TestEventJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 16, 4, 5, 123456000, time.FixedZone("CET", 3600))
	e := runner.Event{Kind: runner.StepEnd, Time: at, Runbook: "rb", Step: "backup", Index: 3, Count: 15, Title: "Back up",
		Line: 42, Outcome: runner.Succeeded, Elapsed: 1200 * time.Millisecond, DryRun: true}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema_version":1,"type":"step.end","time":"2026-01-02T15:04:05.123456Z","runbook":"rb","step":"backup","index":3,"count":15,"title":"Back up","line":42,"elapsed_ms":1200,"outcome":"succeeded","dry_run":true}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	// elapsed_ms is there, 0, where it says how long something took.
	b, _ = json.Marshal(runner.Event{Kind: runner.RunEnd, Time: at, Outcome: runner.Succeeded})
	if !strings.Contains(string(b), `"elapsed_ms":0`) {
		t.Errorf("run.end without elapsed_ms: %s", b)
	}
	b, _ = json.Marshal(runner.Event{Kind: runner.StepStart, Time: at})
	if strings.Contains(string(b), "elapsed_ms") {
		t.Errorf("step.start with elapsed_ms: %s", b)
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	t.Parallel()
	e := runner.Event{Kind: runner.WaitPoll, Time: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), Runbook: "rb", Step: "s",
		Index: 1, Count: 2, Title: "S", Line: 7, Phase: runner.PhasePost, Elapsed: 3 * time.Second, Timeout: time.Minute,
		Condition: &runner.ConditionResult{Condition: "ha is Active", Line: 8, Status: runner.Unmet, Expected: `role equals "Active"`,
			Observed: "Standby", Unmet: []string{"equals: observed Standby"}, Diff: "-a\n+b", Polls: 4, Waited: 3 * time.Second},
		Error: "e", Message: "m", Attempt: 2, Outcome: runner.Failed}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var got runner.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"schema_version":2,"type":"run.start","time":"2026-01-02T15:04:05Z"}`,
		`{"schema_version":1,"type":"run.start","time":"yesterday"}`, `[]`} {
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

// TestEventsMatchSchema checks every event of runs that emit every kind
// (a wait, a failed attempt and its retry, a log, a skip, a rollback with
// its verification) against schema/events.schema.json.
func TestEventsMatchSchema(t *testing.T) {
	t.Parallel()
	sc, err := schema.Compile(schema.EventsURL, schema.Events())
	if err != nil {
		t.Fatal(err)
	}
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns("Standby"), actionstest.Returns("Active"))
	kit.Action("do")
	kit.Action("undo")
	kit.Action("flaky", actionstest.Fails(errors.New("once")), actionstest.Succeeds(nil))
	kit.Action("bad", actionstest.Fails(errBoom))
	_, events, err := run(t, kit, `
steps:
  - id: wait
    pre: [{probe: ha, expect: {equals: Active}, wait: {timeout: 1m, interval: 10s}}]
    action: do
    undo: {action: undo}
  - id: skip
    when: {value: false}
    action: do
  - id: retry
    action: flaky
    retry: {attempts: 2}
  - id: log
    action: log
    with: {message: hello}
  - id: boom
    action: bad
    on_failure: rollback
`, runner.Options{})
	if err == nil {
		t.Fatal("want the run to fail")
	}
	_, dry, _ := run(t, kit, "steps:\n  - id: a\n    action: do\n    post: [{value: true}]\n", runner.Options{DryRun: true})
	seen := map[runner.EventKind]bool{}
	for _, e := range append(events, dry...) {
		seen[e.Kind] = true
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if err := sc.Validate(v); err != nil {
			t.Errorf("%s does not match the schema: %v", b, err)
		}
	}
	for _, k := range []runner.EventKind{runner.RunStart, runner.StepStart, runner.ConditionStart, runner.WaitPoll, runner.ConditionEnd,
		runner.AttemptStart, runner.AttemptEnd, runner.ActionLog, runner.StepEnd, runner.UndoStart, runner.UndoEnd, runner.RunEnd} {
		if !seen[k] {
			t.Errorf("no %s event was checked", k)
		}
	}
}

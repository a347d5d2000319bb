package runner_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

const selectBody = `
steps:
  - id: first
    action: change
  - id: second
    pre:
      - probe: state
        expect: {equals: ready}
    action: change
  - id: third
    action: log
    with: {message: read-only}
`

func selectKit(state string) *actionstest.Kit {
	kit := actionstest.NewKit()
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "change", Mutates: true}, actionstest.Succeeds(nil)))
	kit.Probe("state", actionstest.Returns(state))
	return kit
}

// --from skips the steps before it, by the operator; the step it starts
// at is still guarded by its preconditions.
func TestFromSkipsEarlierStepsAndKeepsPreconditions(t *testing.T) {
	t.Parallel()
	kit := selectKit("ready")
	rep, events, err := run(t, kit, selectBody, runner.Options{From: "second"})
	if err != nil {
		t.Fatal(err)
	}
	first := rep.Step("first")
	if first.Outcome != runner.Skipped || !first.ByOperator || first.Reason != "skipped by the operator (--from second)" {
		t.Errorf("first = %+v, want skipped by the operator", first)
	}
	if got := len(kit.CallsTo("change", nil)); got != 1 {
		t.Errorf("change ran %d times, want once (step second only)", got)
	}
	if s := rep.Step("second"); s.ByOperator || s.Outcome != runner.Succeeded || len(s.Pre) != 1 {
		t.Errorf("second = %+v, want succeeded after its precondition", s)
	}
	found := false
	for _, e := range events {
		if e.Kind == runner.StepEnd && e.Step == "first" && strings.HasPrefix(e.Message, runner.OperatorSkip) {
			found = true
		}
	}
	if !found {
		t.Error("no step.end event says that the operator skipped step first")
	}

	kit = selectKit("not ready")
	rep, _, err = run(t, kit, selectBody, runner.Options{From: "second"})
	if !errors.Is(err, runner.ErrPrecondition) || rep.Step("second").Outcome != runner.Failed {
		t.Fatalf("err = %v, report %+v: want the precondition of second to fail", err, rep.Step("second"))
	}
	if got := len(kit.CallsTo("change", nil)); got != 0 {
		t.Errorf("change ran %d times, want none", got)
	}
}

func TestOnlyRunsTheNamedSteps(t *testing.T) {
	t.Parallel()
	kit := selectKit("ready")
	rep, _, err := run(t, kit, selectBody, runner.Options{Only: []string{"third"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"first", "second"} {
		if s := rep.Step(id); s.Outcome != runner.Skipped || !s.ByOperator || s.Reason != "skipped by the operator (--only third)" {
			t.Errorf("%s = %+v, want skipped by the operator", id, s)
		}
	}
	if s := rep.Step("third"); s.Outcome != runner.Succeeded {
		t.Errorf("third = %+v, want succeeded", s)
	}
	if got := len(kit.Calls()); got != 0 {
		t.Errorf("calls %v, want none (step third logs)", kit.Calls())
	}
	// A dry run says it would skip them.
	rep, _, err = run(t, selectKit("ready"), selectBody, runner.Options{Only: []string{"third"}, DryRun: true})
	if err != nil || rep.Step("first").Outcome != runner.WouldSkip || !rep.Step("first").ByOperator {
		t.Errorf("dry run: err %v, first %+v, want would skip by the operator", err, rep.Step("first"))
	}
}

func TestSelectionRefused(t *testing.T) {
	t.Parallel()
	journal := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, journal, false)
	if _, _, err := run(t, selectKit("ready"), selectBody, runner.Options{Journal: j}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	for _, tc := range []struct {
		name string
		opts runner.Options
		want string
	}{
		{"typo", runner.Options{From: "secnod"}, `runbook "t" has no step "secnod"; did you mean "second"?`},
		{"unknown", runner.Options{Only: []string{"third", "zzzzzzzz"}}, `has no step "zzzzzzzz"; its steps: first, second, third`},
		{"both", runner.Options{From: "second", Only: []string{"third"}}, "not both"},
		{"resume", runner.Options{From: "second", Journal: openJournal(t, journal, true)}, "holds an earlier run to resume"},
	} {
		kit := selectKit("ready")
		rep, _, err := run(t, kit, selectBody, tc.opts)
		if !errors.Is(err, runner.ErrSelection) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrSelection with %q", tc.name, err, tc.want)
		}
		if rep.Outcome != runner.Failed || len(kit.Calls()) != 0 {
			t.Errorf("%s: outcome %s, calls %v: want failed before any step", tc.name, rep.Outcome, kit.Calls())
		}
	}
}

func TestConfirmAskedOnceBeforeTheFirstChange(t *testing.T) {
	t.Parallel()
	body := `
targets:
  primary: {host: h}
steps:
  - id: look
    action: log
    with: {message: read-only}
  - id: first
    title: The first change
    action: change
    with: {target: primary}
  - id: second
    action: change
  - id: skipped
    action: change
`
	var asked [][]runner.PlannedChange
	confirm := func(answer bool, err error) func(context.Context, []runner.PlannedChange) (bool, error) {
		return func(_ context.Context, c []runner.PlannedChange) (bool, error) {
			asked = append(asked, c)
			return answer, err
		}
	}
	kit := selectKit("ready")
	rep, _, err := run(t, kit, body, runner.Options{Confirm: confirm(true, nil), Only: []string{"look", "first", "second"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []runner.PlannedChange{{Index: 2, Step: "first", Title: "The first change", Action: "change", Target: "primary", Line: 11},
		{Index: 3, Step: "second", Title: "second", Action: "change", Line: 15}}
	if len(asked) != 1 {
		t.Fatalf("asked %d times, want once", len(asked))
	}
	if !equalChanges(asked[0], want) {
		t.Errorf("changes %+v, want %+v", asked[0], want)
	}
	if got := len(kit.CallsTo("change", nil)); got != 2 || rep.Outcome != runner.Succeeded {
		t.Errorf("change ran %d times, outcome %s", got, rep.Outcome)
	}

	for _, tc := range []struct {
		answer bool
		err    error
	}{{false, nil}, {true, errors.New("no terminal")}} {
		kit := selectKit("ready")
		rep, _, err := run(t, kit, body+"    on_failure: continue\n", runner.Options{Confirm: confirm(tc.answer, tc.err)})
		if !errors.Is(err, runner.ErrDeclined) {
			t.Fatalf("err = %v, want ErrDeclined", err)
		}
		if got := len(kit.CallsTo("change", nil)); got != 0 {
			t.Errorf("change ran %d times, want none", got)
		}
		if s := rep.Step("first"); s.Outcome != runner.NotRun || rep.Step("look").Outcome != runner.Succeeded || rep.Step("second").Outcome != runner.NotRun {
			t.Errorf("report %+v", rep.Steps)
		}
	}
	// A dry run asks nothing.
	asked = nil
	if _, _, err := run(t, selectKit("ready"), body, runner.Options{Confirm: confirm(false, nil), DryRun: true}); err != nil || len(asked) != 0 {
		t.Errorf("dry run: err %v, asked %d times", err, len(asked))
	}
}

func equalChanges(a, b []runner.PlannedChange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func openJournal(t *testing.T, path string, resume bool) *runner.Journal {
	t.Helper()
	j, err := runner.OpenJournal(path, resume)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// A step that refers to what a skipped step would have given says why it
// has no value.
func TestSelectionExplainsMissingValues(t *testing.T) {
	t.Parallel()
	body := `
steps:
  - id: first
    pre:
      - probe: state
        expect: {equals: ready}
        save: seen
    action: log
    with: {message: hi}
  - id: second
    action: log
    with: {message: "${vars.seen} ${steps.first.outputs.message}"}
`
	_, _, err := run(t, selectKit("ready"), body, runner.Options{Only: []string{"second"}})
	if err == nil || !strings.Contains(err.Error(), "${vars.seen} has no value: the condition that saves it did not run (steps were skipped by the operator, and a skipped step saves nothing)") {
		t.Errorf("err = %v", err)
	}
	body = strings.Replace(body, "${vars.seen} ", "", 1)
	_, _, err = run(t, selectKit("ready"), body, runner.Options{From: "second"})
	if err == nil || !strings.Contains(err.Error(), `step "first" did not run (steps were skipped by the operator`) {
		t.Errorf("err = %v", err)
	}
}

// A journal records the steps the operator left out as skipped: a resume
// does not run them.
func TestSelectionJournaled(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, false)
	kit := selectKit("not ready") // second fails its precondition
	if _, _, err := run(t, kit, selectBody, runner.Options{From: "second", Journal: j}); !errors.Is(err, runner.ErrPrecondition) {
		t.Fatalf("err = %v, want the precondition of second to fail", err)
	}
	j.Close()
	kit = selectKit("ready")
	rep, _, err := run(t, kit, selectBody, runner.Options{Journal: openJournal(t, path, true)})
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Step("first").Outcome; o != runner.Resumed {
		t.Errorf("first on resume: %s, want %s", o, runner.Resumed)
	}
	if got := len(kit.CallsTo("change", nil)); got != 1 {
		t.Errorf("change ran %d times on resume, want once (step second)", got)
	}
}

// A run whose changes were not confirmed is resumed from the step it
// stopped at.
func TestDeclinedRunResumes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, false)
	no := func(context.Context, []runner.PlannedChange) (bool, error) { return false, nil }
	kit := selectKit("ready")
	if _, _, err := run(t, kit, selectBody, runner.Options{Journal: j, Confirm: no}); !errors.Is(err, runner.ErrDeclined) {
		t.Fatalf("err = %v, want ErrDeclined", err)
	}
	j.Close()
	kit = selectKit("ready")
	rep, _, err := run(t, kit, selectBody, runner.Options{Journal: openJournal(t, path, true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(kit.CallsTo("change", nil)); got != 2 || rep.Step("first").Outcome != runner.Succeeded {
		t.Errorf("change ran %d times on resume, want twice; first %s", got, rep.Step("first").Outcome)
	}
}

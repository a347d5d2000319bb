package runner_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// An integer beyond 2^53 that a step saved resumes as itself: the journal
// is read back with its numbers exact, not through float64, so a resumed
// step that compares it with the same integer finds them equal.
func TestJournalKeepsLargeIntegers(t *testing.T) {
	t.Parallel()
	const big = int64(1<<53 + 1) // float64 has no such number: it rounds to 2^53
	path := filepath.Join(t.TempDir(), "run.journal")
	kit := actionstest.NewKit()
	kit.Probe("serial", actionstest.Returns(map[string]any{"serial": big}))
	kit.Action("check", actionstest.Fails(errors.New("not yet")), actionstest.Returns(nil)) // fails once, then works
	p := load(t, kit.Registry(), `
steps:
  - id: one
    pre: [{probe: serial, expect: {path: serial, equals: 9007199254740993}, save: before}]
  - id: two
    action: check
    post: [{value: "${vars.before.serial}", expect: {equals: 9007199254740993}}]
`)
	for i, wantErr := range []bool{true, false} {
		j, err := runner.OpenJournal(path, i > 0)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := runner.Run(context.Background(), p, runner.Options{Registry: kit.Registry(), Clock: actionstest.NewClock(actionstest.Epoch), Journal: j})
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		if (err != nil) != wantErr {
			t.Fatalf("run %d: %v, want an error: %v", i+1, err, wantErr)
		}
		if i == 1 && (rep.Steps[0].Outcome != runner.Resumed || rep.Steps[1].Outcome != runner.Succeeded) {
			t.Errorf("resumed run: steps %s, %s; want resumed, succeeded", rep.Steps[0].Outcome, rep.Steps[1].Outcome)
		}
	}
	log, err := runner.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range log.Entries {
		if v, ok := e.Vars["before"].(map[string]any); ok {
			found = true
			if v["serial"] != big {
				t.Errorf("ReadJournal: serial %v (%T), want %d", v["serial"], v["serial"], big)
			}
		}
	}
	if !found {
		t.Error("the journal records no var before")
	}
}

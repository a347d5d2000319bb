package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

const resumable = `
params:
  host: {type: string}
  password: {type: string, secret: true}
steps:
  - id: one
    action: step
    with: {n: 1, pw: "${params.password}"}
  - id: two
    action: step
    with: {n: 2}
    post:
      - probe: done
        expect: {equals: true}
  - id: three
    action: step
    with: {n: 3}
`

// TestJournalResume interrupts a run in step two, then resumes it: step one
// is skipped as done, step two is done because its postcondition holds, and
// step three runs.
func TestJournalResume(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run.journal")
	params := map[string]any{"host": "h1", "password": "s3cr3t"}

	// First run: cancelled while step two's action runs.
	kit := actionstest.NewKit()
	ctx, cancel := context.WithCancel(context.Background())
	reg := kit.Registry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "step", Mutates: true, Args: actionstest.AnyArgs}, func() actions.Action {
		return actions.ActionFunc(func(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
			if call.Args["n"] == int64(2) {
				cancel()
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return actions.Outputs{}, nil
		})
	}))
	kit.Probe("done", actionstest.Returns(true))
	actions.MustRegister(kit.Register(reg))
	p := load(t, reg, resumable)
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runner.Run(ctx, p, runner.Options{Registry: reg, Clock: kit.Clock, Params: params, Journal: j})
	j.Close()
	if !errors.Is(err, context.Canceled) || rep.Outcome != runner.Cancelled {
		t.Fatalf("first run: %v, %s; want cancelled", err, rep.Outcome)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "s3cr3t") {
		t.Errorf("secret written to the journal:\n%s", data)
	}

	// Without --resume, the journal is refused.
	if _, err := runner.OpenJournal(path, false); !errors.Is(err, runner.ErrJournalExists) {
		t.Errorf("reopen without resume: %v, want ErrJournalExists", err)
	}

	// Resume with a crash-truncated last line appended.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"step.end","step":"tw`)
	f.Close()
	kit2 := actionstest.NewKit()
	act := kit2.Action("step")
	kit2.Probe("done", actionstest.Returns(true))
	reg2 := kit2.Registry()
	j2, err := runner.OpenJournal(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	// A second run against a locked journal is refused.
	if _, err := runner.OpenJournal(path, true); !errors.Is(err, runner.ErrJournalLocked) {
		t.Errorf("second open: %v, want ErrJournalLocked", err)
	}
	rep, err = runner.Run(context.Background(), load(t, reg2, resumable), runner.Options{Registry: reg2, Clock: kit2.Clock, Params: params, Journal: j2})
	if err != nil {
		t.Fatal(err)
	}
	got := []runner.Outcome{rep.Steps[0].Outcome, rep.Steps[1].Outcome, rep.Steps[2].Outcome}
	want := []runner.Outcome{runner.Resumed, runner.Succeeded, runner.Succeeded}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: %s, want %s", i+1, got[i], want[i])
		}
	}
	if act.Calls() != 1 || kit2.Calls()[len(kit2.Calls())-1].Args["n"] != int64(3) {
		t.Errorf("resumed run called the action %d times (%v); want only step three", act.Calls(), kit2.Calls())
	}
}

func TestJournalRefusesAnotherRun(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run.journal")
	kit := actionstest.NewKit()
	kit.Action("step")
	kit.Probe("done", actionstest.Returns(false))
	reg := kit.Registry()
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runner.Run(context.Background(), load(t, reg, resumable), runner.Options{Registry: reg, Clock: kit.Clock, Params: map[string]any{"host": "h1"}, Journal: j})
	j.Close()
	if err == nil {
		t.Fatal("want step two's postcondition to fail")
	}
	tests := []struct {
		name   string
		body   string
		params map[string]any
		want   string
	}{
		{"other params", resumable, map[string]any{"host": "h2"}, "params differ from the journal's run: host"},
		{"other runbook", resumable + "  - id: four\n    action: step\n", map[string]any{"host": "h1"}, "other content"},
	}
	for _, tt := range tests {
		j, err := runner.OpenJournal(path, true)
		if err != nil {
			t.Fatal(err)
		}
		_, err = runner.Run(context.Background(), load(t, reg, tt.body), runner.Options{Registry: reg, Clock: kit.Clock, Params: tt.params, Journal: j})
		j.Close()
		if !errors.Is(err, runner.ErrJournalMismatch) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrJournalMismatch saying %q", tt.name, err, tt.want)
		}
	}
	// A secret param may change: resuming is allowed.
	j, err = runner.OpenJournal(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, err = runner.Run(context.Background(), load(t, reg, resumable), runner.Options{Registry: reg, Clock: kit.Clock, Params: map[string]any{"host": "h1", "password": "new"}, Journal: j})
	if errors.Is(err, runner.ErrJournalMismatch) {
		t.Errorf("a changed secret param refused the resume: %v", err)
	}
}

func TestJournalNothingToResume(t *testing.T) {
	t.Parallel()
	_, err := runner.OpenJournal(filepath.Join(t.TempDir(), "missing.journal"), true)
	if !errors.Is(err, runner.ErrNothingToResume) {
		t.Errorf("err = %v, want ErrNothingToResume", err)
	}
}

func TestJournalCorruptLineIsRefused(t *testing.T) {
	t.Parallel()
	path, lines := failedJournal(t, resumable, map[string]any{"host": "h1"})
	lines[1] = "not json"
	writeLines(t, path, lines)
	_, err := runner.OpenJournal(path, true)
	if !errors.Is(err, runner.ErrJournalCorrupt) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want ErrJournalCorrupt at line 2", err)
	}
}

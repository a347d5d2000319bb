package record_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/record"
)

// A memory journal records a run as a journal file does: its lines give
// the same record in every format, with the user and host it was given.
func TestMemoryJournalGivesTheRecordOfAFile(t *testing.T) {
	t.Parallel()
	file := read(t, journal(t, true))
	k, reg := kit(true)
	p, err := plan.Parse("rec.yaml", []byte(runbook), plan.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	j := runner.NewMemoryJournal("workflow csmplan-1", "", host)
	if _, err := runner.Run(context.Background(), p, runner.Options{Clock: k.Clock, Journal: j,
		Params: map[string]any{"host": hostile, "password": secret}}); err == nil {
		t.Fatal("the last step did not fail")
	}
	if err := j.Note("simulation", "simulator: invariants held\n"+hostile+"\n"+secret); err != nil {
		t.Fatal(err)
	}
	lines := j.Bytes()
	if strings.Contains(string(lines), secret) {
		t.Fatal("the memory journal holds the secret")
	}
	log, err := runner.ParseJournal("workflow csmplan-1", lines)
	if err != nil {
		t.Fatal(err)
	}
	mem := record.FromJournal(log)
	for _, f := range []record.Format{record.Markdown, record.JSON, record.HTML} {
		want, got := render(t, file, f), render(t, mem, f)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s record of the memory journal differs (-file +memory):\n%s", f, d)
		}
	}
	j = runner.NewMemoryJournal("w", "ops (via Temporal)", "jump-1")
	if _, err := runner.Run(context.Background(), p, runner.Options{Clock: k.Clock, Journal: j, Params: map[string]any{"host": "h", "password": secret}}); err == nil {
		t.Fatal("the last step did not fail")
	}
	if log, err = runner.ParseJournal("w", j.Bytes()); err != nil {
		t.Fatal(err)
	}
	if rec := record.FromJournal(log); rec.User != "ops (via Temporal)" || rec.Host != "jump-1" {
		t.Errorf("user %q, host %q", rec.User, rec.Host)
	}
	if _, err := runner.ParseJournal("w", []byte("not a journal\n")); err == nil || !strings.HasPrefix(err.Error(), "w") {
		t.Errorf("ParseJournal of junk: %v", err)
	}
}

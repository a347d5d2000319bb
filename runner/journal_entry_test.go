package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// TestJournalFormat3Resumes resumes a journal written by the csmplan
// before format 4 (testdata/format3.jsonl: the run of resumable
// interrupted while step two's action ran): step one is done earlier,
// step two is done as its postcondition holds, step three runs, and the
// resumed run's records, of format 4, chain after the old ones.
func TestJournalFormat3Resumes(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "format3.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run.journal")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	kit := actionstest.NewKit()
	act := kit.Action("step")
	kit.Probe("done", actionstest.Returns(true))
	reg := kit.Registry()
	j, err := runner.OpenJournal(path, true)
	if err != nil {
		t.Fatalf("a journal of format 3 is refused: %v", err)
	}
	rep, err := runner.Run(context.Background(), load(t, reg, resumable), runner.Options{Registry: reg, Clock: kit.Clock,
		Params: map[string]any{"host": "h1", "password": "s3cr3t"}, Journal: j})
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := []runner.Outcome{rep.Steps[0].Outcome, rep.Steps[1].Outcome, rep.Steps[2].Outcome}
	if got[0] != runner.Resumed || got[1] != runner.Succeeded || got[2] != runner.Succeeded || act.Calls() != 1 {
		t.Errorf("outcomes %v, %d action calls; want done earlier, succeeded, succeeded and 1 call", got, act.Calls())
	}
	log, err := runner.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	var formats []string
	for _, e := range log.Entries {
		if e.Type == "run" {
			formats = append(formats, e.Format)
		}
	}
	if strings.Join(formats, " ") != "csmplan-journal/3 csmplan-journal/4" {
		t.Errorf("run formats %v", formats)
	}
	// A resume with other params is still refused: the digests of format
	// 3 are compared as before.
	j, err = runner.OpenJournal(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, err = runner.Run(context.Background(), load(t, reg, resumable), runner.Options{Registry: reg, Clock: kit.Clock,
		Params: map[string]any{"host": "h2"}, Journal: j})
	if !errors.Is(err, runner.ErrJournalMismatch) {
		t.Errorf("resume with another host: %v, want ErrJournalMismatch", err)
	}
}

// TestJournalFormat3HeaderAfterFormat4 refuses a run record of format 3
// in a journal begun in format 4: no csmplan writes one there.
func TestJournalFormat3HeaderAfterFormat4(t *testing.T) {
	t.Parallel()
	path, _ := failedJournal(t, resumable, map[string]any{"host": "h1"})
	data, _ := os.ReadFile(path)
	old, _ := os.ReadFile(filepath.Join("testdata", "format3.jsonl"))
	first := strings.SplitAfter(string(old), "\n")[0]
	os.WriteFile(path, append(data, first...), 0o600)
	if _, err := runner.ReadJournal(path); !errors.Is(err, runner.ErrJournalCorrupt) {
		t.Errorf("ReadJournal: %v, want ErrJournalCorrupt", err)
	}
}

// TestJournalRecordsTheRun: every line has the time of the run's clock;
// the header has the params in clear but the secret, the user, the host
// and the steps; attempts, waits, evidence, reasons and durations are
// recorded; a note follows the run's end; the secret is nowhere.
func TestJournalRecordsTheRun(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run.journal")
	kit := actionstest.NewKit()
	kit.Action("step", actionstest.Succeeds(actions.Outputs{"pw": "s3cr3t"}).After(3*time.Minute))
	kit.Probe("done", actionstest.Returns(false).Times(3), actionstest.Returns(true))
	reg := kit.Registry()
	body := strings.Replace(resumable, "      - probe: done\n        expect: {equals: true}\n",
		"      - probe: done\n        expect: {equals: true}\n        wait: {timeout: 1h, interval: 10m}\n", 1)
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	start := kit.Clock.Now()
	_, err = runner.Run(context.Background(), load(t, reg, body), runner.Options{Registry: reg, Clock: kit.Clock,
		Params: map[string]any{"host": "h1", "password": "s3cr3t"}, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Note("verdict", map[string]any{"ok": true, "said": "pw s3cr3t"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Note("", 1); err == nil {
		t.Errorf("a note without a key is taken")
	}
	j.Close()
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "s3cr3t") {
		t.Fatalf("the secret is in the journal:\n%s", data)
	}
	log, err := runner.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	var last time.Time
	for i, e := range log.Entries {
		types[e.Type]++
		at, err := time.Parse(time.RFC3339, e.Time)
		if err != nil || at.Location() != time.UTC || at.Before(start) || at.Before(last) {
			t.Errorf("line %d time %q: %v (want RFC 3339 UTC, in order, from the clock)", i+1, e.Time, err)
		}
		last = at
	}
	if want := start.Add(3*3*time.Minute + 3*10*time.Minute); !last.Equal(want) {
		t.Errorf("last time %v, want %v (3 actions of 3m, 3 waits of 10m)", last, want)
	}
	h := log.Entries[0]
	if h.Type != "run" || h.Format != "csmplan-journal/4" || h.Values["host"] != "h1" || h.Values["password"] != runner.Redacted ||
		h.User == "" || h.Host == "" || len(h.Steps) != 3 || h.Steps[1].ID != "two" || !h.Steps[1].Mutates {
		t.Errorf("header: %+v", h)
	}
	if types["attempt.start"] != 3 || types["attempt.end"] != 3 || types["wait"] != 1 || types["note"] != 1 {
		t.Errorf("record types %v", types)
	}
	for _, e := range log.Entries {
		switch {
		case e.Type == "wait" && (e.Step != "two" || e.DurationMS != (30*time.Minute).Milliseconds() || e.Condition.Polls != 4):
			t.Errorf("wait: %+v %+v", e, e.Condition)
		case e.Type == "attempt.end" && e.DurationMS != (3*time.Minute).Milliseconds():
			t.Errorf("attempt: %+v", e)
		case e.Type == "step.end" && e.Step == "two" && (len(e.Evidence) != 1 || e.Evidence[0].Status != runner.Met || e.DurationMS != (33*time.Minute).Milliseconds()):
			t.Errorf("step two's end: %+v", e)
		case e.Type == "note" && (e.Key != "verdict" || !strings.Contains(runnerFormat(e.Value), runner.Redacted)):
			t.Errorf("note: %+v", e)
		}
	}
	if log.Entries[len(log.Entries)-2].Type != "run.end" {
		t.Errorf("the note does not follow the run's end")
	}
	if runner.Redact("a s3cr3t b", []string{"s3cr3t"}) != "a "+runner.Redacted+" b" {
		t.Errorf("Redact does not redact")
	}
}

func runnerFormat(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["said"].(string)
	return s
}

func TestReadJournalErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := runner.ReadJournal(filepath.Join(dir, "none")); !errors.Is(err, runner.ErrNothingToResume) {
		t.Errorf("missing: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, err := runner.ReadJournal(empty); !errors.Is(err, runner.ErrNothingToResume) {
		t.Errorf("empty: %v", err)
	}
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("hello\n"), 0o600)
	var je *runner.JournalError
	if _, err := runner.ReadJournal(other); !errors.Is(err, runner.ErrNotJournal) || !errors.As(err, &je) || je.Path != other {
		t.Errorf("other file: %v", err)
	}
	future := filepath.Join(dir, "future")
	os.WriteFile(future, []byte(`{"type":"run","format":"csmplan-journal/9","digest":"x","prev":"","sum":""}`+"\n"), 0o600)
	if _, err := runner.ReadJournal(future); !errors.Is(err, runner.ErrNotJournal) || !strings.Contains(err.Error(), "csmplan-journal/9") {
		t.Errorf("future format: %v", err)
	}
}

// TestJournalCutsLongObservations: an observed value is cut in the
// journal's evidence, never inside a UTF-8 sequence.
func TestJournalCutsLongObservations(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run.journal")
	kit := actionstest.NewKit()
	kit.Probe("long", actionstest.Returns(strings.Repeat("€", 1000)))
	reg := kit.Registry()
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runner.Run(context.Background(), load(t, reg, "steps:\n  - id: one\n    pre:\n      - {probe: long, expect: {empty: false}}\n"),
		runner.Options{Registry: reg, Clock: kit.Clock, Journal: j})
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	log, err := runner.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log.Entries {
		if e.Type != "step.end" {
			continue
		}
		obs := e.Evidence[0].Observed
		if !utf8.ValidString(obs) || !strings.HasSuffix(obs, "...") || len(obs) > 410 || strings.ContainsRune(obs, utf8.RuneError) {
			t.Errorf("observed (%d bytes): %q", len(obs), obs)
		}
	}
}

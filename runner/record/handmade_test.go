package record_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/record"
)

// chain writes lines (JSON objects without their closing brace, "prev"
// and "sum") as a journal of format 4 whose hashes chain, as a run
// writes them.
func chain(t *testing.T, lines ...string) string {
	t.Helper()
	sum := func(s string) string { b := sha256.Sum256([]byte(s)); return hex.EncodeToString(b[:]) }
	prev := sum("csmplan-journal/4")
	var b strings.Builder
	for _, l := range lines {
		text := l + `,"prev":"` + prev + `"`
		prev = sum(text)
		b.WriteString(text + `,"sum":"` + prev + "\"}\n")
	}
	path := filepath.Join(t.TempDir(), "j.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRecordOperatorSkipAndKilledRun: a step the operator skipped (--from,
// --only) is marked so; a run killed while an installer ran (no step.end,
// no run.end) leaves the step and its attempt unfinished, and the record
// not ended.
func TestRecordOperatorSkipAndKilledRun(t *testing.T) {
	t.Parallel()
	path := chain(t,
		`{"type":"run","time":"2026-01-02T03:04:05.000Z","format":"csmplan-journal/4","runbook":"r","digest":"d","values":{"a":"1"},"user":"ops","host":"jump1","steps":[{"id":"one","title":"One"},{"id":"two","title":"Install","action":"install","mutates":true},{"id":"three"}]`,
		`{"type":"step.end","time":"2026-01-02T03:04:05.000Z","step":"one","outcome":"skipped","reason":"skipped by the operator (--from two)"`,
		`{"type":"step.start","time":"2026-01-02T03:04:06.000Z","step":"two"`,
		`{"type":"action.start","time":"2026-01-02T03:04:06.000Z","step":"two"`,
		`{"type":"attempt.start","time":"2026-01-02T03:04:06.000Z","step":"two","attempt":1,"action":"install"`,
	)
	rec := read(t, path)
	one, two := rec.Steps[0], rec.Steps[1]
	if !one.Operator || one.Outcome != runner.Skipped || !one.Done() {
		t.Errorf("step one: %+v", one)
	}
	if two.Outcome != record.Unfinished || len(two.Attempts) != 1 || !two.Attempts[0].Unfinished || !two.Mutates {
		t.Errorf("step two: %+v", two)
	}
	if rec.Outcome != "" || !rec.End.IsZero() || rec.User != "ops" || rec.Host != "jump1" || rec.Next().ID != "two" {
		t.Errorf("record: %+v", rec)
	}
	if !rec.Start.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("start %v", rec.Start)
	}
	md := render(t, rec, record.Markdown)
	for _, s := range []string{"# Change record: r (not ended)", "| 1 | `one` One | skipped (by the operator) |", "attempt 1 of `install`: 03:04:06 to ?: no end recorded", "| Run by | ops on jump1 |"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md)
		}
	}
	page := render(t, rec, record.HTML)
	if !strings.Contains(page, `class="muted">three</text>`) {
		t.Errorf("the timeline does not list the step not reached")
	}
	if !strings.Contains(page, "mutating bad") || !strings.Contains(page, "by the operator") {
		t.Errorf("the page does not draw the unfinished installer run or the operator's skip:\n%s", page)
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// logRunbook is a runbook of one step that only logs.
const logRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: log-only
steps:
  - id: hello
    action: log
    with: {message: hello}
`

// TestJournalLeavesNotesAlone is issue 9's report: `csmplan run --journal
// notes.txt` emptied an existing one-line notes.txt, and a journal path that
// was a symbolic link overwrote the file it points to. Both are refused now,
// and the files are left as they were.
func TestJournalLeavesNotesAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "rb.yaml", logRunbook)
	notes := writeFile(t, dir, "notes.txt", "remember the milk")
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(notes, old, old); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink("notes.txt", link); err != nil {
		t.Fatal(err)
	}

	for _, resume := range []bool{false, true} {
		for _, tt := range []struct{ path, says string }{
			{"notes.txt", "notes.txt line 1: not a csmplan journal"},
			{"link.jsonl", "link.jsonl: not a csmplan journal: it is a symbolic link"},
		} {
			args := []string{"run", "--journal", tt.path, "rb.yaml"}
			if resume {
				args = []string{"run", "--journal", tt.path, "--resume", "rb.yaml"}
			}
			cli(t, dir, args...).want(t, exitUsage, "stderr", tt.says)
			data, err := os.ReadFile(notes)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(notes)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, []byte("remember the milk")) || !fi.ModTime().Equal(old) {
				t.Fatalf("after csmplan %v: notes.txt holds %q, modified %v", args, data, fi.ModTime())
			}
		}
	}

	// A new journal path runs.
	cli(t, dir, "run", "--journal", "run.jsonl", "rb.yaml").want(t, exitOK, "stdout", "Succeeded")
	if recs := journalRecords(t, filepath.Join(dir, "run.jsonl")); recs[0]["type"] != "run" || runEnd(recs)["outcome"] != "succeeded" {
		t.Errorf("journal records %v", recs)
	}
}

package runner_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// failedJournal runs body with params into a new journal, with the probe
// "done" false: in the resumable runbook, step two fails and step three
// never runs. It returns the journal's path and its lines.
func failedJournal(t *testing.T, body string, params map[string]any) (string, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.journal")
	kit := actionstest.NewKit()
	kit.Action("step")
	kit.Probe("done", actionstest.Returns(false))
	reg := kit.Registry()
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runner.Run(context.Background(), load(t, reg, body), runner.Options{Registry: reg, Clock: kit.Clock, Params: params, Journal: j})
	j.Close()
	if !errors.Is(err, runner.ErrPostcondition) {
		t.Fatalf("first run: %v, want step two's postcondition unmet", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fileState is what must not change in a file that is no journal.
type fileState struct {
	data    []byte
	modTime time.Time
}

// aged sets the file's times to 2001, so that any write would show in
// its modification time, and returns its state.
func aged(t *testing.T, path string) fileState {
	t.Helper()
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	return stateOf(t, path)
}

func stateOf(t *testing.T, path string) fileState {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{data, fi.ModTime()}
}

func (s fileState) check(t *testing.T, path string) {
	t.Helper()
	now := stateOf(t, path)
	if !bytes.Equal(now.data, s.data) {
		t.Errorf("%s was changed: %q, was %q", filepath.Base(path), now.data, s.data)
	}
	if !now.modTime.Equal(s.modTime) {
		t.Errorf("%s was written: modified %v, was %v", filepath.Base(path), now.modTime, s.modTime)
	}
}

// TestJournalLeavesOtherFilesAlone gives OpenJournal files that are not
// journals: each is refused, and left as it was (the first case used to be
// emptied, its line taken for a crash-truncated journal line).
func TestJournalLeavesOtherFilesAlone(t *testing.T) {
	t.Parallel()
	_, lines := failedJournal(t, resumable, map[string]any{"host": "h1"})
	tests := []struct{ name, content string }{
		{"one line without newline", "remember the milk"},
		{"lines of text", "remember the milk\nand the eggs\n"},
		{"JSON lines", "{\"type\":\"note\"}\n{\"type\":\"run.end\"}\n"},
		{"a blank line", "\n"},
		{"a run record of no journal", "{\"type\":\"run\"}\n"},
		{"a journal header cut short", lines[0][:len(lines[0])/2]},
	}
	for _, tt := range tests {
		for _, resume := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "", true: " resume"}[resume], func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "notes.txt")
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
				before := aged(t, path)
				j, err := runner.OpenJournal(path, resume)
				if err == nil {
					j.Close()
				}
				if !errors.Is(err, runner.ErrNotJournal) || !strings.Contains(err.Error(), "notes.txt") || !strings.Contains(err.Error(), "left the file as it is") {
					t.Errorf("err = %v, want ErrNotJournal naming the file and saying it is left as it is", err)
				}
				before.check(t, path)
			})
		}
	}
}

func TestJournalRefusesADirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, resume := range []bool{false, true} {
		_, err := runner.OpenJournal(dir, resume)
		if !errors.Is(err, runner.ErrNotJournal) || !strings.Contains(err.Error(), "directory") {
			t.Errorf("resume %v: err = %v, want ErrNotJournal saying it is a directory", resume, err)
		}
	}
}

// TestJournalRefusesSymlink opens journals through symbolic links: each is
// refused and what it points to is left as it is (a link to another file
// used to have that file overwritten, and a dangling link its target
// created).
func TestJournalRefusesSymlink(t *testing.T) {
	t.Parallel()
	journal, _ := failedJournal(t, resumable, map[string]any{"host": "h1"})
	tests := []struct {
		name   string
		target func(t *testing.T) string // the file the link points to
	}{
		{"to a file of text", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "notes.txt")
			if err := os.WriteFile(path, []byte("remember the milk"), 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}},
		{"to an empty file", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "empty")
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}},
		{"to a journal", func(t *testing.T) string { return journal }},
		{"dangling", func(t *testing.T) string { return filepath.Join(t.TempDir(), "missing") }},
	}
	for _, tt := range tests {
		for _, resume := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "", true: " resume"}[resume], func(t *testing.T) {
				t.Parallel()
				target := tt.target(t)
				link := filepath.Join(t.TempDir(), "run.journal")
				if err := os.Symlink(target, link); err != nil {
					t.Skipf("no symbolic links here: %v", err)
				}
				var before fileState
				exists := tt.name != "dangling"
				if exists && tt.name != "to a journal" { // journal: shared, read only
					before = aged(t, target)
				} else if exists {
					before = stateOf(t, target)
				}
				j, err := runner.OpenJournal(link, resume)
				if err == nil {
					j.Close()
				}
				if !errors.Is(err, runner.ErrNotJournal) || !strings.Contains(err.Error(), "symbolic link") {
					t.Errorf("err = %v, want ErrNotJournal saying the path is a symbolic link", err)
				}
				if exists {
					before.check(t, target)
				} else if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the dangling link's target was created (%v)", err)
				}
			})
		}
	}
}

// TestJournalNewFileIsPrivate: a new journal is created with mode 0600. (A
// guard: it was so before journals refused other files.)
func TestJournalNewFileIsPrivate(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	path := filepath.Join(t.TempDir(), "run.journal")
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("mode %v, want -rw-------", fi.Mode())
	}
}

// TestJournalResumeCreatesNothing: resuming a journal that does not exist
// creates no file.
func TestJournalResumeCreatesNothing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing.journal")
	if _, err := runner.OpenJournal(path, true); !errors.Is(err, runner.ErrNothingToResume) {
		t.Errorf("err = %v, want ErrNothingToResume", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("resuming a missing journal created it (%v)", err)
	}
}

// TestJournalHandAddedStepEnd appends by hand a step.end line saying that
// step two, which failed, succeeded: the journal is refused as corrupt at
// that line. Before journal lines were chained, step two counted as done
// and its action never ran again.
func TestJournalHandAddedStepEnd(t *testing.T) {
	t.Parallel()
	params := map[string]any{"host": "h1"}
	resume := func(path string) (*runner.Report, int, error) {
		j, err := runner.OpenJournal(path, true)
		if err != nil {
			return nil, 0, err
		}
		defer j.Close()
		kit := actionstest.NewKit()
		act := kit.Action("step")
		kit.Probe("done", actionstest.Returns(true))
		reg := kit.Registry()
		rep, err := runner.Run(context.Background(), load(t, reg, resumable), runner.Options{Registry: reg, Clock: kit.Clock, Params: params, Journal: j})
		return rep, act.Calls(), err
	}

	// As written, the journal makes the resume check step two again (its
	// postcondition now holds), then run step three.
	path, _ := failedJournal(t, resumable, params)
	rep, calls, err := resume(path)
	if err != nil || rep.Steps[1].Outcome != runner.Succeeded || calls != 1 {
		t.Fatalf("resume of the journal as written: %v, %d action calls; want step two checked again, and step three run", err, calls)
	}

	path, lines := failedJournal(t, resumable, params)
	lines = append(lines, `{"type":"step.end","step":"two","outcome":"succeeded"}`)
	writeLines(t, path, lines)
	before := stateOf(t, path)
	rep, calls, err = resume(path)
	if err == nil {
		t.Fatalf("resumed from a hand-edited journal: step two %s (%s), %d action calls", rep.Steps[1].Outcome, rep.Steps[1].Reason, calls)
	}
	var je *runner.JournalError
	if !errors.Is(err, runner.ErrJournalCorrupt) || !errors.As(err, &je) || je.Line != len(lines) || je.Path != path {
		t.Errorf("err = %v, want ErrJournalCorrupt at %s line %d", err, path, len(lines))
	}
	before.check(t, path)
}

// TestJournalAlteredIsRefused alters a journal in several ways: each is
// refused as corrupt, at the line where the chain of hashes breaks, and
// the file is left as it is.
func TestJournalAlteredIsRefused(t *testing.T) {
	t.Parallel()
	_, other := failedJournal(t, resumable, map[string]any{"host": "h2"})
	// The lines of a journal: 1 run, 2-7 step one, 8 step.start two,
	// 9 action.start two, 10-11 attempt.start and attempt.end two,
	// 12 action.end two, 13 step.end two (failed), 14 run.end.
	tests := []struct {
		name  string
		alter func(lines []string) []string
		line  int
		says  string
	}{
		{"outcome edited", func(l []string) []string {
			l[12] = strings.Replace(l[12], `"outcome":"failed"`, `"outcome":"succeeded"`, 1)
			return l
		}, 13, "the line was edited"},
		{"last line edited", func(l []string) []string {
			l[13] = strings.Replace(l[13], `"outcome":"failed"`, `"outcome":"succeeded"`, 1)
			return l
		}, 14, "the line was edited"},
		{"header edited", func(l []string) []string {
			l[0] = strings.Replace(l[0], `"runbook":"t"`, `"runbook":"u"`, 1)
			return l
		}, 1, "the line was edited"},
		{"line removed", func(l []string) []string { return append(l[:12:12], l[13:]...) }, 13, "inserted, removed or reordered"},
		{"lines swapped", func(l []string) []string {
			l[4], l[5] = l[5], l[4]
			return l
		}, 5, "inserted, removed or reordered"},
		{"line repeated", func(l []string) []string { return append(l, l[3]) }, 15, "inserted, removed or reordered"},
		{"line from another journal", func(l []string) []string {
			l[12] = other[12]
			return l
		}, 13, "another journal"},
		{"blank line", func(l []string) []string { return append(l[:4:4], append([]string{""}, l[4:]...)...) }, 5, "not a JSON record"},
		{"hash removed", func(l []string) []string {
			if k := strings.LastIndex(l[3], `,"sum":`); k >= 0 {
				l[3] = l[3][:k] + "}"
			}
			return l
		}, 4, `does not end with its hash`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, lines := failedJournal(t, resumable, map[string]any{"host": "h1"})
			if len(lines) != 14 {
				t.Fatalf("the journal has %d lines, want 14:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			writeLines(t, path, tt.alter(lines))
			before := stateOf(t, path)
			j, err := runner.OpenJournal(path, true)
			if err == nil {
				j.Close()
			}
			var je *runner.JournalError
			if !errors.Is(err, runner.ErrJournalCorrupt) || !errors.As(err, &je) || je.Line != tt.line || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err = %v, want ErrJournalCorrupt at line %d saying %q", err, tt.line, tt.says)
			}
			before.check(t, path)
		})
	}
}

// TestJournalOutputsNamedSum: an action's outputs may have a key "sum", as
// the hash that ends each journal line does; the journal still reads back.
func TestJournalOutputsNamedSum(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run.journal")
	params := map[string]any{"host": "h1"}
	out := actions.Outputs{"a": "x", "sum": `","sum":"`, "z": map[string]any{"sum": "0"}}
	for i, resume := range []bool{false, true} {
		kit := actionstest.NewKit()
		kit.Action("step", actionstest.Succeeds(out))
		kit.Probe("done", actionstest.Returns(resume))
		reg := kit.Registry()
		j, err := runner.OpenJournal(path, resume)
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		rep, err := runner.Run(context.Background(), load(t, reg, resumable), runner.Options{Registry: reg, Clock: kit.Clock, Params: params, Journal: j})
		j.Close()
		if resume && (err != nil || rep.Steps[0].Outcome != runner.Resumed || !reflect.DeepEqual(rep.Steps[0].Outputs, map[string]any(out))) {
			t.Errorf("resume: %v; step one %s with outputs %v, want done earlier with %v", err, rep.Steps[0].Outcome, rep.Steps[0].Outputs, out)
		}
	}
}

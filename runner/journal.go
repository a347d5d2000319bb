package runner

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/csmplan/csmplan/plan"
)

// Journal errors; test with errors.Is.
var (
	ErrJournalLocked   = errors.New("journal is in use by another run")
	ErrJournalExists   = errors.New("journal holds an earlier run")
	ErrJournalMismatch = errors.New("journal belongs to a different run")
	ErrJournalCorrupt  = errors.New("journal is corrupt")
	ErrNothingToResume = errors.New("no journal to resume")
)

// Journal records a run as append-only JSON lines, synced to disk at each
// step's end, so that an interrupted run can be resumed. While a run holds
// a journal, the file is locked: a second run against it is refused.
//
// Resuming skips the steps the journal records as done; a step that was
// interrupted (or failed) is done if its postconditions hold, else it runs
// again from its preconditions. When the journal records that the step's
// action had started, its postconditions are given their waits: the action
// (an installer, say) may still be taking effect, and running it again
// while it does would be worse than waiting. A journal written by a
// different runbook, or with different params, is refused; secret params
// are not compared (a password may change between two attempts) and never
// written.
type Journal struct {
	path     string
	f        *os.File
	mu       sync.Mutex
	previous map[string]*journalStep
	header   *journalRecord
	red      *redactor
}

// journalRecord is one line of a journal.
type journalRecord struct {
	Type    string            `json:"type"` // run, step.start, action.start, step.end, run.end
	Runbook string            `json:"runbook,omitempty"`
	Digest  string            `json:"digest,omitempty"`
	Params  map[string]string `json:"params,omitempty"` // param name -> digest of its value
	Step    string            `json:"step,omitempty"`
	Outcome Outcome           `json:"outcome,omitempty"`
	Outputs map[string]any    `json:"outputs,omitempty"`
	Vars    map[string]any    `json:"vars,omitempty"`
	Error   string            `json:"error,omitempty"`
}

type journalStep struct {
	Outcome Outcome
	Outputs map[string]any
	Vars    map[string]any
	// Acted: the step's action had started (it may have taken effect).
	Acted bool
}

func (s *journalStep) done() bool {
	return s.Outcome == Succeeded || s.Outcome == Skipped || s.Outcome == Resumed
}

// OpenJournal opens (or creates) the journal at path and locks it. With
// resume false, a journal that already records a run is refused
// (ErrJournalExists); with resume true, a missing or empty one is
// (ErrNothingToResume). A truncated last line, left by a crash in the middle
// of a write, is dropped.
func OpenJournal(path string, resume bool) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w: wait for it to end, or use another journal", path, ErrJournalLocked)
		}
		return nil, fmt.Errorf("lock journal %s: %w", path, err)
	}
	j := &Journal{path: path, f: f, previous: map[string]*journalStep{}}
	n, err := j.load()
	if err != nil {
		j.Close()
		return nil, err
	}
	switch {
	case n > 0 && !resume:
		j.Close()
		return nil, fmt.Errorf("%s: %w: resume it (--resume), or remove the file to start over", path, ErrJournalExists)
	case n == 0 && resume:
		j.Close()
		return nil, fmt.Errorf("%s: %w: the journal is empty or missing", path, ErrNothingToResume)
	}
	return j, nil
}

// Lock retries: see lockFile.
const (
	lockTries = 50
	lockPause = 2 * time.Millisecond
)

// lockFile takes an exclusive flock on f without blocking. A child process
// forked by this process (an installer that a run starts) holds a copy of
// every descriptor until it executes its program, and with it the locks of
// their open files: a journal closed just now can still look locked for a
// moment when another goroutine starts a process. So a refused lock is
// retried for about lockTries*lockPause before it counts as another run's.
func lockFile(f *os.File) error {
	var err error
	for i := 0; i < lockTries; i++ {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		time.Sleep(lockPause)
	}
	return err
}

// Path returns the journal's file name.
func (j *Journal) Path() string { return j.path }

// Close unlocks and closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close() // closing releases the lock
	j.f = nil
	return err
}

// load reads the records of earlier runs and returns how many there are.
func (j *Journal) load() (int, error) {
	data, err := io.ReadAll(j.f)
	if err != nil {
		return 0, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	n, good := 0, 0
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, line := range lines {
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			good += len(line)
			continue
		}
		var rec journalRecord
		if err := json.Unmarshal(trimmed, &rec); err != nil || !bytes.HasSuffix(line, []byte("\n")) {
			if i == len(lines)-1 || i == len(lines)-2 && len(bytes.TrimSpace(lines[len(lines)-1])) == 0 {
				break // a truncated last line: the crash happened mid-write
			}
			return 0, fmt.Errorf("%s line %d: %w: %w", j.path, i+1, ErrJournalCorrupt, err)
		}
		good += len(line)
		n++
		switch rec.Type {
		case "run":
			if j.header == nil {
				h := rec
				j.header = &h
			}
		case "step.start":
			j.previous[rec.Step] = &journalStep{Outcome: NotRun}
		case "action.start":
			if st := j.previous[rec.Step]; st != nil {
				st.Acted = true
			}
		case "step.end":
			j.previous[rec.Step] = &journalStep{Outcome: rec.Outcome, Outputs: normalizeMap(rec.Outputs), Vars: normalizeMap(rec.Vars)}
		}
	}
	if good < len(data) {
		if err := j.f.Truncate(int64(good)); err != nil {
			return 0, fmt.Errorf("repair journal %s: %w", j.path, err)
		}
	}
	if _, err := j.f.Seek(int64(good), io.SeekStart); err != nil {
		return 0, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return n, nil
}

// normalizeMap normalizes the numbers of a map read back from JSON.
func normalizeMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return plan.Normalize(m).(map[string]any)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// begin checks an earlier run's header against this run, and writes this
// run's header.
func (j *Journal) begin(p *plan.Plan, params map[string]any) error {
	secret := map[string]bool{}
	for _, prm := range p.Params {
		secret[prm.Name] = prm.Secret
	}
	hashes := map[string]string{}
	var secrets []string
	for k, v := range params {
		if secret[k] {
			secrets = append(secrets, plan.Format(v))
			continue
		}
		b, _ := json.Marshal(v)
		hashes[k] = digest(b)[:16]
	}
	j.red = newRedactor(secrets)
	rec := journalRecord{Type: "run", Runbook: p.Name, Digest: digest(p.Source), Params: hashes}
	if h := j.header; h != nil {
		if h.Digest != rec.Digest {
			return fmt.Errorf("%s: %w: it was written by runbook %q with other content; resume with the same runbook, or start a new journal", j.path, ErrJournalMismatch, h.Runbook)
		}
		var changed []string
		for k, v := range rec.Params {
			if h.Params[k] != v {
				changed = append(changed, k)
			}
		}
		for k := range h.Params {
			if _, ok := rec.Params[k]; !ok {
				changed = append(changed, k)
			}
		}
		if len(changed) > 0 {
			sort.Strings(changed)
			return fmt.Errorf("%s: %w: params differ from the journal's run: %s", j.path, ErrJournalMismatch, strings.Join(changed, ", "))
		}
	}
	return j.write(rec, false)
}

func (j *Journal) stepStart(id string) error {
	return j.write(journalRecord{Type: "step.start", Step: id}, false)
}

// actionStart records, synced, that the step's action is about to run.
func (j *Journal) actionStart(id string) error {
	return j.write(journalRecord{Type: "action.start", Step: id}, true)
}

func (j *Journal) stepEnd(id string, o Outcome, outputs, vars map[string]any) error {
	return j.write(journalRecord{Type: "step.end", Step: id, Outcome: o, Outputs: j.red.Map(outputs), Vars: j.red.Map(vars)}, true)
}

func (j *Journal) end(o Outcome, msg string) error {
	return j.write(journalRecord{Type: "run.end", Outcome: o, Error: j.red.String(msg)}, true)
}

func (j *Journal) write(rec journalRecord, sync bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("journal %s is closed", j.path)
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	enc := json.NewEncoder(w)
	if err := enc.Encode(rec); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	w.Flush()
	if _, err := j.f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	if sync {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("sync journal %s: %w", j.path, err)
		}
	}
	return nil
}

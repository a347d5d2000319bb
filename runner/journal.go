package runner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// Journal errors; test with errors.Is.
var (
	ErrJournalLocked   = errors.New("journal is in use by another run")
	ErrJournalExists   = errors.New("journal holds an earlier run")
	ErrJournalMismatch = errors.New("journal belongs to a different run")
	ErrJournalCorrupt  = errors.New("journal is corrupt")
	ErrNothingToResume = errors.New("no journal to resume")
	// ErrNotJournal: the path names something other than a csmplan
	// journal (a file of other content, a symbolic link, a directory), which
	// OpenJournal leaves as it is.
	ErrNotJournal = errors.New("not a csmplan journal")
)

// errLocked is lockFile's answer when another handle holds the lock.
var errLocked = errors.New("locked")

// JournalError is a problem with one line of a journal file. Err wraps
// ErrJournalCorrupt or ErrNotJournal.
type JournalError struct {
	Path string
	Line int // 1-based
	Err  error
}

// Error returns "PATH line N: why".
func (e *JournalError) Error() string { return fmt.Sprintf("%s line %d: %v", e.Path, e.Line, e.Err) }

// Unwrap returns the cause.
func (e *JournalError) Unwrap() error { return e.Err }

// journalFormat identifies the journal format. Every run record carries it,
// and the first line of a journal must be such a record.
const journalFormat = "csmplan-journal/4"

// journalFormat3 is the format before timestamps and params in clear: a
// journal of it is still read and resumed (the resumed run appends records
// of journalFormat).
const journalFormat3 = "csmplan-journal/3"

// journalSeed is what the first line of a journal chains from.
var journalSeed = seed(journalFormat)

// seed is what the first line of a journal of the format chains from.
func seed(format string) string { return digest([]byte(format)) }

// knownFormat reports whether this csmplan reads journals of the format.
func knownFormat(f string) bool { return f == journalFormat || f == journalFormat3 }

// Journal records a run as append-only JSON lines, synced to disk when an
// action starts and returns and at each step's end, so that an interrupted
// run can be resumed. While a run holds
// a journal, the file is locked: a second run against it is refused.
//
// Each line ends with its own hash ("sum") and records the hash of the line
// before it ("prev"; for the first line, a fixed seed), so that a journal
// with edited, inserted, removed or reordered lines is refused
// (ErrJournalCorrupt) rather than trusted. The chain is not a signature: it
// catches edits and splices, not a forger who recomputes it.
//
// A journal written by a different runbook, or with different params, is
// refused; a param that says changeable_on_resume (connection settings,
// timeouts) may differ, and so may a secret param, which is never written.
//
// # Resuming
//
// Resuming skips the steps the journal records as done (their outcome is
// Resumed) and gives back their outputs and saved vars. A step that an
// earlier run left unfinished, or that failed, is handled by what the
// journal knows of its action's last attempt:
//
//   - None started, or the last one failed (it returned an error, which
//     a retry would not wait on either), or an Inspector found that it did
//     not take effect: the step is done if its postconditions hold at once;
//     otherwise it runs again from its preconditions.
//   - One started and its outcome is unknown: the run stopped while it
//     ran. This survives any number of resumes, until the step is proven
//     done (its postconditions hold, or it ends succeeded) or the attempt
//     proven not to have taken effect (an Inspector says not done). If the
//     action is an [actions.Inspector], the runner first asks it what the
//     attempt left behind (see [StepReport].Inspection): done, as below;
//     in progress: the postconditions get their waits, and the step fails
//     (ErrInProgress) rather than start the action again if they do not
//     hold; not done: the step runs again at once from its preconditions.
//     Otherwise (no Inspector, "unknown", or an error), the postconditions
//     get their waits (the action, an installer say, may still be taking
//     effect, and running it again meanwhile would be worse than waiting);
//     if they do not hold, the step runs again.
//   - One returned (or an Inspector found it done): the postconditions
//     get their waits, as after any action; if they do not hold, the step
//     fails (ErrPostcondition), and a later resume runs it again.
//
// A step found done on resume ends Succeeded, and keeps the outputs its
// action returned (the journal records them as soon as it returns) and
// the vars its preconditions saved before it ran.
//
// Two values cannot be given back, and a reference to one is an error
// (ErrNotRestored) naming the step, the output or var, and why, rather than
// a wrong value passed on: an output or saved var that held a secret, which
// the journal writes redacted ([Redacted]) and marks as such; and the
// outputs of a step found done whose action was interrupted before it
// returned them.
//
// # Format
//
// Each line is a JSON object (a [JournalEntry]) whose "type" is one of:
// "run" (a run or a resume began: the format, the runbook's name, title,
// digest and steps, its params' digests and, in "values", the params in
// clear with the secret ones [Redacted], the user and the host),
// "step.start", "action.start" (synced; with the vars the step's
// preconditions saved), "attempt.start" and "attempt.end" (each attempt of
// the action, with its duration and error), "action.end" (synced; outcome
// "succeeded" with the action's outputs, or "failed" with its error; none
// when the run was interrupted), "wait" (a condition checked more than
// once: its evidence and how long it waited), "inspect" (what an
// Inspector found: "inspection", and "error"), "step.end" (synced; the
// step's outcome, reason, duration, the evidence of its conditions, its
// outputs and saved vars, and "outputs_lost" when its outputs are
// unknown), "run.end" and "note" (an annotation, see Note). Every line has
// the "time" it was written, from the run's clock (RFC 3339, UTC),
// durations are in milliseconds ("duration_ms", "waited_ms"). Outputs
// and vars that held a secret are written redacted and named in
// "redacted_outputs" and "redacted_vars".
//
// This is format 4 ("csmplan-journal/4"). A journal of format 3, which
// had no times and no params in clear, is still read and resumed: the
// resumed run appends records of format 4.
type Journal struct {
	path     string
	f        journalFile
	mem      *memFile // the file of a memory journal (NewMemoryJournal)
	user     string   // the header's user and host; "": this process's
	host     string
	mu       sync.Mutex
	previous map[string]*journalStep
	header   *journalRecord
	red      *redactor
	last     string // sum of the last line, which the next one chains from
	off      int64  // length of the journal's complete lines
	clock    actions.Clock
	steps    map[string]JournalStep // the steps of the run, by id (begin)
}

// journalRecord is one line of a journal (see JournalEntry).
type journalRecord = JournalEntry

// sumKey starts the last field of a line, its hash: the line is
// TEXT + sumKey + hex SHA-256 of TEXT + `"}`. A string value cannot hold
// sumKey (JSON escapes its quotes), an object of outputs can (a key "sum"):
// the last occurrence is the line's.
const sumKey = `,"sum":"`

// journalStep is what the journal knows of a step.
type journalStep struct {
	// Outcome is that of the step's last step.end, or NotRun.
	Outcome Outcome
	// Attempt is what is known of the step's last action attempt.
	Attempt attemptState
	values
}

// attemptState is what the journal knows of a step's last action attempt.
type attemptState int

const (
	// attemptNone: no attempt started, or the last one failed, or was
	// found not to have taken effect: the step may run again.
	attemptNone attemptState = iota
	// attemptStarted: an attempt started, and the run stopped before
	// anything was known of its effect; it may still be taking effect.
	attemptStarted
	// attemptDone: the last attempt returned (or an Inspector found it
	// done); whether its postconditions hold is not known yet.
	attemptDone
)

// values are a step's outputs and saved vars as the journal has them.
type values struct {
	// Outputs are the action's outputs; nil when none were recorded.
	Outputs map[string]any
	Vars    map[string]any
	// SecretOutputs and SecretVars name the outputs and vars that held a
	// secret: the journal has them redacted.
	SecretOutputs []string
	SecretVars    []string
	// OutputsLost: the step was found done, but its action's outputs were
	// never recorded.
	OutputsLost bool
}

func (s *journalStep) done() bool {
	return s.Outcome == Succeeded || s.Outcome == Skipped || s.Outcome == Resumed
}

// OpenJournal opens (or creates) the journal at path and locks it. With
// resume false, a journal that already records a run is refused
// (ErrJournalExists); with resume true, a missing or empty one is
// (ErrNothingToResume), and none is created.
//
// OpenJournal never changes a file that is not a csmplan journal: a
// symbolic link (which it does not follow), a directory or a file whose
// first line is not a journal header is refused with ErrNotJournal and
// left as it is. A journal whose lines do not chain is refused with
// ErrJournalCorrupt (a [*JournalError] says which line). A truncated last
// line, left by a crash in the middle of a write, is dropped when it
// follows at least one valid line. A new journal is created with mode 0600.
func OpenJournal(path string, resume bool) (*Journal, error) {
	f, err := openJournalFile(path, !resume)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f.Fd()); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
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
		return nil, fmt.Errorf("%s: %w: the journal is empty", path, ErrNothingToResume)
	}
	if err := j.f.Truncate(j.off); err != nil { // drop a truncated last line
		j.Close()
		return nil, fmt.Errorf("repair journal %s: %w", path, err)
	}
	if _, err := j.f.Seek(j.off, io.SeekStart); err != nil {
		j.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return j, nil
}

// openJournalFile opens the regular file at path for reading and writing,
// never through a symbolic link. A missing file is created (mode 0600, and
// never through a link either) when create is set, else it is
// ErrNothingToResume.
func openJournalFile(path string, create bool) (*os.File, error) {
	for try := 0; ; try++ {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			if !create {
				return nil, fmt.Errorf("%s: %w: the journal does not exist", path, ErrNothingToResume)
			}
			// O_EXCL: a link (even a dangling one) that appeared since the
			// Lstat makes this fail rather than create its target.
			f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|openNoFollow, 0o600)
			if errors.Is(err, fs.ErrExist) && try == 0 {
				continue // created meanwhile: check what it is
			}
			if err != nil {
				return nil, fmt.Errorf("create journal: %w", err)
			}
			return f, nil
		}
		if err != nil {
			return nil, fmt.Errorf("open journal: %w", err)
		}
		if err := journalFileType(path, fi); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|openNoFollow, 0)
		if err != nil {
			if fi, lerr := os.Lstat(path); lerr == nil {
				if terr := journalFileType(path, fi); terr != nil {
					return nil, terr // replaced by a link meanwhile
				}
			}
			return nil, fmt.Errorf("open journal: %w", err)
		}
		// What was opened must be the regular file that Lstat saw: where
		// openNoFollow is zero, a link put in its place meanwhile would
		// have been followed.
		ofi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open journal: %w", err)
		}
		if !ofi.Mode().IsRegular() || !os.SameFile(fi, ofi) {
			f.Close()
			return nil, fmt.Errorf("%s: %w: the file was replaced while it was being opened; try again", path, ErrNotJournal)
		}
		return f, nil
	}
}

// journalFileType refuses, with ErrNotJournal, what Lstat describes as
// something else than a regular file.
func journalFileType(path string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		to := ""
		if dest, err := os.Readlink(path); err == nil {
			to = " to " + strconv.Quote(dest)
		}
		return fmt.Errorf("%s: %w: it is a symbolic link%s, and csmplan does not follow links to journals: give the path of the journal itself, or a new path", path, ErrNotJournal, to)
	case fi.IsDir():
		return fmt.Errorf("%s: %w: it is a directory: give the path of a file in it", path, ErrNotJournal)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s: %w: it is not a regular file (%s): give the path of a new file", path, ErrNotJournal, fi.Mode().Type())
	}
	return nil
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

// load reads and checks the records of earlier runs and returns how many
// there are. It changes nothing: j.off is the length of the complete
// lines, which a truncated last line follows.
func (j *Journal) load() (int, error) {
	data, err := io.ReadAll(j.f)
	if err != nil {
		return 0, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	recs, good, last, err := parseJournal(data)
	if err != nil {
		var je *JournalError
		if errors.As(err, &je) {
			je.Path = j.path
			return 0, je
		}
		return 0, fmt.Errorf("%s: %w", j.path, err)
	}
	j.off, j.last = int64(good), last
	if len(recs) == 0 {
		j.last = journalSeed
	}
	for _, rec := range recs {
		switch rec.Type {
		case "run":
			if j.header == nil {
				h := rec
				j.header = &h
			}
		case "step.start", "action.start", "action.end", "inspect", "step.end":
			st := j.previous[rec.Step]
			if st == nil {
				st = &journalStep{Outcome: NotRun}
				j.previous[rec.Step] = st
			}
			st.apply(rec)
		}
	}
	return len(recs), nil
}

// apply updates what is known of a step with one of its records. What a
// step.start does not change, an earlier run's attempt of unknown outcome
// among it, carries over to the resumes that follow.
func (st *journalStep) apply(rec journalRecord) {
	switch rec.Type {
	case "step.start":
		st.Outcome = NotRun
	case "action.start":
		st.Attempt = attemptStarted
		st.values = values{Vars: normalizeMap(rec.Vars), SecretVars: rec.RedactedVars}
	case "action.end":
		if rec.Outcome != Succeeded {
			st.Attempt = attemptNone
			return
		}
		st.Attempt = attemptDone
		st.Outputs, st.SecretOutputs = normalizeMap(rec.Outputs), rec.RedactedOutputs
		if st.Outputs == nil {
			st.Outputs = map[string]any{}
		}
	case "inspect":
		switch rec.Inspection {
		case actions.NotDone.String():
			st.Attempt = attemptNone
		case actions.Done.String():
			st.Attempt = attemptDone
		}
	case "step.end":
		st.Outcome = rec.Outcome
		st.values = values{Outputs: normalizeMap(rec.Outputs), Vars: normalizeMap(rec.Vars),
			SecretOutputs: rec.RedactedOutputs, SecretVars: rec.RedactedVars, OutputsLost: rec.OutputsLost}
		// A step that failed after its attempt took effect has had its
		// postconditions checked: it may run again. An attempt of unknown
		// outcome stays unknown.
		if st.Attempt == attemptDone {
			st.Attempt = attemptNone
		}
	}
}

// parseJournal reads the records of a journal and checks their hashes. It
// returns the records, the length of the complete lines (a truncated last
// line may follow them) and the sum the next line chains from. A first
// line that is not a journal header is a *JournalError wrapping
// ErrNotJournal; a later line that is not a chained record, one wrapping
// ErrJournalCorrupt.
func parseJournal(data []byte) (recs []journalRecord, good int, last string, err error) {
	last = journalSeed
	first := ""
	for i, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 {
			break // data ended with a newline
		}
		n := i + 1
		body, complete := bytes.CutSuffix(line, []byte("\n"))
		if !complete {
			if n == 1 {
				return nil, 0, "", errNoHeader()
			}
			break // a truncated last line: the crash happened mid-write
		}
		var rec journalRecord
		jerr := decodeRecord(body, &rec)
		if n == 1 {
			switch {
			case jerr != nil || rec.Type != "run" || rec.Format == "" && rec.Digest == "":
				return nil, 0, "", errNoHeader()
			case rec.Format == "":
				return nil, 0, "", &JournalError{Line: 1, Err: fmt.Errorf("%w: it was written by an earlier csmplan, without the hashes this one checks: finish that run with the csmplan that started it, or remove the file to start over", ErrNotJournal)}
			case !knownFormat(rec.Format):
				return nil, 0, "", &JournalError{Line: 1, Err: fmt.Errorf("%w: its format is %q, and this csmplan reads %q and %q: resume it with the csmplan that wrote it, or remove the file to start over", ErrNotJournal, rec.Format, journalFormat, journalFormat3)}
			}
			first = rec.Format
			last = seed(first)
		}
		if what := checkRecord(body, rec, jerr, last, first); what != "" {
			return nil, 0, "", &JournalError{Line: n, Err: fmt.Errorf("%w: %s; csmplan does not resume from an altered journal: remove the file to start over", ErrJournalCorrupt, what)}
		}
		recs = append(recs, rec)
		good += len(line)
		last = rec.Sum
	}
	return recs, good, last, nil
}

// errNoHeader says that a file is no journal: its first line is no header.
func errNoHeader() error {
	return &JournalError{Line: 1, Err: fmt.Errorf("%w: it does not begin with a journal header; csmplan left the file as it is: give a new journal path, or remove the file if it is not needed", ErrNotJournal)}
}

// checkRecord says what is wrong with a line (body, decoded as rec with
// the error jerr) that should chain from the line whose sum is prev; ""
// when nothing is. A journal begun in format 3 may hold runs of either
// format (a format-3 journal resumed); one begun in format 4, only those.
func checkRecord(body []byte, rec journalRecord, jerr error, prev, first string) string {
	if jerr != nil {
		return "not a JSON record: " + jerr.Error()
	}
	switch rec.Type {
	case "run":
		if rec.Format != journalFormat && (rec.Format != journalFormat3 || first != journalFormat3) || rec.Digest == "" {
			return "a run record without the journal format or the runbook's digest"
		}
	case "step.start", "action.start", "action.end", "inspect", "step.end", "attempt.start", "attempt.end", "wait":
		if rec.Step == "" {
			return fmt.Sprintf("a %s record without a step", rec.Type)
		}
	case "note":
		if rec.Key == "" {
			return "a note record without a key"
		}
	case "run.end":
	default:
		return fmt.Sprintf("unknown record type %q", rec.Type)
	}
	k := bytes.LastIndex(body, []byte(sumKey))
	if rec.Sum == "" || k < 0 || string(body[k:]) != sumKey+rec.Sum+`"}` {
		return `the line does not end with its hash ("sum"): csmplan did not write it`
	}
	if digest(body[:k]) != rec.Sum {
		return `its hash ("sum") does not match its content: the line was edited`
	}
	if rec.Prev != prev {
		return `its hash of the previous line ("prev") does not match that line: lines were inserted, removed or reordered, or come from another journal`
	}
	return ""
}

// normalizeMap normalizes the numbers of a map read back from JSON.
// decodeRecord decodes a journal line as json.Unmarshal does, but with its
// numbers kept as written (json.Number, which normalizeMap turns into an
// exact int64): an integer beyond 2^53 that a step saved resumes as itself.
func decodeRecord(body []byte, rec *journalRecord) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(rec); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid data after the JSON object")
	}
	return nil
}

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
// run's header. The runbook must be the same; so must every param, except
// the secret ones (never written) and those that say changeable_on_resume.
// The runbook being the same, so are the params that may change.
func (j *Journal) begin(p *plan.Plan, params map[string]any, clock actions.Clock, reg *actions.Registry) error {
	hashes := map[string]string{}
	var secrets []string
	for k, v := range params {
		if prm := p.Param(k); prm != nil && prm.Secret {
			secrets = append(secrets, plan.Format(v))
			continue
		}
		b, _ := json.Marshal(v)
		hashes[k] = digest(b)[:16]
	}
	j.mu.Lock()
	j.red = newRedactor(secrets)
	j.clock = clock
	j.mu.Unlock()
	rec := journalRecord{Type: "run", Format: journalFormat, Runbook: p.Name, Digest: digest(p.Source), Params: hashes}
	j.describe(&rec, p, params, reg)
	if h := j.header; h != nil {
		if h.Digest != rec.Digest {
			return fmt.Errorf("%s: %w: it was written by runbook %q with other content; resume with the same runbook, or start a new journal", j.path, ErrJournalMismatch, h.Runbook)
		}
		if err := checkParams(p, h.Params, rec.Params); err != nil {
			return fmt.Errorf("%s: %w: %w", j.path, ErrJournalMismatch, err)
		}
	}
	return j.write(rec, false)
}

// checkParams compares the param digests of a journal's run (was) with
// this run's (now): a param that changed, appeared or disappeared is
// refused unless it may change on resume.
func checkParams(p *plan.Plan, was, now map[string]string) error {
	mayChange := func(name string) bool {
		prm := p.Param(name)
		return prm != nil && (prm.Secret || prm.ChangeableOnResume)
	}
	var changed []string
	for k, v := range now {
		if w, ok := was[k]; (!ok || w != v) && !mayChange(k) {
			changed = append(changed, k)
		}
	}
	for k := range was {
		if _, ok := now[k]; !ok && !mayChange(k) {
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	sort.Strings(changed)
	var may []string
	for _, prm := range p.Params {
		if prm.Secret || prm.ChangeableOnResume {
			may = append(may, prm.Name)
		}
	}
	which := "no param of this runbook may change on resume"
	if len(may) > 0 {
		which = "only these may change on resume: " + strings.Join(may, ", ")
	}
	return fmt.Errorf("params differ from the journal's run: %s (%s); resume with the values of that run, or start a new journal", strings.Join(changed, ", "), which)
}

func (j *Journal) stepStart(id string) error {
	return j.write(journalRecord{Type: "step.start", Step: id}, false)
}

// actionStart records, synced, that the step's action is about to run,
// with the vars its preconditions saved (v.Vars).
func (j *Journal) actionStart(id string, v values) error {
	rec := journalRecord{Type: "action.start", Step: id}
	rec.Vars, rec.RedactedVars = j.redact(v.Vars, v.SecretVars)
	return j.write(rec, true)
}

// actionEnd records, synced, that the step's action returned: its
// outputs (v.Outputs), or its error.
func (j *Journal) actionEnd(id string, v values, err error) error {
	rec := journalRecord{Type: "action.end", Step: id, Outcome: Succeeded}
	if err != nil {
		rec.Outcome, rec.Error = Failed, j.red.String(err.Error())
	} else {
		rec.Outputs, rec.RedactedOutputs = j.redact(v.Outputs, v.SecretOutputs)
	}
	return j.write(rec, true)
}

// inspect records what the Inspector of the step's action found.
func (j *Journal) inspect(id string, ins actions.Inspection, err error) error {
	rec := journalRecord{Type: "inspect", Step: id, Inspection: ins.String()}
	if err != nil {
		rec.Error = j.red.String(err.Error())
	}
	return j.write(rec, false)
}

// stepEnd records, synced, how the step ended, with its outputs and
// saved vars.
func (j *Journal) stepEnd(id string, o Outcome, v values, sr *StepReport) error {
	rec := journalRecord{Type: "step.end", Step: id, Outcome: o, OutputsLost: v.OutputsLost}
	j.summarize(&rec, sr)
	rec.Outputs, rec.RedactedOutputs = j.redact(v.Outputs, v.SecretOutputs)
	rec.Vars, rec.RedactedVars = j.redact(v.Vars, v.SecretVars)
	return j.write(rec, true)
}

// redact returns m with its secrets redacted, and the sorted names of its
// entries that held one, or that secret already names (values redacted
// by an earlier run, which no longer hold the secret).
func (j *Journal) redact(m map[string]any, secret []string) (map[string]any, []string) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	var names []string
	for k, v := range m {
		rv := j.red.Value(v)
		out[j.red.String(k)] = rv
		if slices.Contains(secret, k) || !reflect.DeepEqual(rv, v) {
			names = append(names, j.red.String(k))
		}
	}
	sort.Strings(names)
	return out, names
}

func (j *Journal) end(o Outcome, msg string) error {
	return j.write(journalRecord{Type: "run.end", Outcome: o, Error: j.red.String(msg)}, true)
}

// write appends rec, chained to the line before it, and syncs the file
// when sync is set. A failed write is cut off, so that the journal ends
// with a complete line.
func (j *Journal) write(rec journalRecord, sync bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("journal %s is closed", j.path)
	}
	rec.Prev, rec.Sum = j.last, ""
	if j.clock != nil {
		rec.Time = stamp(j.clock.Now())
	} else {
		rec.Time = stamp(time.Now())
	}
	text, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	text = text[:len(text)-1] // the closing brace
	sum := digest(text)
	line := append(text, sumKey+sum+"\"}\n"...)
	if _, err := j.f.Write(line); err != nil {
		if terr := j.f.Truncate(j.off); terr == nil {
			_, _ = j.f.Seek(j.off, io.SeekStart)
		}
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	j.off += int64(len(line))
	j.last = sum
	if sync {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("sync journal %s: %w", j.path, err)
		}
	}
	return nil
}

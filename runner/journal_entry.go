package runner

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"
	"unicode/utf8"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// TimeLayout is how a journal writes times: RFC 3339 in UTC, to the
// millisecond.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// stamp formats t as a journal does.
func stamp(t time.Time) string { return t.UTC().Format(TimeLayout) }

// JournalEntry is one line of a journal (see [Journal] for the format):
// what [ReadJournal] gives back. Its fields are the line's JSON keys;
// a field that does not apply to the line's Type is zero. Secrets are
// redacted ([Redacted]) in every field.
type JournalEntry struct {
	// Type is run, step.start, action.start, attempt.start, attempt.end,
	// wait, action.end, inspect, step.end, note or run.end.
	Type string `json:"type"`
	// Time is when the line was written, from the run's clock (TimeLayout);
	// empty in a journal of format 3.
	Time string `json:"time,omitempty"`
	// Format (run): the journal format, such as "csmplan-journal/4".
	Format  string `json:"format,omitempty"`
	Runbook string `json:"runbook,omitempty"`
	// Title (run): the runbook's title.
	Title string `json:"title,omitempty"`
	// Digest (run): the hex SHA-256 of the runbook's source.
	Digest string            `json:"digest,omitempty"`
	Params map[string]string `json:"params,omitempty"` // run: param name -> digest of its value
	// Values (run): the params bound for the run, by name, in clear; a
	// secret param's value is Redacted.
	Values map[string]any `json:"values,omitempty"`
	// User and Host (run): who ran it, on which host.
	User string `json:"user,omitempty"`
	Host string `json:"host,omitempty"`
	// Steps (run): the runbook's steps, in order.
	Steps   []JournalStep  `json:"steps,omitempty"`
	Step    string         `json:"step,omitempty"`
	Outcome Outcome        `json:"outcome,omitempty"` // action.end, step.end, run.end
	Outputs map[string]any `json:"outputs,omitempty"` // action.end, step.end
	Vars    map[string]any `json:"vars,omitempty"`    // action.start, step.end
	// RedactedOutputs and RedactedVars name the outputs and vars that
	// held a secret, written redacted.
	RedactedOutputs []string `json:"redacted_outputs,omitempty"`
	RedactedVars    []string `json:"redacted_vars,omitempty"`
	// OutputsLost (step.end): the step's action ran, but its outputs were
	// never recorded.
	OutputsLost bool `json:"outputs_lost,omitempty"`
	// Inspection (inspect): what an Inspector found, as
	// actions.Inspection's String says it.
	Inspection string `json:"inspection,omitempty"`
	// Reason (step.end): why the step ended so (StepReport.Reason).
	Reason string `json:"reason,omitempty"`
	// Attempt (attempt.start, attempt.end): the attempt's number.
	Attempt int `json:"attempt,omitempty"`
	// Action (attempt.start, attempt.end): the action's name.
	Action string `json:"action,omitempty"`
	// DurationMS (attempt.end, wait, step.end): how long it took, in
	// milliseconds of the run's clock.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Evidence (step.end): the step's conditions, as checked.
	Evidence []JournalCondition `json:"evidence,omitempty"`
	// Condition (wait): the condition that was waited for; Phase its part
	// of the step.
	Condition *JournalCondition `json:"condition,omitempty"`
	// Key and Value (note): an annotation (see Journal.Note).
	Key   string `json:"key,omitempty"`
	Value any    `json:"value,omitempty"`
	Error string `json:"error,omitempty"`
	// Prev is the previous line's Sum; for the first line, a seed of the
	// format.
	Prev string `json:"prev"`
	// Sum, the last field of the line, is the hex SHA-256 of the line's
	// text before it (up to sumKey).
	Sum string `json:"sum,omitempty"`
}

// JournalStep is a step of the runbook, as a run record lists it.
type JournalStep struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	// Action is the step's action, if any; Mutates says that it changes
	// the world (an installer run, a takeover).
	Action  string `json:"action,omitempty"`
	Mutates bool   `json:"mutates,omitempty"`
}

// JournalCondition is the evidence of a condition, as a journal records
// it: a summary of a [ConditionResult].
type JournalCondition struct {
	Phase     Phase  `json:"phase"`
	Condition string `json:"condition"`
	Status    Status `json:"status"`
	Expected  string `json:"expected,omitempty"`
	// Observed is the observed value, formatted, and cut to
	// maxObserved bytes.
	Observed string   `json:"observed,omitempty"`
	Unmet    []string `json:"unmet,omitempty"`
	Error    string   `json:"error,omitempty"`
	Polls    int      `json:"polls,omitempty"`
	WaitedMS int64    `json:"waited_ms,omitempty"`
}

// maxObserved bounds an observed value in a journal's evidence.
const maxObserved = 400

// evidence summarizes a condition's result.
func evidence(phase Phase, c ConditionResult) JournalCondition {
	jc := JournalCondition{Phase: phase, Condition: c.Condition, Status: c.Status, Expected: c.Expected,
		Unmet: c.Unmet, Error: c.Error, Polls: c.Polls, WaitedMS: c.Waited.Milliseconds()}
	if c.Observed != nil {
		jc.Observed = plan.Format(c.Observed)
		if len(jc.Observed) > maxObserved {
			cut := maxObserved
			for cut > 0 && !utf8.RuneStart(jc.Observed[cut]) {
				cut--
			}
			jc.Observed = jc.Observed[:cut] + "..."
		}
	}
	return jc
}

// describe fills a run record with what a change record needs: the
// runbook's title and steps, the params in clear (secrets redacted), the
// user and the host.
func (j *Journal) describe(rec *journalRecord, p *plan.Plan, params map[string]any, reg *actions.Registry) {
	rec.Title = j.red.String(p.Title)
	rec.Values = make(map[string]any, len(params))
	for k, v := range params {
		if prm := p.Param(k); prm != nil && prm.Secret {
			rec.Values[k] = Redacted
			continue
		}
		rec.Values[k] = j.red.Value(v)
	}
	rec.User, rec.Host = j.red.String(cmp.Or(j.user, currentUser())), j.red.String(cmp.Or(j.host, hostName()))
	steps := make(map[string]JournalStep, len(p.Steps))
	for _, s := range p.Steps {
		js := JournalStep{ID: s.ID, Title: j.red.String(s.Name()), Action: s.Action}
		if s.Action != "" && reg != nil {
			spec, _ := reg.Spec(actions.KindAction, s.Action)
			js.Mutates = spec.Mutates
		}
		rec.Steps = append(rec.Steps, js)
		steps[s.ID] = js
	}
	j.mu.Lock()
	j.steps = steps
	j.mu.Unlock()
}

// currentUser is the name of the user running this process, and the
// user who ran sudo, if so.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		if su := os.Getenv("SUDO_USER"); su != "" && su != u.Username {
			return u.Username + " (sudo by " + su + ")"
		}
		return u.Username
	}
	for _, k := range []string{"USER", "USERNAME", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}

// hostName is the name of this host.
func hostName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "unknown"
}

// summarize adds to a step.end record the step's reason, duration and
// evidence.
func (j *Journal) summarize(rec *journalRecord, sr *StepReport) {
	if sr == nil {
		return
	}
	rec.Reason = j.red.String(sr.Reason)
	rec.DurationMS = sr.Duration.Milliseconds()
	if sr.When != nil {
		rec.Evidence = append(rec.Evidence, j.redactEvidence(evidence(PhaseWhen, *sr.When)))
	}
	for _, c := range sr.Pre {
		rec.Evidence = append(rec.Evidence, j.redactEvidence(evidence(PhasePre, c)))
	}
	for _, c := range sr.Post {
		rec.Evidence = append(rec.Evidence, j.redactEvidence(evidence(PhasePost, c)))
	}
}

func (j *Journal) redactEvidence(c JournalCondition) JournalCondition {
	c.Condition, c.Expected, c.Observed, c.Error = j.red.String(c.Condition), j.red.String(c.Expected), j.red.String(c.Observed), j.red.String(c.Error)
	if c.Unmet != nil {
		c.Unmet = j.red.Value(c.Unmet).([]string)
	}
	return c
}

// observe records the events a change record draws and that the other
// records do not say: the start and end of each attempt of an action,
// and each condition that waited (was checked more than once). Its records are not synced; a failure to
// write one shows at the next synced record.
func (j *Journal) observe(e Event) {
	switch e.Kind {
	case AttemptStart:
		_ = j.write(journalRecord{Type: "attempt.start", Step: e.Step, Attempt: e.Attempt, Action: e.Message}, false)
	case AttemptEnd:
		_ = j.write(journalRecord{Type: "attempt.end", Step: e.Step, Attempt: e.Attempt, Action: e.Message,
			DurationMS: e.Elapsed.Milliseconds(), Error: j.red.String(e.Error)}, false)
	case ConditionEnd:
		if e.Condition == nil || e.Condition.Polls < 2 {
			return // checked once: no wait
		}
		c := j.redactEvidence(evidence(e.Phase, *e.Condition))
		_ = j.write(journalRecord{Type: "wait", Step: e.Step, Condition: &c, DurationMS: c.WaitedMS}, false)
	}
}

// Note appends an annotation to the journal, synced: key names it, value
// (anything encoding/json writes) says it, with the run's secrets
// redacted. A change record shows the notes; the CLI notes the
// simulator's verdict as "simulation". Note may be called once the run
// has ended, before Close.
func (j *Journal) Note(key string, value any) error {
	if key == "" {
		return errors.New("journal note: empty key")
	}
	rec := journalRecord{Type: "note", Key: key, Value: j.red.Value(plan.Normalize(value))}
	return j.write(rec, true)
}

// JournalLog is what a journal file holds, as [ReadJournal] read it.
type JournalLog struct {
	// Path is the file's name.
	Path string
	// Entries are its lines, in order; a truncated last line, left by a
	// crash in the middle of a write, is left out.
	Entries []JournalEntry
}

// ReadJournal reads the journal at path without locking or changing it
// (a run may be writing it): every line must chain as [OpenJournal]
// requires, else the error wraps ErrNotJournal or ErrJournalCorrupt (a
// [*JournalError] says which line). A missing or empty file is
// ErrNothingToResume.
func ReadJournal(path string) (*JournalLog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w: the journal does not exist", path, ErrNothingToResume)
		}
		return nil, fmt.Errorf("read journal: %w", err)
	}
	return ParseJournal(path, data)
}

// ParseJournal reads the lines of a journal, data, as ReadJournal reads
// a file's; name names it in errors. It reads the lines of a memory
// journal too (Journal.Bytes).
func ParseJournal(name string, data []byte) (*JournalLog, error) {
	path := name
	recs, _, _, err := parseJournal(data)
	if err != nil {
		var je *JournalError
		if errors.As(err, &je) {
			je.Path = path
			return nil, je
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: %w: the journal is empty", path, ErrNothingToResume)
	}
	for i := range recs {
		recs[i].Outputs = normalizeMap(recs[i].Outputs)
		recs[i].Vars = normalizeMap(recs[i].Vars)
		recs[i].Values = normalizeMap(recs[i].Values)
		if recs[i].Value != nil {
			recs[i].Value = plan.Normalize(recs[i].Value)
		}
	}
	return &JournalLog{Path: path, Entries: recs}, nil
}

// Redact returns s with every form of every secret (its JSON, URL and
// other encodings too) replaced by Redacted, as a run redacts what it
// writes: for tools that show, outside a run, what a server said.
func Redact(s string, secrets []string) string { return newRedactor(secrets).String(s) }

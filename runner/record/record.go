// Package record builds the change record of a run from its journal, and
// renders it as Markdown (for a change ticket), JSON (for tools) or one
// self-contained HTML page with a timeline of the steps, the waits and
// the runs of mutating actions.
//
// A record is built from the journal alone ([Read], [FromJournal]), so
// that the record written at the end of a run and the one rendered from
// its journal afterwards are the same. Secrets are redacted in the
// journal, and so in the record.
package record

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// Record is the change record of a run, resumes included. Times are from
// the run's clock; the zero time means unknown (a journal of format 3
// has no times, and a run still going has no end).
type Record struct {
	Runbook string `json:"runbook"`
	Title   string `json:"title,omitempty"`
	// SHA256 is the hex SHA-256 of the runbook's source.
	SHA256 string `json:"runbook_sha256"`
	// Format is the journal's format.
	Format string    `json:"journal_format"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Duration is End - Start, when both are known.
	Duration time.Duration `json:"-"`
	// User and Host ran the first run.
	User string `json:"user,omitempty"`
	Host string `json:"host,omitempty"`
	// Outcome is that of the last run; "" while it has not ended.
	Outcome runner.Outcome `json:"outcome"`
	Error   string         `json:"error,omitempty"`
	// Runs are the run and its resumes, in order.
	Runs []Run `json:"runs"`
	// Params are the run's params by name; a secret one is redacted.
	Params []Param `json:"params"`
	// Values are what the run kept: the vars its conditions saved and its
	// steps' outputs: version_before and version_after first, then the
	// other vars whose name says version (those that say before first),
	// then the other vars, then the outputs.
	Values []Value `json:"values"`
	// Backups are the files written by actions that output a file and its
	// sha256 (csm.backup).
	Backups []Backup `json:"backups"`
	Steps   []Step   `json:"steps"`
	// Notes are annotations appended to the journal, such as the
	// simulator's verdict ("simulation").
	Notes []Note `json:"notes"`
}

// Run is one run of the runbook: the first, or a resume.
type Run struct {
	Start   time.Time      `json:"start"`
	End     time.Time      `json:"end"`
	User    string         `json:"user,omitempty"`
	Host    string         `json:"host,omitempty"`
	Format  string         `json:"journal_format"`
	Outcome runner.Outcome `json:"outcome"`
	Error   string         `json:"error,omitempty"`
}

// Param is a param of the run.
type Param struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
	// Secret: the value is redacted.
	Secret bool `json:"secret,omitempty"`
}

// Value is a value the run kept: a saved var (Var set) or an output of a
// step's action (Step and Output set).
type Value struct {
	Name   string `json:"name"`
	Var    bool   `json:"var,omitempty"`
	Step   string `json:"step,omitempty"`
	Output string `json:"output,omitempty"`
	Value  any    `json:"value"`
}

// Backup is a file a step wrote, with its checksum.
type Backup struct {
	Step   string `json:"step"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size,omitempty"`
}

// Step is what the run did of a step.
type Step struct {
	ID      string `json:"id"`
	Title   string `json:"title,omitempty"`
	Action  string `json:"action,omitempty"`
	Mutates bool   `json:"mutates,omitempty"`
	// Outcome is the step's last outcome; NotRun when no run reached it,
	// "unfinished" when a run started it and recorded no end.
	Outcome runner.Outcome `json:"outcome"`
	Reason  string         `json:"reason,omitempty"`
	// Operator: the operator chose to skip the step (its reason says
	// "skipped by the operator").
	Operator   bool          `json:"skipped_by_operator,omitempty"`
	Start      time.Time     `json:"start"`
	End        time.Time     `json:"end"`
	Duration   time.Duration `json:"-"`
	Inspection string        `json:"inspection,omitempty"`
	Evidence   []Condition   `json:"evidence"`
	Attempts   []Attempt     `json:"attempts"`
	Waits      []Wait        `json:"waits"`
}

// Unfinished is the outcome of a step that a run started and recorded no
// end of: the run was interrupted or killed, or is still going.
const Unfinished runner.Outcome = "unfinished"

// Condition is the evidence of one condition.
type Condition = runner.JournalCondition

// Attempt is one run of a step's action.
type Attempt struct {
	N        int           `json:"n"`
	Action   string        `json:"action"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Duration time.Duration `json:"-"`
	Error    string        `json:"error,omitempty"`
	// Unfinished: no end was recorded.
	Unfinished bool `json:"unfinished,omitempty"`
}

// Wait is a condition that was polled until it held or its wait ended.
type Wait struct {
	Phase     runner.Phase  `json:"phase"`
	Condition string        `json:"condition"`
	Status    runner.Status `json:"status"`
	Start     time.Time     `json:"start"`
	End       time.Time     `json:"end"`
	Duration  time.Duration `json:"-"`
}

// Note is an annotation of the journal.
type Note struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// Read builds the record of the journal at path (see runner.ReadJournal).
func Read(path string) (*Record, error) {
	log, err := runner.ReadJournal(path)
	if err != nil {
		return nil, err
	}
	return FromJournal(log), nil
}

// FromJournal builds the record of a journal.
func FromJournal(log *runner.JournalLog) *Record {
	b := builder{rec: &Record{}, steps: map[string]*Step{}}
	for _, e := range log.Entries {
		b.add(e)
	}
	return b.finish()
}

// builder reads a journal's entries in order.
type builder struct {
	rec   *Record
	steps map[string]*Step
	order []string
	// pending is what the current run recorded of each step, kept once
	// its step.end says it ran (not "done earlier").
	pending map[string]*Step
	params  map[string]any
	secret  map[string]bool
	vars    map[string]any
	outputs map[string]map[string]any
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func (b *builder) step(id string) *Step {
	if s := b.steps[id]; s != nil {
		return s
	}
	s := &Step{ID: id, Title: id, Outcome: runner.NotRun}
	b.steps[id] = s
	b.order = append(b.order, id)
	return s
}

// current is what the current run has recorded of the step.
func (b *builder) current(id string) *Step {
	if p := b.pending[id]; p != nil {
		return p
	}
	b.step(id) // a format-3 run lists no steps: they appear as they run
	p := &Step{ID: id, Outcome: Unfinished}
	b.pending[id] = p
	return p
}

func (b *builder) add(e runner.JournalEntry) {
	t := parseTime(e.Time)
	r := b.rec
	switch e.Type {
	case "run":
		b.closeRun(time.Time{})
		b.pending = map[string]*Step{}
		r.Runs = append(r.Runs, Run{Start: t, User: e.User, Host: e.Host, Format: e.Format})
		if len(r.Runs) == 1 {
			r.Runbook, r.SHA256, r.Format, r.Start, r.User, r.Host = e.Runbook, e.Digest, e.Format, t, e.User, e.Host
		}
		r.Title = cmp.Or(e.Title, r.Title)
		for _, js := range e.Steps {
			s := b.step(js.ID)
			s.Title, s.Action, s.Mutates = cmp.Or(js.Title, js.ID), js.Action, js.Mutates
		}
		if e.Values != nil {
			b.params = e.Values
			b.secret = map[string]bool{}
			for k, v := range e.Values {
				b.secret[k] = v == runner.Redacted
			}
		} else if b.params == nil {
			// Format 3: the names only, their values were not written.
			b.params = map[string]any{}
			for k := range e.Params {
				b.params[k] = nil
			}
		}
	case "step.start", "action.start":
		p := b.current(e.Step)
		if e.Type == "step.start" {
			p.Start = t
		}
	case "attempt.start":
		p := b.current(e.Step)
		p.Attempts = append(p.Attempts, Attempt{N: e.Attempt, Action: e.Action, Start: t, Unfinished: true})
	case "attempt.end":
		p := b.current(e.Step)
		d := time.Duration(e.DurationMS) * time.Millisecond
		for i := len(p.Attempts) - 1; i >= 0; i-- {
			if a := &p.Attempts[i]; a.N == e.Attempt && a.Unfinished {
				a.End, a.Duration, a.Error, a.Unfinished = t, d, e.Error, false
				return
			}
		}
		p.Attempts = append(p.Attempts, Attempt{N: e.Attempt, Action: e.Action, Start: t.Add(-d), End: t, Duration: d, Error: e.Error})
	case "wait":
		p := b.current(e.Step)
		if e.Condition == nil {
			return
		}
		d := time.Duration(e.DurationMS) * time.Millisecond
		p.Waits = append(p.Waits, Wait{Phase: e.Condition.Phase, Condition: e.Condition.Condition, Status: e.Condition.Status,
			Start: t.Add(-d), End: t, Duration: d})
	case "inspect":
		b.current(e.Step).Inspection = e.Inspection
	case "step.end":
		p := b.current(e.Step)
		delete(b.pending, e.Step)
		b.keep(e.Step, e.Vars, e.Outputs)
		if e.Outcome == runner.Resumed {
			return // done earlier: what the earlier run recorded stands
		}
		s := b.step(e.Step)
		s.Outcome, s.Reason, s.Inspection = e.Outcome, e.Reason, p.Inspection
		s.Operator = strings.HasPrefix(e.Reason, "skipped by the operator")
		if s.Start.IsZero() {
			s.Start = p.Start
		}
		s.End = t
		s.Duration = time.Duration(e.DurationMS) * time.Millisecond
		s.Evidence = e.Evidence
		s.Attempts = append(s.Attempts, p.Attempts...)
		s.Waits = append(s.Waits, p.Waits...)
	case "note":
		r.Notes = append(r.Notes, Note{Key: e.Key, Value: e.Value})
	case "run.end":
		b.closeRun(t)
		run := &r.Runs[len(r.Runs)-1]
		run.End, run.Outcome, run.Error = t, e.Outcome, e.Error
	}
}

// keep remembers the vars and outputs a step.end records.
func (b *builder) keep(id string, vars, outputs map[string]any) {
	if b.vars == nil {
		b.vars, b.outputs = map[string]any{}, map[string]map[string]any{}
	}
	maps.Copy(b.vars, vars)
	if outputs != nil {
		b.outputs[id] = outputs
	}
}

// closeRun ends what the current run left unfinished: the steps it
// started without an end, and their attempts, end at the run's end (or,
// unknown, at the zero time).
func (b *builder) closeRun(end time.Time) {
	for _, id := range slices.Sorted(maps.Keys(b.pending)) {
		p := b.pending[id]
		s := b.step(id)
		s.Outcome, s.Reason = Unfinished, "the run stopped before the step ended"
		if s.Start.IsZero() {
			s.Start = p.Start
		}
		s.End = end
		if !end.IsZero() && !p.Start.IsZero() {
			s.Duration = end.Sub(p.Start)
		}
		for i := range p.Attempts {
			if a := &p.Attempts[i]; a.Unfinished && !end.IsZero() {
				a.End, a.Duration = end, end.Sub(a.Start)
			}
		}
		s.Attempts = append(s.Attempts, p.Attempts...)
		s.Waits = append(s.Waits, p.Waits...)
	}
	b.pending = map[string]*Step{}
}

func (b *builder) finish() *Record {
	r := b.rec
	if n := len(r.Runs); n > 0 {
		last := r.Runs[n-1]
		if last.End.IsZero() {
			b.closeRun(time.Time{})
		}
		r.End, r.Outcome, r.Error = last.End, last.Outcome, last.Error
	}
	if !r.Start.IsZero() && !r.End.IsZero() {
		r.Duration = r.End.Sub(r.Start)
	}
	for _, id := range b.order {
		r.Steps = append(r.Steps, *b.steps[id])
	}
	for _, k := range slices.Sorted(maps.Keys(b.params)) {
		r.Params = append(r.Params, Param{Name: k, Value: b.params[k], Secret: b.secret[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(b.vars)) {
		r.Values = append(r.Values, Value{Name: k, Var: true, Value: b.vars[k]})
	}
	for _, s := range r.Steps {
		out := b.outputs[s.ID]
		for _, k := range slices.Sorted(maps.Keys(out)) {
			r.Values = append(r.Values, Value{Name: s.ID + "." + k, Step: s.ID, Output: k, Value: out[k]})
		}
		if f, ok := out["file"].(string); ok {
			if sum, ok := out["sha256"].(string); ok {
				bk := Backup{Step: s.ID, File: f, SHA256: sum}
				if n, ok := out["size"].(int64); ok {
					bk.Size = n
				}
				r.Backups = append(r.Backups, bk)
			}
		}
	}
	first := func(v Value) int {
		switch {
		case v.Var && v.Name == "version_before":
			return 0
		case v.Var && v.Name == "version_after":
			return 1
		case v.Var && strings.Contains(v.Name, "version") && strings.Contains(v.Name, "before"):
			return 2
		case v.Var && strings.Contains(v.Name, "version"):
			return 3
		}
		return 4
	}
	slices.SortStableFunc(r.Values, func(a, b Value) int { return cmp.Compare(first(a), first(b)) })
	r.Params = nonNil(r.Params)
	r.Values = nonNil(r.Values)
	r.Backups = nonNil(r.Backups)
	r.Notes = nonNil(r.Notes)
	r.Runs = nonNil(r.Runs)
	r.Steps = nonNil(r.Steps)
	for i := range r.Steps {
		s := &r.Steps[i]
		s.Evidence, s.Attempts, s.Waits = nonNil(s.Evidence), nonNil(s.Attempts), nonNil(s.Waits)
	}
	return r
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Note returns the value of the last note with the key, and whether
// there is one.
func (r *Record) Note(key string) (any, bool) {
	for i := len(r.Notes) - 1; i >= 0; i-- {
		if r.Notes[i].Key == key {
			return r.Notes[i].Value, true
		}
	}
	return nil, false
}

// Done reports whether the step needs no more work: it succeeded, was
// skipped, or was done in an earlier run.
func (s *Step) Done() bool {
	return s.Outcome == runner.Succeeded || s.Outcome == runner.Skipped || s.Outcome == runner.Resumed
}

// Next returns the first step that is not done, or nil when all are.
func (r *Record) Next() *Step {
	for i := range r.Steps {
		if !r.Steps[i].Done() {
			return &r.Steps[i]
		}
	}
	return nil
}

// Format names a rendering of a record.
type Format string

// The formats of a record.
const (
	Markdown Format = "md"
	JSON     Format = "json"
	HTML     Format = "html"
)

// FormatOf returns the format named by a file's extension (.md,
// .markdown, .json, .html, .htm), or false.
func FormatOf(filename string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".md", ".markdown":
		return Markdown, true
	case ".json":
		return JSON, true
	case ".html", ".htm":
		return HTML, true
	}
	return "", false
}

// ParseFormat returns the format named md (or markdown), json or html.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "md", "markdown":
		return Markdown, nil
	case "json":
		return JSON, nil
	case "html":
		return HTML, nil
	}
	return "", fmt.Errorf("unknown record format %q: want md, json or html", s)
}

// Write renders the record in the format.
func (r *Record) Write(w io.Writer, f Format) error {
	switch f {
	case Markdown:
		return r.WriteMarkdown(w)
	case JSON:
		return r.WriteJSON(w)
	case HTML:
		return r.WriteHTML(w)
	}
	return fmt.Errorf("unknown record format %q: want md, json or html", string(f))
}

// WriteJSON writes the record as one indented JSON document: snake_case
// keys, times in RFC 3339 (UTC, "" when unknown), durations in
// milliseconds (keys ending _ms).
func (r *Record) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// ts formats a time as a record's JSON does: RFC 3339 in UTC, "" when
// unknown.
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(runner.TimeLayout)
}

// MarshalJSON writes the record's times in RFC 3339 and its duration in
// milliseconds.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	return json.Marshal(struct {
		plain
		Start      string `json:"start"`
		End        string `json:"end"`
		DurationMS int64  `json:"duration_ms"`
	}{plain(r), ts(r.Start), ts(r.End), r.Duration.Milliseconds()})
}

// MarshalJSON writes the run's times in RFC 3339.
func (r Run) MarshalJSON() ([]byte, error) {
	type plain Run
	return json.Marshal(struct {
		plain
		Start string `json:"start"`
		End   string `json:"end"`
	}{plain(r), ts(r.Start), ts(r.End)})
}

// MarshalJSON writes the step's times in RFC 3339 and its duration in
// milliseconds.
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		plain
		Start      string `json:"start"`
		End        string `json:"end"`
		DurationMS int64  `json:"duration_ms"`
	}{plain(s), ts(s.Start), ts(s.End), s.Duration.Milliseconds()})
}

// MarshalJSON writes the attempt's times in RFC 3339 and its duration in
// milliseconds.
func (a Attempt) MarshalJSON() ([]byte, error) {
	type plain Attempt
	return json.Marshal(struct {
		plain
		Start      string `json:"start"`
		End        string `json:"end"`
		DurationMS int64  `json:"duration_ms"`
	}{plain(a), ts(a.Start), ts(a.End), a.Duration.Milliseconds()})
}

// MarshalJSON writes the wait's times in RFC 3339 and its duration in
// milliseconds.
func (w Wait) MarshalJSON() ([]byte, error) {
	type plain Wait
	return json.Marshal(struct {
		plain
		Start      string `json:"start"`
		End        string `json:"end"`
		DurationMS int64  `json:"duration_ms"`
	}{plain(w), ts(w.Start), ts(w.End), w.Duration.Milliseconds()})
}

// Complete adds the steps of the runbook that the record does not list,
// as not run, in the runbook's order: a journal of format 3 names only
// the steps its runs reached. The runbook should be the journal's (see
// SHA256).
func (r *Record) Complete(p *plan.Plan) {
	have := make(map[string]Step, len(r.Steps))
	for _, s := range r.Steps {
		have[s.ID] = s
	}
	steps := make([]Step, 0, len(p.Steps))
	for _, ps := range p.Steps {
		s, ok := have[ps.ID]
		if !ok {
			s = Step{ID: ps.ID, Outcome: runner.NotRun, Evidence: []Condition{}, Attempts: []Attempt{}, Waits: []Wait{}}
		}
		if s.Title == "" || s.Title == s.ID {
			s.Title = ps.Name()
		}
		if s.Action == "" {
			s.Action = ps.Action
		}
		steps = append(steps, s)
		delete(have, ps.ID)
	}
	for _, s := range r.Steps { // steps the runbook no longer has
		if _, ok := have[s.ID]; ok {
			steps = append(steps, s)
		}
	}
	r.Steps = steps
}

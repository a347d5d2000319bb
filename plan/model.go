package plan

import (
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/csmplan/csmplan/actions"
)

// APIVersion is the runbook format version this package reads.
const APIVersion = "csmplan/v1"

// Pos is a 1-based position in a runbook file. The zero Pos is unknown.
type Pos struct {
	Line, Column int
}

// String returns "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Column) }

// IsValid reports whether the position is known.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Plan is a loaded runbook.
type Plan struct {
	// Filename is the name given to Parse, used in messages.
	Filename    string
	APIVersion  string
	Kind        string
	Name        string
	Title       string
	Description string
	// Params are the inputs bound at run time, in source order.
	Params []*Param
	// Targets are the named endpoints steps refer to, in source order.
	Targets  []*Target
	Defaults Defaults
	Steps    []*Step
	// Source is the runbook text, for code frames and for identifying the
	// runbook in a journal.
	Source []byte

	registry *actions.Registry
}

// Registry returns the registry the plan was checked against when it was
// loaded (see [WithRegistry]; [actions.Default] unless told otherwise), or
// nil for a plan that was not loaded by [Parse], [ParseFile] or [ParseFS].
// The runner runs the plan against it: a plan checked against one registry
// runs against that registry, and a run given another one is refused if
// it lacks anything the plan uses.
func (p *Plan) Registry() *actions.Registry { return p.registry }

// Param returns the param named name, or nil.
func (p *Plan) Param(name string) *Param {
	for _, prm := range p.Params {
		if prm.Name == name {
			return prm
		}
	}
	return nil
}

// Step returns the step with the id, or nil.
func (p *Plan) Step(id string) *Step {
	for _, s := range p.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// ParamType is the declared type of a param.
type ParamType string

// The param types.
const (
	TypeString   ParamType = "string"
	TypeInteger  ParamType = "integer"
	TypeNumber   ParamType = "number"
	TypeBoolean  ParamType = "boolean"
	TypeDuration ParamType = "duration"
	TypeList     ParamType = "list"
	TypeObject   ParamType = "object"
)

// Param is an input of a runbook, bound at run time.
type Param struct {
	Name        string
	Type        ParamType // TypeString when not given
	Description string
	Required    bool
	// Secret params are redacted from every event, report, journal and error.
	// They are never written to a journal, so they may change on resume.
	Secret bool
	// ChangeableOnResume (YAML changeable_on_resume, default false) lets a
	// resumed run give the param another value than the journal's run:
	// for connection settings (a CA file, a certificate fingerprint, an SSH
	// key) and timeouts, which an operator may need to change to finish a
	// run. Params that say what the run acts on (hosts, versions, the
	// installer) must not set it: a resume refuses any other changed param.
	ChangeableOnResume bool
	// Default is used when the param is not given; HasDefault tells a nil
	// default from none.
	Default    any
	HasDefault bool
	Enum       []any
	// Pattern, when set, must match a string param's value.
	Pattern *regexp.Regexp
	Pos     Pos
}

// Target is a named endpoint, such as a CSM server. Its fields (host, port,
// username, ...) may hold references; actions receive them resolved.
type Target struct {
	Name   string
	Fields *Value
	Pos    Pos
}

// FailurePolicy says what a failed step does to the run.
type FailurePolicy string

// The failure policies. The zero value means the runbook's default, and
// Abort when there is none.
const (
	Abort    FailurePolicy = "abort"
	Continue FailurePolicy = "continue"
	Rollback FailurePolicy = "rollback"
)

// Defaults apply to every step that does not say otherwise.
type Defaults struct {
	// Timeout bounds each attempt of a step's action. Zero: no timeout.
	Timeout Duration
	// Interval is the poll interval of waits that give only a timeout.
	// Zero: the runner's default (10s).
	Interval Duration
	// Retry is the retry policy of actions. Nil: one attempt.
	Retry *Retry
	// OnFailure is the failure policy. Empty: abort.
	OnFailure FailurePolicy
}

// Duration is a duration in a runbook: a literal ("30s", "1h30m") or a
// reference to a param, resolved at run time.
type Duration struct {
	D   time.Duration
	Ref *Value // set when the duration is a reference
	Pos Pos
}

// IsSet reports whether the duration was given.
func (d Duration) IsSet() bool { return d.Pos.IsValid() }

// Retry is the retry policy of an action.
type Retry struct {
	// Attempts is the total number of attempts, the first included. Zero
	// means 1.
	Attempts int
	// Interval is the wait before the second attempt. Zero: retry at once.
	Interval Duration
	// Backoff multiplies the interval after each attempt. Zero means 1.
	Backoff float64
	// MaxInterval caps the interval. Zero: no cap.
	MaxInterval Duration
	Pos         Pos
}

// Step is one step of a runbook.
type Step struct {
	ID    string
	Title string
	Doc   string
	// State is a sentence that holds once the step has succeeded, such as
	// "the secondary is now the active server": after a failed or
	// interrupted run, the state of the last step that succeeded says
	// where the system stands. Optional.
	State string
	// When, if not nil, must hold for the step to run; otherwise it is
	// skipped. A bare reference or boolean is a condition without expect.
	When *Condition
	Pre  []*Condition
	// Action is the registered name of the action; empty for a step of
	// checks only.
	Action string
	With   *Value
	// Timeout bounds each attempt of the action.
	Timeout Duration
	Retry   *Retry
	Post    []*Condition
	Undo    *Undo
	// OnFailure is the step's failure policy; empty means the default.
	OnFailure FailurePolicy
	// Index is the 0-based position of the step in the runbook.
	Index int
	// Pos is the position of the step's mapping, ActionPos of its action.
	Pos       Pos
	ActionPos Pos
}

// Name returns the title of the step, or its id when it has none.
func (s *Step) Name() string {
	if s.Title != "" {
		return s.Title
	}
	return s.ID
}

// Undo is the compensation of a step, run by a rollback.
type Undo struct {
	Action  string
	With    *Value
	Timeout Duration
	Pos     Pos
}

// Condition is a check: a subject (a probe with its arguments, or a value)
// and an expectation. Without Expect, the subject must be true.
type Condition struct {
	// Title says how the condition reads to a person; may be empty.
	Title string
	Probe string
	// ProbePos is the position of the probe's name.
	ProbePos Pos
	With     *Value
	// Value is the subject when there is no probe.
	Value  *Value
	Expect *Expect
	// Wait, when set, polls the condition until it holds or times out.
	Wait *Wait
	// Save keeps the observation as ${vars.NAME}.
	Save string
	Pos  Pos

	descOnce sync.Once
	desc     string
}

// Wait polls a condition.
type Wait struct {
	Timeout  Duration
	Interval Duration
	Pos      Pos
}

// Expect is a set of matchers that must all hold, applied to the subject at
// Path.
type Expect struct {
	Path Path
	// As, when set, says how to read the observed value and the operands
	// before the matchers compare them. "version": as code levels, so that
	// 6.3.11 equals 6.3.11.0 and a build suffix (6.3.11.0-b7) is ignored
	// (see [actions.ParseLevel]); equals, not_equals, in, not_in, gt, gte,
	// lt and lte then compare levels.
	As       string
	Matchers []*Matcher
	Pos      Pos

	descOnce sync.Once
	desc     string
}

// Matcher is one matcher of an expectation, such as equals or gte.
type Matcher struct {
	// Op is the key in the runbook: equals, not_equals, in, not_in,
	// contains, matches, gt, gte, lt, lte, empty, all, any, none.
	Op string
	// Arg is the matcher's operand; nil for all, any and none.
	Arg *Value
	// Regexp is the compiled pattern of matches.
	Regexp *regexp.Regexp
	// Nested is the expectation of all, any and none.
	Nested *Expect
	Pos    Pos
}

// Matcher operators.
var matcherOps = []string{"equals", "not_equals", "in", "not_in", "contains", "matches",
	"gt", "gte", "lt", "lte", "empty", "all", "any", "none"}

package actions

import (
	"context"
	"errors"
	"fmt"
)

// Outputs are the named results of an action or the observation of a probe.
// Values are JSON-like: nil, bool, int64, float64, string, []any and
// map[string]any.
type Outputs = map[string]any

// Action does one thing to the world. Run must honour ctx: when ctx is done it
// returns promptly with an error wrapping ctx.Err().
type Action interface {
	Run(ctx context.Context, call *Call) (Outputs, error)
}

// Probe observes the world without changing it. Probes are read-only by
// contract: the dry run calls them for real.
type Probe interface {
	Observe(ctx context.Context, call *Call) (any, error)
}

// ActionFunc adapts a function to [Action].
type ActionFunc func(ctx context.Context, call *Call) (Outputs, error)

// Run calls f.
func (f ActionFunc) Run(ctx context.Context, call *Call) (Outputs, error) { return f(ctx, call) }

// ProbeFunc adapts a function to [Probe].
type ProbeFunc func(ctx context.Context, call *Call) (any, error)

// Observe calls f.
func (f ProbeFunc) Observe(ctx context.Context, call *Call) (any, error) { return f(ctx, call) }

// Validator is an optional ability of an [Action] or [Probe]: checks of the
// arguments beyond their JSON Schema. It runs when a step starts, before Run,
// and must not touch the world.
type Validator interface {
	Validate(args map[string]any) error
}

// Call is one invocation of an action or probe.
type Call struct {
	// Step is the id of the step the call belongs to.
	Step string
	// Name is the registered name of the action or probe.
	Name string
	// Args are the step's `with:` arguments, references resolved. Secret
	// values are present in clear here: never log them yourself, use Log.
	Args map[string]any
	// Targets are the runbook's targets, references resolved, by name.
	Targets map[string]map[string]any
	// TargetSources are the runbook's targets as written, references left
	// as their text (such as {"fingerprint": "${params.primary_fingerprint}"}),
	// by name: for messages that tell the user which param to change. May
	// be nil.
	TargetSources map[string]map[string]any
	// Clock is the clock to wait on. Never nil when called by the runner.
	Clock Clock
	// Attempt is the 1-based attempt number of an action (1 for probes).
	Attempt int
	// Log, when not nil, reports a progress message to the run's observers;
	// secrets are redacted before anyone sees it.
	Log func(msg string)
	// Progress, when not nil, reports how an action that takes long is
	// getting on (such as "still waiting for the server to answer: 2m of
	// 45m"): a passing status that a display may redraw in place, and that
	// the next one replaces. Secrets are redacted as for Log.
	Progress func(msg string)
	// Approver answers the approval requests of manual steps. Nil means no
	// one can approve: a manual step then fails.
	Approver Approver
}

// String returns the required string argument name: [StringArg] of c.Args.
func (c *Call) String(name string) (string, error) { return StringArg(c.Args, name) }

// Target returns the target named by the argument name (usually "target").
func (c *Call) Target(arg string) (string, map[string]any, error) {
	name, err := c.String(arg)
	if err != nil {
		return "", nil, err
	}
	t, ok := c.Targets[name]
	if !ok {
		return name, nil, fmt.Errorf("argument %q: no target named %q in the runbook", arg, name)
	}
	return name, t, nil
}

// TargetSource returns how the runbook writes the field of the target
// name, such as "${params.primary_fingerprint}", or "" when unknown.
func (c *Call) TargetSource(name, field string) string {
	if c == nil {
		return ""
	}
	s, _ := c.TargetSources[name][field].(string)
	return s
}

// Logf reports a progress message through c.Log when it is set.
func (c *Call) Logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(fmt.Sprintf(format, args...))
	}
}

// Progressf reports a passing status through c.Progress, or through c.Log
// when only that is set.
func (c *Call) Progressf(format string, args ...any) {
	switch {
	case c.Progress != nil:
		c.Progress(fmt.Sprintf(format, args...))
	case c.Log != nil:
		c.Log(fmt.Sprintf(format, args...))
	}
}

// ErrPermanent marks an error that retrying cannot fix. Test for it with
// errors.Is; create such errors with [Permanent].
var ErrPermanent = errors.New("permanent failure")

type permanentError struct{ err error }

func (e *permanentError) Error() string        { return e.err.Error() }
func (e *permanentError) Unwrap() []error      { return []error{e.err, ErrPermanent} }
func (e *permanentError) Is(target error) bool { return target == ErrPermanent }

// Permanent wraps err so that the runner does not retry it. It returns nil
// for a nil err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, is permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

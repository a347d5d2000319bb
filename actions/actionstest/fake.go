package actionstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
)

// AnyArgs is the argument schema of a fake made without a spec: any object.
var AnyArgs = json.RawMessage(`{"type":"object"}`)

// Result is how a fake answers one call. The zero Result succeeds with no
// outputs (an action) or observes nil (a probe).
type Result struct {
	// Outputs are what an action returns. A probe whose Value is nil
	// observes Outputs instead, as a map[string]any, when they are not nil.
	Outputs actions.Outputs
	// Value is what a probe observes.
	Value any
	// Err is the error returned. Outputs or Value are returned with it.
	Err error
	// Delay is slept on the call's clock before answering, honouring ctx:
	// when ctx is done first, the call returns an error wrapping ctx.Err().
	Delay time.Duration
	// Panic, when not nil, is the value the call panics with (after Delay).
	Panic any
	// Count is how many consecutive calls this result answers; zero means
	// one.
	Count int
	// Func, when not nil, computes the answer from the call (after Delay),
	// in place of Outputs, Value and Err: what an action returns (nil or
	// an [actions.Outputs]) or what a probe observes. See [Answers].
	Func func(call *actions.Call) (any, error)
}

// Succeeds returns a Result of an action that returns out.
func Succeeds(out actions.Outputs) Result { return Result{Outputs: out} }

// Returns returns a Result of a probe that observes v.
func Returns(v any) Result { return Result{Value: v} }

// Fails returns a Result that returns err.
func Fails(err error) Result { return Result{Err: err} }

// Panics returns a Result that panics with v.
func Panics(v any) Result { return Result{Panic: v} }

// Answers returns a Result whose answer f computes from each call it
// answers: for an action, outputs (nil or an [actions.Outputs]) and an
// error; for a probe, the observation and an error. It is the way to a fake
// with state, such as a server whose role a takeover changes; f runs
// under no lock of the fake, and what it returns is copied.
func Answers(f func(call *actions.Call) (any, error)) Result { return Result{Func: f} }

// After returns r answering only after d has passed on the call's clock.
func (r Result) After(d time.Duration) Result {
	r.Delay = d
	return r
}

// Times returns r answering n consecutive calls.
func (r Result) Times(n int) Result {
	r.Count = n
	return r
}

// Call is one call of a fake, as noted by a [Recorder].
type Call struct {
	Kind    actions.Kind
	Name    string
	Step    string
	Args    map[string]any // a deep copy of the call's arguments
	Attempt int
	At      time.Time // the time of the call's clock when it was made; zero without one
}

// String returns a short description such as "step takeover: action
// csm.takeover (attempt 2)".
func (c Call) String() string {
	s := fmt.Sprintf("step %s: %s %s", c.Step, c.Kind, c.Name)
	if c.Kind == actions.KindAction {
		s += fmt.Sprintf(" (attempt %d)", c.Attempt)
	}
	return s
}

// Recorder notes the calls of the fakes that share it, in order. The zero
// value is ready to use; a Recorder is safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	calls []Call
}

func (r *Recorder) record(c Call) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

// Calls returns a copy of the calls noted so far, in order. Their Args are
// copies too: changing them changes neither the record nor the call.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, len(r.calls))
	for i, c := range r.calls {
		c.Args, _ = deepCopy(c.Args).(map[string]any)
		out[i] = c
	}
	return out
}

// CallsTo returns the calls noted so far, in order, of the fakes named
// name (of either kind; every name when name is empty) whose arguments
// match args (see [Args]; nil matches every call):
//
//	kit.Recorder.CallsTo("csm.install", actionstest.Args{"target": "primary"})
func (r *Recorder) CallsTo(name string, args Args) []Call {
	var out []Call
	for _, c := range r.Calls() {
		if (name == "" || c.Name == name) && args.Match(c.Args) {
			out = append(out, c)
		}
	}
	return out
}

// Names returns the names of the calls noted so far, in order, each
// prefixed by its kind's initial: "p:csm.ha", "a:csm.takeover". It makes
// the order of a run easy to compare.
func (r *Recorder) Names() []string {
	calls := r.Calls()
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = string(c.Kind[0]) + ":" + c.Name
	}
	return out
}

// Reset forgets the calls noted so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// Errors of the calls a fake refuses, besides the errors its script
// returns; test with errors.Is. Both are permanent ([actions.ErrPermanent]):
// retrying a step cannot fix the test's script.
var (
	// ErrUnmatched: a fake with matchers (see [FakeAction.On]) was called
	// with arguments that none of them matches, and it has no results
	// for the other calls.
	ErrUnmatched = errors.New("no matcher answers the call")
	// ErrArgsRefused: a fake made from a real spec (see [WithSpecs]) was
	// called with arguments that the real action or probe refuses.
	ErrArgsRefused = errors.New("arguments refused by the real spec")
)

// answers is a list of results answered in call order; the last repeats.
type answers struct {
	results []Result
	n       int
}

func newAnswers(results []Result) answers {
	var expanded []Result
	for _, r := range results {
		for range max(r.Count, 1) {
			expanded = append(expanded, r)
		}
	}
	return answers{results: expanded}
}

// next returns the result of the next call; guarded by the script's mu.
func (a *answers) next() Result {
	n := a.n
	a.n++
	if len(a.results) == 0 {
		return Result{}
	}
	return a.results[min(n, len(a.results)-1)]
}

// rule is one matcher of a fake and the results of the calls it matches.
type rule struct {
	args Args
	answers
}

// script answers calls: by the first rule whose arguments match, else from
// the results the fake was made with.
type script struct {
	spec     actions.Spec
	mu       sync.Mutex
	base     answers // the results the fake was made with
	hasBase  bool    // results were given: they answer the calls no rule matches
	rules    []*rule
	calls    int
	recorder *Recorder
	check    *argCheck  // nil: the arguments are not checked
	t        testing.TB // nil: mistakes of the script are only returned
}

func newScript(spec actions.Spec, results []Result) *script {
	if len(spec.Args) == 0 {
		spec.Args = AnyArgs
	}
	if spec.Summary == "" {
		spec.Summary = "fake " + spec.Name
	}
	return &script{spec: spec, base: newAnswers(results), hasBase: len(results) > 0}
}

func (s *script) on(args Args, results []Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &rule{args: copyArgs(args), answers: newAnswers(results)})
}

// copyArgs copies a matcher, so that changing the caller's map later does
// not change what the fake matches.
func copyArgs(a Args) Args {
	out := make(Args, len(a))
	for k, v := range a {
		out[k] = deepCopy(jsonish(v))
	}
	return out
}

// next notes the call and returns the result that answers it, or the error
// of a call the script refuses (arguments the real spec refuses, or no
// matcher for them).
func (s *script) next(kind actions.Kind, call *actions.Call) (Result, error) {
	c := Call{Kind: kind, Name: s.spec.Name}
	if call != nil {
		c.Step, c.Attempt = call.Step, call.Attempt
		c.Args, _ = deepCopy(call.Args).(map[string]any)
		if call.Clock != nil {
			c.At = call.Clock.Now()
		}
	}
	s.mu.Lock()
	s.calls++
	rec, check, t := s.recorder, s.check, s.t
	s.mu.Unlock()
	rec.record(c)

	if check != nil {
		if err := check.check(c.Args); err != nil {
			return Result{}, s.refuse(t, c, fmt.Errorf("%w: %w; the call's arguments: %s", ErrArgsRefused, err, showValue(c.Args)))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules {
		if r.args.Match(c.Args) {
			return r.next(), nil
		}
	}
	if len(s.rules) > 0 && !s.hasBase {
		matchers := make([]string, len(s.rules))
		for i, r := range s.rules {
			matchers[i] = r.args.String()
		}
		err := fmt.Errorf("%w: its arguments are %s; the matchers are %s", ErrUnmatched, showValue(c.Args), strings.Join(matchers, ", "))
		return Result{}, s.refuse(t, c, err)
	}
	return s.base.next(), nil
}

// refuse returns err as a permanent error that names the fake and the
// step, and reports it to t when the fake has one.
func (s *script) refuse(t testing.TB, c Call, err error) error {
	err = actions.Permanent(fmt.Errorf("fake %s %s (step %s): %w", c.Kind, s.spec.Name, c.Step, err))
	if t != nil {
		t.Helper()
		t.Errorf("%v", err)
	}
	return err
}

// wait honours ctx and sleeps the result's delay, then panics if asked to.
func (r Result) wait(ctx context.Context, call *actions.Call) error {
	if err := actions.ContextError(ctx); err != nil {
		return err
	}
	if r.Delay > 0 {
		var clock actions.Clock = actions.RealClock{}
		if call != nil && call.Clock != nil {
			clock = call.Clock
		}
		if err := clock.Sleep(ctx, r.Delay); err != nil {
			if ctx.Err() != nil {
				return actions.ContextError(ctx)
			}
			return err
		}
	}
	if r.Panic != nil {
		panic(r.Panic)
	}
	return nil
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *script) setRecorder(r *Recorder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorder = r
}

func (s *script) setCheck(check *argCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.check = check
}

func (s *script) setTest(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t = t
}

// FakeAction is an [actions.Action] that answers each call from a script of
// [Result]s, or, with matchers ([FakeAction.On]), from the script of the
// first matcher that matches the call's arguments. It is safe for
// concurrent use.
type FakeAction struct{ s *script }

var _ actions.Action = (*FakeAction)(nil)

// NewFakeAction returns a fake action with the spec and the script of
// results; the last result repeats, and without results every call succeeds
// with no outputs. An empty spec.Args means any object; an empty Summary is
// filled in.
func NewFakeAction(spec actions.Spec, results ...Result) *FakeAction {
	return &FakeAction{s: newScript(spec, results)}
}

// On makes the fake answer the calls whose arguments match args (see
// [Args]) from results, in call order (the last repeats; Times and After
// work as everywhere), and returns f. Matchers are tried in the order they
// were added; the first that matches answers. A call that no matcher
// matches is answered by the results the fake was made with, when it was
// made with some; otherwise it fails with an error wrapping [ErrUnmatched]
// that shows its arguments and the matchers (and fails the kit's test, see
// [WithTest]).
//
//	kit.Action("csm.takeover").
//		On(actionstest.Args{"target": "secondary"}, actionstest.Succeeds(actions.Outputs{"msg": "IWNR3063I"})).
//		On(actionstest.Args{"target": "primary"}, actionstest.Fails(errors.New("IWNR9013E")))
func (f *FakeAction) On(args Args, results ...Result) *FakeAction {
	f.s.on(args, results)
	return f
}

// Spec returns the fake's spec.
func (f *FakeAction) Spec() actions.Spec { return f.s.spec }

// Calls returns how many times the fake was called.
func (f *FakeAction) Calls() int { return f.s.count() }

// RecordTo makes the fake note its calls in r, and returns f.
func (f *FakeAction) RecordTo(r *Recorder) *FakeAction {
	f.s.setRecorder(r)
	return f
}

// Register registers the fake into r; every construction returns f itself,
// so that its script goes on across steps.
func (f *FakeAction) Register(r *actions.Registry) error {
	return r.RegisterAction(f.s.spec, func() actions.Action { return f })
}

// Run answers with the next result of the script.
func (f *FakeAction) Run(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
	r, err := f.s.next(actions.KindAction, call)
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, call); err != nil {
		return nil, fmt.Errorf("fake action %s: %w", f.s.spec.Name, err)
	}
	if r.Func != nil {
		v, err := r.Func(call)
		if v == nil {
			return nil, err
		}
		out, ok := v.(map[string]any)
		if !ok {
			return nil, actions.Permanent(fmt.Errorf("fake action %s: Answers returned %T, want actions.Outputs", f.s.spec.Name, v))
		}
		out, _ = deepCopy(out).(actions.Outputs)
		return out, err
	}
	out, _ := deepCopy(r.Outputs).(actions.Outputs)
	return out, r.Err
}

// FakeProbe is an [actions.Probe] that answers each call from a script of
// [Result]s, or, with matchers ([FakeProbe.On]), from the script of the
// first matcher that matches the call's arguments. It is safe for
// concurrent use.
type FakeProbe struct{ s *script }

var _ actions.Probe = (*FakeProbe)(nil)

// NewFakeProbe returns a fake probe with the spec and the script of
// results; the last result repeats, and without results every call observes
// nil. An empty spec.Args means any object; an empty Summary is filled in.
// spec.Mutates must be false.
func NewFakeProbe(spec actions.Spec, results ...Result) *FakeProbe {
	return &FakeProbe{s: newScript(spec, results)}
}

// On makes the fake answer the calls whose arguments match args (see
// [Args]) from results, and returns f; see [FakeAction.On].
//
//	kit.Probe("csm.ha").
//		On(actionstest.Args{"target": "primary"}, actionstest.Returns(map[string]any{"role": "Active"})).
//		On(actionstest.Args{"target": "secondary"}, actionstest.Returns(map[string]any{"role": "Standby"}))
func (f *FakeProbe) On(args Args, results ...Result) *FakeProbe {
	f.s.on(args, results)
	return f
}

// Spec returns the fake's spec.
func (f *FakeProbe) Spec() actions.Spec { return f.s.spec }

// Calls returns how many times the fake was called.
func (f *FakeProbe) Calls() int { return f.s.count() }

// RecordTo makes the fake note its calls in r, and returns f.
func (f *FakeProbe) RecordTo(r *Recorder) *FakeProbe {
	f.s.setRecorder(r)
	return f
}

// Register registers the fake into r; every construction returns f itself,
// so that its script goes on across observations.
func (f *FakeProbe) Register(r *actions.Registry) error {
	return r.RegisterProbe(f.s.spec, func() actions.Probe { return f })
}

// Observe answers with the next result of the script.
func (f *FakeProbe) Observe(ctx context.Context, call *actions.Call) (any, error) {
	r, err := f.s.next(actions.KindProbe, call)
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, call); err != nil {
		return nil, fmt.Errorf("fake probe %s: %w", f.s.spec.Name, err)
	}
	if r.Func != nil {
		v, err := r.Func(call)
		return deepCopy(v), err
	}
	v := r.Value
	if v == nil && r.Outputs != nil {
		v = map[string]any(r.Outputs)
	}
	return deepCopy(v), r.Err
}

// deepCopy copies the maps and slices of a JSON-like value, so that whoever
// receives it cannot change a script or a record.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	}
	return v
}

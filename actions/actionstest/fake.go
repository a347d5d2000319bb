package actionstest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
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
}

// Succeeds returns a Result of an action that returns out.
func Succeeds(out actions.Outputs) Result { return Result{Outputs: out} }

// Returns returns a Result of a probe that observes v.
func Returns(v any) Result { return Result{Value: v} }

// Fails returns a Result that returns err.
func Fails(err error) Result { return Result{Err: err} }

// Panics returns a Result that panics with v.
func Panics(v any) Result { return Result{Panic: v} }

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

// Calls returns a copy of the calls noted so far, in order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
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

// script answers calls from a list of results; the last one repeats.
type script struct {
	spec     actions.Spec
	mu       sync.Mutex
	results  []Result
	calls    int
	recorder *Recorder
}

func newScript(spec actions.Spec, results []Result) *script {
	if len(spec.Args) == 0 {
		spec.Args = AnyArgs
	}
	if spec.Summary == "" {
		spec.Summary = "fake " + spec.Name
	}
	var expanded []Result
	for _, r := range results {
		for range max(r.Count, 1) {
			expanded = append(expanded, r)
		}
	}
	return &script{spec: spec, results: expanded}
}

// next returns the result of the next call and notes the call.
func (s *script) next(kind actions.Kind, call *actions.Call) Result {
	s.mu.Lock()
	n := s.calls
	s.calls++
	var r Result
	if len(s.results) > 0 {
		r = s.results[min(n, len(s.results)-1)]
	}
	rec := s.recorder
	s.mu.Unlock()
	c := Call{Kind: kind, Name: s.spec.Name}
	if call != nil {
		c.Step, c.Attempt = call.Step, call.Attempt
		c.Args = deepCopy(call.Args).(map[string]any)
		if call.Clock != nil {
			c.At = call.Clock.Now()
		}
	}
	rec.record(c)
	return r
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

// FakeAction is an [actions.Action] that answers each call from a script of
// [Result]s. It is safe for concurrent use.
type FakeAction struct{ s *script }

var _ actions.Action = (*FakeAction)(nil)

// NewFakeAction returns a fake action with the spec and the script of
// results; the last result repeats, and without results every call succeeds
// with no outputs. An empty spec.Args means any object; an empty Summary is
// filled in.
func NewFakeAction(spec actions.Spec, results ...Result) *FakeAction {
	return &FakeAction{s: newScript(spec, results)}
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
	r := f.s.next(actions.KindAction, call)
	if err := r.wait(ctx, call); err != nil {
		return nil, fmt.Errorf("fake action %s: %w", f.s.spec.Name, err)
	}
	out, _ := deepCopy(r.Outputs).(actions.Outputs)
	return out, r.Err
}

// FakeProbe is an [actions.Probe] that answers each call from a script of
// [Result]s. It is safe for concurrent use.
type FakeProbe struct{ s *script }

var _ actions.Probe = (*FakeProbe)(nil)

// NewFakeProbe returns a fake probe with the spec and the script of
// results; the last result repeats, and without results every call observes
// nil. An empty spec.Args means any object; an empty Summary is filled in.
// spec.Mutates must be false.
func NewFakeProbe(spec actions.Spec, results ...Result) *FakeProbe {
	return &FakeProbe{s: newScript(spec, results)}
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
	r := f.s.next(actions.KindProbe, call)
	if err := r.wait(ctx, call); err != nil {
		return nil, fmt.Errorf("fake probe %s: %w", f.s.spec.Name, err)
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

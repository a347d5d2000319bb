package actionstest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/csmplan/csmplan/actions"
)

// Kit bundles what a test of a runbook needs: a virtual clock, a recorder,
// and fake actions and probes, from which it builds a registry.
//
//	kit := actionstest.NewKit()
//	kit.Probe("csm.ha", actionstest.Returns(map[string]any{"role": "Active"}))
//	kit.Action("csm.takeover", actionstest.Fails(errors.New("IWNR1234E")))
//	reg := kit.Registry()
//
// With [WithSpecs] the fakes carry the real specs and refuse the
// arguments the real actions refuse; with [WithTest] the mistakes of the
// test's script fail the test:
//
//	kit := actionstest.NewKit(actionstest.WithTest(t), actionstest.WithSpecs(csmplan.Registry()))
//
// A Kit is safe for concurrent use.
type Kit struct {
	// Clock is the virtual clock the run should use; it starts at [Epoch].
	Clock *Clock
	// Recorder notes the calls of every fake of the kit.
	Recorder *Recorder

	specs *actions.Registry // nil: fakes accept any arguments
	t     testing.TB        // nil: mistakes of the script are only returned

	mu    sync.Mutex
	fakes map[key]registrant
	order []key
	errs  []error // fakes that could not be made, reported by Register
}

// KitOption configures a kit made by [NewKit].
type KitOption func(*Kit)

// WithSpecs makes the fakes that [Kit.Action] and [Kit.Probe] add take
// the spec that reg registers under their name (its argument schema,
// outputs and Mutates), so that a runbook loaded with the kit's registry is
// checked as in production, and makes them check the arguments of every
// call as the real action or probe would: against its argument schema, then
// with its Validate (when it has one). A call with arguments the real one
// refuses fails with an error wrapping [ErrArgsRefused] (and fails the
// kit's test, see [WithTest]). A name that reg does not register is an
// error of [Kit.Register]. Fakes added with [Kit.AddAction] and
// [Kit.AddProbe] keep their own spec and are not checked.
func WithSpecs(reg *actions.Registry) KitOption {
	return func(k *Kit) { k.specs = reg }
}

// WithTest makes the mistakes of the test's script fail t (with t.Errorf)
// besides failing the call: a call that no matcher answers
// ([ErrUnmatched]), arguments the real spec refuses ([ErrArgsRefused]).
// [Kit.Registry] then fails t (t.Fatalf) instead of panicking. Without it
// such a call only returns its error, which a run may report as an
// expected failure.
func WithTest(t testing.TB) KitOption {
	return func(k *Kit) { k.t = t }
}

type key struct {
	kind actions.Kind
	name string
}

// registrant is a fake that can register itself.
type registrant interface {
	Register(r *actions.Registry) error
}

// NewKit returns a kit with a clock at [Epoch], a recorder, no fakes, and
// the options.
func NewKit(opts ...KitOption) *Kit {
	k := &Kit{Clock: NewClock(Epoch), Recorder: &Recorder{}, fakes: map[key]registrant{}}
	for _, o := range opts {
		o(k)
	}
	return k
}

// Action adds a fake action that answers from results (see [Result]; add
// matchers on arguments with [FakeAction.On]) and accepts any arguments; it
// mutates, like most actions, so a dry run does not call it. With
// [WithSpecs] it has the real spec and checks arguments instead. A later
// fake with the same name replaces it.
func (k *Kit) Action(name string, results ...Result) *FakeAction {
	spec, check := k.spec(actions.KindAction, name)
	f := NewFakeAction(spec, results...)
	f.s.setCheck(check)
	return k.AddAction(f)
}

// Probe adds a fake probe that answers from results (see [Result]; add
// matchers on arguments with [FakeProbe.On]) and accepts any arguments.
// With [WithSpecs] it has the real spec and checks arguments instead. A
// later fake with the same name replaces it.
func (k *Kit) Probe(name string, results ...Result) *FakeProbe {
	spec, check := k.spec(actions.KindProbe, name)
	f := NewFakeProbe(spec, results...)
	f.s.setCheck(check)
	return k.AddProbe(f)
}

// spec returns the spec of a new fake and its argument check: the real
// ones with WithSpecs, else a spec that accepts any arguments (an action
// mutates) and no check.
func (k *Kit) spec(kind actions.Kind, name string) (actions.Spec, *argCheck) {
	fallback := actions.Spec{Name: name, Mutates: kind == actions.KindAction}
	if k.specs == nil {
		return fallback, nil
	}
	check, spec, err := newArgCheck(k.specs, kind, name)
	if err != nil {
		k.mu.Lock()
		k.errs = append(k.errs, err)
		k.mu.Unlock()
		return fallback, nil
	}
	return spec, check
}

// AddAction adds a fake action made with [NewFakeAction], for example with a
// precise spec, records its calls in the kit's recorder and returns it.
// Its arguments are not checked against [WithSpecs]; a call that none of
// its matchers answers fails the kit's test ([WithTest]).
func (k *Kit) AddAction(f *FakeAction) *FakeAction {
	f.RecordTo(k.Recorder)
	if k.t != nil {
		f.s.setTest(k.t)
	}
	k.add(key{actions.KindAction, f.Spec().Name}, f)
	return f
}

// AddProbe adds a fake probe made with [NewFakeProbe], records its calls in
// the kit's recorder and returns it; see [Kit.AddAction].
func (k *Kit) AddProbe(f *FakeProbe) *FakeProbe {
	f.RecordTo(k.Recorder)
	if k.t != nil {
		f.s.setTest(k.t)
	}
	k.add(key{actions.KindProbe, f.Spec().Name}, f)
	return f
}

func (k *Kit) add(id key, f registrant) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.fakes[id]; !ok {
		k.order = append(k.order, id)
	}
	k.fakes[id] = f
}

// Register registers the kit's fakes into r, in the order they were first
// added, and reports every one that failed (an invalid name, a duplicate,
// a name that the registry of [WithSpecs] does not register).
func (k *Kit) Register(r *actions.Registry) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	errs := append([]error(nil), k.errs...)
	for _, id := range k.order {
		errs = append(errs, k.fakes[id].Register(r))
	}
	return errors.Join(errs...)
}

// Registry returns a new registry holding the built-ins and the kit's fakes.
// A fake replaces the built-in of the same kind and name. It panics if a
// fake cannot be registered, which is a mistake in the test itself (an
// invalid name), or with [WithTest] fails the test; use [Kit.Register] to
// get the error instead.
func (k *Kit) Registry() *actions.Registry {
	r := actions.NewRegistry()
	if err := k.Register(r); err != nil {
		if k.t != nil {
			k.t.Helper()
			k.t.Fatalf("actionstest: %v", err)
		}
		panic(fmt.Sprintf("actionstest: %v", err))
	}
	builtins := actions.NewRegistry()
	if err := actions.RegisterBuiltins(builtins); err != nil {
		panic(fmt.Sprintf("actionstest: %v", err))
	}
	for _, spec := range builtins.Specs(actions.KindAction) {
		if _, shadowed := r.Spec(actions.KindAction, spec.Name); shadowed {
			continue
		}
		name := spec.Name
		mustRegister(r.RegisterAction(spec, func() actions.Action {
			a, _ := builtins.NewAction(name) // registered just above
			return a
		}))
	}
	for _, spec := range builtins.Specs(actions.KindProbe) {
		if _, shadowed := r.Spec(actions.KindProbe, spec.Name); shadowed {
			continue
		}
		name := spec.Name
		mustRegister(r.RegisterProbe(spec, func() actions.Probe {
			p, _ := builtins.NewProbe(name) // registered just above
			return p
		}))
	}
	return r
}

func mustRegister(err error) {
	if err != nil {
		panic(fmt.Sprintf("actionstest: %v", err))
	}
}

// Calls returns the calls of the kit's fakes so far, in order.
func (k *Kit) Calls() []Call { return k.Recorder.Calls() }

// CallsTo returns the calls so far of the fakes named name whose arguments
// match args: [Recorder.CallsTo] of the kit's recorder.
func (k *Kit) CallsTo(name string, args Args) []Call { return k.Recorder.CallsTo(name, args) }

// NewCall returns a call of the step and name with the kit's clock and
// attempt 1, for calling an action or probe directly in a test.
func (k *Kit) NewCall(step, name string, args map[string]any) *actions.Call {
	return &actions.Call{Step: step, Name: name, Args: args, Clock: k.Clock, Attempt: 1}
}

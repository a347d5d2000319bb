package actionstest

import (
	"errors"
	"fmt"
	"sync"

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
// A Kit is safe for concurrent use.
type Kit struct {
	// Clock is the virtual clock the run should use; it starts at [Epoch].
	Clock *Clock
	// Recorder notes the calls of every fake of the kit.
	Recorder *Recorder

	mu    sync.Mutex
	fakes map[key]registrant
	order []key
}

type key struct {
	kind actions.Kind
	name string
}

// registrant is a fake that can register itself.
type registrant interface {
	Register(r *actions.Registry) error
}

// NewKit returns a kit with a clock at [Epoch], a recorder and no fakes.
func NewKit() *Kit {
	return &Kit{Clock: NewClock(Epoch), Recorder: &Recorder{}, fakes: map[key]registrant{}}
}

// Action adds a fake action that answers from results (see [Result]) and
// accepts any arguments; it mutates, like most actions, so a dry run does
// not call it. A later fake with the same name replaces it.
func (k *Kit) Action(name string, results ...Result) *FakeAction {
	return k.AddAction(NewFakeAction(actions.Spec{Name: name, Mutates: true}, results...))
}

// Probe adds a fake probe that answers from results (see [Result]) and
// accepts any arguments. A later fake with the same name replaces it.
func (k *Kit) Probe(name string, results ...Result) *FakeProbe {
	return k.AddProbe(NewFakeProbe(actions.Spec{Name: name}, results...))
}

// AddAction adds a fake action made with [NewFakeAction], for example with a
// precise spec, records its calls in the kit's recorder and returns it.
func (k *Kit) AddAction(f *FakeAction) *FakeAction {
	f.RecordTo(k.Recorder)
	k.add(key{actions.KindAction, f.Spec().Name}, f)
	return f
}

// AddProbe adds a fake probe made with [NewFakeProbe], records its calls in
// the kit's recorder and returns it.
func (k *Kit) AddProbe(f *FakeProbe) *FakeProbe {
	f.RecordTo(k.Recorder)
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
// added, and reports every one that failed (an invalid name, a duplicate).
func (k *Kit) Register(r *actions.Registry) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var errs []error
	for _, id := range k.order {
		errs = append(errs, k.fakes[id].Register(r))
	}
	return errors.Join(errs...)
}

// Registry returns a new registry holding the built-ins and the kit's fakes.
// A fake replaces the built-in of the same kind and name. It panics if a
// fake cannot be registered, which is a mistake in the test itself (an
// invalid name); use [Kit.Register] to get the error instead.
func (k *Kit) Registry() *actions.Registry {
	r := actions.NewRegistry()
	if err := k.Register(r); err != nil {
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

// NewCall returns a call of the step and name with the kit's clock and
// attempt 1, for calling an action or probe directly in a test.
func (k *Kit) NewCall(step, name string, args map[string]any) *actions.Call {
	return &actions.Call{Step: step, Name: name, Args: args, Clock: k.Clock, Attempt: 1}
}

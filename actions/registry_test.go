package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/csmplan/csmplan/actions"
)

func nopAction() actions.Action {
	return actions.ActionFunc(func(context.Context, *actions.Call) (actions.Outputs, error) { return nil, nil })
}

func nopProbe() actions.Probe {
	return actions.ProbeFunc(func(context.Context, *actions.Call) (any, error) { return nil, nil })
}

func TestRegistryStrictRegistration(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	if err := r.RegisterAction(actions.Spec{Name: "csm.takeover", Summary: "x"}, nopAction); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterProbe(actions.Spec{Name: "csm.ha", Summary: "x"}, nopProbe); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		reg  func() error
		want error
	}{
		{"empty name", func() error { return r.RegisterAction(actions.Spec{}, nopAction) }, actions.ErrInvalidName},
		{"upper case", func() error { return r.RegisterAction(actions.Spec{Name: "CSM.Takeover"}, nopAction) }, actions.ErrInvalidName},
		{"space", func() error { return r.RegisterProbe(actions.Spec{Name: "csm ha"}, nopProbe) }, actions.ErrInvalidName},
		{"trailing dot", func() error { return r.RegisterProbe(actions.Spec{Name: "csm."}, nopProbe) }, actions.ErrInvalidName},
		{"nil action constructor", func() error { return r.RegisterAction(actions.Spec{Name: "a"}, nil) }, actions.ErrNilFactory},
		{"nil probe constructor", func() error { return r.RegisterProbe(actions.Spec{Name: "p"}, nil) }, actions.ErrNilFactory},
		{"duplicate action", func() error { return r.RegisterAction(actions.Spec{Name: "csm.takeover"}, nopAction) }, actions.ErrDuplicate},
		{"duplicate probe", func() error { return r.RegisterProbe(actions.Spec{Name: "csm.ha"}, nopProbe) }, actions.ErrDuplicate},
		{"probe that mutates", func() error { return r.RegisterProbe(actions.Spec{Name: "p2", Mutates: true}, nopProbe) }, actions.ErrMutateProbe},
		{"args not JSON", func() error {
			return r.RegisterAction(actions.Spec{Name: "a2", Args: json.RawMessage(`{"type":`)}, nopAction)
		}, actions.ErrBadSchema},
		{"args not a schema", func() error {
			return r.RegisterAction(actions.Spec{Name: "a3", Args: json.RawMessage(`{"type":"thing"}`)}, nopAction)
		}, actions.ErrBadSchema},
	}
	for _, tt := range tests {
		err := tt.reg()
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// A failed registration leaves nothing behind.
	assertEqual(t, r.Names(actions.KindAction), []string{"csm.takeover"})
	assertEqual(t, r.Names(actions.KindProbe), []string{"csm.ha"})
	// An action and a probe may share a name.
	if err := r.RegisterAction(actions.Spec{Name: "csm.ha"}, nopAction); err != nil {
		t.Errorf("action named like a probe: %v", err)
	}
}

func TestRegistryUnknown(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	if _, err := r.NewAction("nope"); !errors.Is(err, actions.ErrUnknown) {
		t.Errorf("NewAction: %v, want ErrUnknown", err)
	}
	if _, err := r.NewProbe("nope"); !errors.Is(err, actions.ErrUnknown) {
		t.Errorf("NewProbe: %v, want ErrUnknown", err)
	}
	if _, ok := r.Spec(actions.KindAction, "nope"); ok {
		t.Error("Spec of an unknown action: ok")
	}
}

func TestRegistryConcurrentRegistration(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		wg.Go(func() {
			errs[2*i] = r.RegisterAction(actions.Spec{Name: fmt.Sprintf("a.n%02d", i)}, nopAction)
			_ = r.Specs(actions.KindAction)
		})
		wg.Go(func() {
			// Everyone races for the same name: exactly one wins.
			errs[2*i+1] = r.RegisterProbe(actions.Spec{Name: "same"}, nopProbe)
			_, _ = r.NewProbe("same")
		})
	}
	wg.Wait()
	won := 0
	for i := range n {
		if errs[2*i] != nil {
			t.Errorf("action %d: %v", i, errs[2*i])
		}
		switch err := errs[2*i+1]; {
		case err == nil:
			won++
		case !errors.Is(err, actions.ErrDuplicate):
			t.Errorf("probe %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d registrations of the same name succeeded, want 1", won)
	}
	if got := len(r.Names(actions.KindAction)); got != n {
		t.Errorf("%d actions registered, want %d", got, n)
	}
}

func TestRegistrySpecsSorted(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	for _, name := range []string{"zeta", "csm.takeover", "alpha", "csm.backup", "csm"} {
		if err := r.RegisterAction(actions.Spec{Name: name}, nopAction); err != nil {
			t.Fatal(err)
		}
	}
	specs := r.Specs(actions.KindAction)
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	want := []string{"alpha", "csm", "csm.backup", "csm.takeover", "zeta"}
	assertEqual(t, names, want)
	assertEqual(t, r.Names(actions.KindAction), want)
	if !sort.StringsAreSorted(r.Names(actions.KindAction)) {
		t.Error("Names not sorted")
	}
}

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
	"github.com/csmplan/csmplan/plan"
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

// fieldNames returns the names of the target fields r declares, sorted.
func fieldNames(r *actions.Registry) []string {
	var names []string
	for name := range r.TargetFields() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func TestRegistryTargetFields(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	api := json.RawMessage(`{"url": {"type": "string", "description": "Base URL"}, "token": {"type": "string", "writeOnly": true}}`)
	if err := r.RegisterAction(actions.Spec{Name: "api.call", TargetFields: api}, nopAction); err != nil {
		t.Fatal(err)
	}
	// The same fields with the same schemas, written differently and
	// documented otherwise: accepted, the first documentation kept.
	same := json.RawMessage(`{"token": {"writeOnly": true, "type": "string"}, "url": {"description": "Where", "type": "string"}, "timeout": {"type": "integer"}}`)
	if err := r.RegisterProbe(actions.Spec{Name: "api.get", TargetFields: same}, nopProbe); err != nil {
		t.Errorf("same schema declared again: %v", err)
	}
	assertEqual(t, fieldNames(r), []string{"timeout", "token", "url"})
	assertEqual(t, string(r.TargetFields()["url"]), `{"description":"Base URL","type":"string"}`)
	tests := []struct {
		name   string
		fields string
		want   error
	}{
		{"another schema for a declared field", `{"url": {"type": "integer"}, "extra": {}}`, actions.ErrDuplicate},
		{"a secret declared as none", `{"token": {"type": "string"}}`, actions.ErrDuplicate},
		{"another schema deeper down", `{"url": {"type": "string", "not": {"const": "x", "description": "d"}}}`, actions.ErrDuplicate},
		{"not an object", `["url"]`, actions.ErrBadSchema},
		{"null", `null`, actions.ErrBadSchema},
		{"two values", `{} {}`, actions.ErrBadSchema},
		{"not a schema", `{"extra": {"type": "thing"}}`, actions.ErrBadSchema},
		{"a $ref to another document", `{"extra": {"$ref": "https://example.com/s.json"}}`, actions.ErrBadSchema},
		{"a $ref outside the field", `{"extra": {"$ref": "#/$defs/x"}}`, actions.ErrBadSchema},
		{"bad field name", `{"my field": {}}`, actions.ErrInvalidName},
	}
	for _, tt := range tests {
		err := r.RegisterAction(actions.Spec{Name: "bad", TargetFields: json.RawMessage(tt.fields)}, nopAction)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// A refused registration leaves nothing behind: neither the action
	// nor its other fields.
	if _, ok := r.Spec(actions.KindAction, "bad"); ok {
		t.Error("a refused action was registered")
	}
	assertEqual(t, fieldNames(r), []string{"timeout", "token", "url"})
	// A field's schema may refer within itself.
	self := json.RawMessage(`{"tls": {"$ref": "#/$defs/tls", "$defs": {"tls": {"type": "object"}}}}`)
	if err := r.RegisterAction(actions.Spec{Name: "api.tls", TargetFields: self}, nopAction); err != nil {
		t.Errorf("a $ref within the field: %v", err)
	}
}

func TestRegistryTargetSchema(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	valid := func(target map[string]any) bool {
		t.Helper()
		s, err := r.TargetSchema()
		if err != nil {
			t.Fatal(err)
		}
		return s.Validate(target) == nil
	}
	if !valid(map[string]any{}) || valid(map[string]any{"url": "u"}) {
		t.Error("a registry that declares no field: want only targets without fields")
	}
	actions.MustRegister(r.RegisterAction(actions.Spec{Name: "api.call", TargetFields: json.RawMessage(`{"url": {"type": "string"}}`)}, nopAction))
	if !valid(map[string]any{"url": "u"}) {
		t.Error("a declared field is refused")
	}
	if valid(map[string]any{"url": 3}) || valid(map[string]any{"url": "u", "uri": "u"}) {
		t.Error("a bad value or an unknown field is accepted")
	}
}

func TestRegistryClone(t *testing.T) {
	t.Parallel()
	r := actions.NewRegistry()
	actions.MustRegister(r.RegisterAction(actions.Spec{Name: "a", TargetFields: json.RawMessage(`{"host": {"type": "string"}}`)}, nopAction))
	actions.MustRegister(r.RegisterProbe(actions.Spec{Name: "p"}, nopProbe))
	c := r.Clone()
	actions.MustRegister(c.RegisterAction(actions.Spec{Name: "only.clone", TargetFields: json.RawMessage(`{"port": {"type": "integer"}}`)}, nopAction))
	actions.MustRegister(r.RegisterAction(actions.Spec{Name: "only.original"}, nopAction))
	assertEqual(t, c.Names(actions.KindAction), []string{"a", "only.clone"})
	assertEqual(t, c.Names(actions.KindProbe), []string{"p"})
	assertEqual(t, r.Names(actions.KindAction), []string{"a", "only.original"})
	assertEqual(t, fieldNames(c), []string{"host", "port"})
	assertEqual(t, fieldNames(r), []string{"host"})
	if _, err := c.NewAction("a"); err != nil {
		t.Errorf("the clone cannot construct an action of the original: %v", err)
	}
	// Default's clone starts with the built-ins.
	if _, ok := actions.Default().Clone().Spec(actions.KindAction, "exec"); !ok {
		t.Error("Default().Clone() has no exec")
	}
}

// A registry that starts from what the program registered into Default,
// and adds its own without changing Default.
func ExampleRegistry_Clone() {
	reg := actions.Default().Clone()
	err := reg.RegisterAction(actions.Spec{Name: "site.ticket", Summary: "Open a change ticket", Mutates: true},
		func() actions.Action {
			return actions.ActionFunc(func(context.Context, *actions.Call) (actions.Outputs, error) { return nil, nil })
		})
	fmt.Println(err)
	_, inDefault := actions.Default().Spec(actions.KindAction, "site.ticket")
	_, hasExec := reg.Spec(actions.KindAction, "exec")
	fmt.Println(inDefault, hasExec)
	// Output:
	// <nil>
	// false true
}

// An action declares the target fields it reads, as it declares its
// arguments: runbooks may then give them, and no other, to their targets.
func ExampleSpec_targetFields() {
	reg := actions.NewRegistry()
	err := reg.RegisterAction(actions.Spec{
		Name:         "api.call",
		Summary:      "Call the site's API",
		Args:         json.RawMessage(`{"type": "object", "properties": {"target": {"type": "string"}}}`),
		TargetFields: json.RawMessage(`{"url": {"type": "string"}, "token": {"type": "string", "writeOnly": true}}`),
	}, func() actions.Action {
		return actions.ActionFunc(func(_ context.Context, call *actions.Call) (actions.Outputs, error) {
			_, api, err := call.Target("target")
			return actions.Outputs{"url": api["url"]}, err
		})
	})
	fmt.Println(err)
	_, err = plan.Parse("api.yaml", []byte(`apiVersion: csmplan/v1
kind: Runbook
name: api
targets:
  api: {url: "https://api.example.com", tokne: secret}
steps:
  - id: call
    action: api.call
    with: {target: api}
`), plan.WithRegistry(reg))
	fmt.Println(err)
	// Output:
	// <nil>
	// api.yaml:5:41: unknown key "tokne" in target (did you mean "token"?)
}

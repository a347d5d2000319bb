package actionstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
)

// restart is a real action whose Validate refuses what its schema cannot
// say: a host with a port.
type restart struct{}

func (restart) Run(context.Context, *actions.Call) (actions.Outputs, error) {
	panic("the real action must never run in a test of fakes")
}

func (restart) Validate(args map[string]any) error {
	if h, _ := args["host"].(string); strings.Contains(h, ":") {
		return actions.ArgErrorf("host", "want a host without a port, got %q", h)
	}
	return nil
}

var _ actions.Validator = restart{}

// realRegistry holds the real specs: the action svc.restart (schema and
// Validate) and the probe svc.state (schema only).
func realRegistry(t *testing.T) *actions.Registry {
	t.Helper()
	r := actions.NewRegistry()
	err := errors.Join(
		r.RegisterAction(actions.Spec{
			Name:    "svc.restart",
			Summary: "Restart a service",
			Args:    json.RawMessage(`{"type":"object","additionalProperties":false,"required":["host"],"properties":{"host":{"type":"string"},"grace":{"type":"integer","minimum":0}}}`),
			Outputs: []actions.Output{{Name: "pid", Type: "integer", Description: "The new process."}},
			Mutates: true,
		}, func() actions.Action { return restart{} }),
		r.RegisterProbe(actions.Spec{
			Name:    "svc.state",
			Summary: "The state of a service",
			Args:    json.RawMessage(`{"type":"object","additionalProperties":false,"required":["host"],"properties":{"host":{"type":"string"}}}`),
		}, func() actions.Probe {
			return actions.ProbeFunc(func(context.Context, *actions.Call) (any, error) { panic("never observed") })
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWithSpecsTakesTheRealSpec(t *testing.T) {
	t.Parallel()
	real := realRegistry(t)
	kit := actionstest.NewKit(actionstest.WithSpecs(real))
	kit.Action("svc.restart")
	kit.Probe("svc.state")
	reg := kit.Registry()
	for _, kind := range []actions.Kind{actions.KindAction, actions.KindProbe} {
		for _, want := range real.Specs(kind) {
			got, ok := reg.Spec(kind, want.Name)
			if !ok {
				t.Errorf("%s %s: not in the kit's registry", kind, want.Name)
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s: spec (-real +fake):\n%s", kind, want.Name, diff)
			}
		}
	}
}

// Every call is checked as the real action would check it; a refused call
// fails the test and returns a permanent error saying why.
func TestWithSpecsChecksEveryCall(t *testing.T) {
	t.Parallel()
	spy := &spyT{}
	kit := actionstest.NewKit(actionstest.WithTest(spy), actionstest.WithSpecs(realRegistry(t)))
	a := kit.Action("svc.restart", actionstest.Succeeds(actions.Outputs{"pid": int64(42)}))
	p := kit.Probe("svc.state", actionstest.Returns("up"))
	ctx := context.Background()

	if out, err := a.Run(ctx, kit.NewCall("s", "svc.restart", map[string]any{"host": "db1", "grace": int64(5)})); err != nil || out["pid"] != int64(42) {
		t.Fatalf("valid call = %v, %v; want the script's outputs", out, err)
	}
	if v, err := p.Observe(ctx, kit.NewCall("s", "svc.state", map[string]any{"host": "db1"})); err != nil || v != "up" {
		t.Fatalf("valid observation = %v, %v", v, err)
	}
	if n := len(spy.reported()); n != 0 {
		t.Fatalf("valid calls reported %d errors: %q", n, spy.reported())
	}

	for _, tt := range []struct {
		name string
		args map[string]any
		why  string
	}{
		{"a misspelt argument", map[string]any{"hots": "db1"}, `unknown key "hots" (did you mean "host"?)`},
		{"a missing argument", map[string]any{}, `missing required key "host"`},
		{"a wrong type", map[string]any{"host": "db1", "grace": "5s"}, `"grace" must be an integer`},
		{"out of range", map[string]any{"host": "db1", "grace": int64(-1)}, `"grace" must be at least 0, got -1`},
		{"refused by Validate", map[string]any{"host": "db1:22"}, `its Validate: argument "host": want a host without a port, got "db1:22"`},
	} {
		before := len(spy.reported())
		_, err := a.Run(ctx, kit.NewCall("restart", "svc.restart", tt.args))
		if !errors.Is(err, actionstest.ErrArgsRefused) || !actions.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent ErrArgsRefused", tt.name, err)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "fake action svc.restart (step restart): arguments refused by the real spec: ") || !strings.Contains(msg, tt.why) {
			t.Errorf("%s: error %q, want %q in it", tt.name, msg, tt.why)
		}
		if strings.Contains(msg, "mem://") {
			t.Errorf("%s: error %q shows the schema library's locations", tt.name, msg)
		}
		if got := spy.reported(); len(got) != before+1 || got[before] != msg {
			t.Errorf("%s: reported to the test %q, want the error", tt.name, got[before:])
		}
	}
	if _, err := p.Observe(ctx, kit.NewCall("s", "svc.state", map[string]any{"host": "db1", "grace": int64(1)})); !errors.Is(err, actionstest.ErrArgsRefused) {
		t.Errorf("probe with an unknown argument: err = %v, want ErrArgsRefused", err)
	}
	// The refused calls are noted too, and did not use up the script.
	if n := a.Calls(); n != 6 {
		t.Errorf("action called %d times, want 6", n)
	}
	if out, err := a.Run(ctx, kit.NewCall("s", "svc.restart", map[string]any{"host": "db2"})); err != nil || out["pid"] != int64(42) {
		t.Errorf("valid call after refused ones = %v, %v", out, err)
	}
}

// Without WithSpecs a fake accepts any arguments, as before.
func TestWithoutSpecsAnyArguments(t *testing.T) {
	t.Parallel()
	spy := &spyT{}
	kit := actionstest.NewKit(actionstest.WithTest(spy))
	a := kit.Action("svc.restart")
	if _, err := a.Run(context.Background(), kit.NewCall("s", "svc.restart", map[string]any{"anything": []any{1}})); err != nil {
		t.Errorf("err = %v", err)
	}
	if len(spy.reported()) != 0 {
		t.Errorf("reported %q", spy.reported())
	}
}

// A name that the spec registry does not have is a registration error,
// with a suggestion; Registry fails the kit's test.
func TestWithSpecsUnknownName(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit(actionstest.WithSpecs(realRegistry(t)))
	kit.Action("svc.restrat")
	kit.Probe("svc.restart")
	err := kit.Register(actions.NewRegistry())
	if !errors.Is(err, actions.ErrUnknown) {
		t.Fatalf("Register = %v, want ErrUnknown", err)
	}
	for _, want := range []string{
		`fake action "svc.restrat": not in the spec registry (did you mean "svc.restart"?)`,
		`fake probe "svc.restart": the spec registry has an action of that name, not a probe`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Register error %q, want %q in it", err, want)
		}
	}

	spy := &spyT{}
	failing := actionstest.NewKit(actionstest.WithTest(spy), actionstest.WithSpecs(realRegistry(t)))
	failing.Action("svc.restrat")
	func() {
		defer func() {
			if r := recover(); r != spy {
				t.Errorf("recovered %v, want the spy's Fatalf", r)
			}
		}()
		failing.Registry()
	}()
	if !strings.Contains(spy.fatal, "not in the spec registry") {
		t.Errorf("Fatalf(%q), want the registration error", spy.fatal)
	}
}

package actionstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
)

func TestConformanceOfFakes(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.AddAction(actionstest.NewFakeAction(actions.Spec{
		Name:    "demo.restart",
		Summary: "Restart the demo service",
		Args:    json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{"target":{"type":"string","description":"Which server."}}}`),
		Outputs: []actions.Output{{Name: "msg", Type: "string", Description: "The server's message."}},
		Mutates: true,
	}, actionstest.Succeeds(actions.Outputs{"msg": "restarted"})))
	kit.Probe("demo.state", actionstest.Returns(map[string]any{"state": "up"}))
	reg := kit.Registry()
	actionstest.TestAction(t, reg, "demo.restart", actionstest.Conformance{
		Valid:   []map[string]any{{"target": "primary"}},
		Invalid: []map[string]any{{"target": 1}, {"target": "a", "extra": true}},
		Run:     true,
	})
	actionstest.TestProbe(t, reg, "demo.state", actionstest.Conformance{
		Valid:    []map[string]any{{}},
		Run:      true,
		OpenArgs: true,
	})
}

// brokenEnv makes TestBrokenHelper run: it holds actions that break the
// contract, and fails, which TestConformanceCatchesBrokenActions checks in a
// child process.
const brokenEnv = "ACTIONSTEST_BROKEN_HELPER"

var brokenSpec = actions.Spec{
	Name:    "broken",
	Summary: "An action that breaks the contract",
	Args:    json.RawMessage(`{"type":"object","additionalProperties":false,"required":["x"],"properties":{"x":{"type":"string","description":"An argument."}}}`),
	Outputs: []actions.Output{{Name: "ok", Type: "string", Description: "A documented output."}},
	Mutates: true,
}

func brokenRegistry(t *testing.T, spec actions.Spec, a actions.ActionFunc) *actions.Registry {
	r := actions.NewRegistry()
	if err := r.RegisterAction(spec, func() actions.Action { return a }); err != nil {
		t.Fatal(err)
	}
	return r
}

// honest behaves: it honours ctx and needs its argument.
func honest(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := call.String("x"); err != nil {
		return nil, err
	}
	return actions.Outputs{"ok": "yes"}, nil
}

var brokenCases = map[string]struct {
	spec actions.Spec
	run  actions.ActionFunc
	want string // in the output of the failing suite
}{
	"ignores-cancel": {
		spec: brokenSpec,
		run: func(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
			return actions.Outputs{"ok": "yes"}, nil
		},
		want: "with a cancelled context: returned no error",
	},
	"wrong-cancel-error": {
		spec: brokenSpec,
		run: func(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
			if ctx.Err() != nil {
				return nil, errors.New("stopped")
			}
			return honest(ctx, call)
		},
		want: "does not wrap context.Canceled",
	},
	"polls-forever": {
		spec: brokenSpec,
		run: func(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
			for {
				_ = call.Clock.Sleep(ctx, time.Second) // the error is ignored
			}
		},
		want: "made more than 100 clock calls",
	},
	"panics-on-missing-args": {
		spec: brokenSpec,
		run: func(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return actions.Outputs{"ok": call.Args["x"].(string)}, nil
		},
		want: "panicked",
	},
	"loose-schema": {
		spec: actions.Spec{
			Name:    "broken",
			Args:    json.RawMessage(`{"type":"object","properties":{"x":{"type":"string"}}}`),
			Outputs: []actions.Output{{Name: "bad name", Type: "text"}},
		},
		run:  honest,
		want: "accepts an unknown argument",
	},
	"undocumented-output": {
		spec: brokenSpec,
		run: func(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
			out, err := honest(ctx, call)
			if err == nil {
				out["extra"] = 1 // undocumented, and an int rather than an int64
			}
			return out, err
		},
		want: `output "extra" is not documented`,
	},
}

func TestBrokenHelper(t *testing.T) {
	if os.Getenv(brokenEnv) == "" {
		t.Skip("run by TestConformanceCatchesBrokenActions in a child process")
	}
	for name, bc := range brokenCases {
		t.Run(name, func(t *testing.T) {
			actionstest.TestAction(t, brokenRegistry(t, bc.spec, bc.run), "broken", actionstest.Conformance{
				Valid:   []map[string]any{{"x": "a"}},
				Invalid: []map[string]any{{"x": 1}},
				Run:     true,
			})
		})
	}
}

func TestConformanceCatchesBrokenActions(t *testing.T) {
	t.Parallel()
	if os.Getenv(brokenEnv) != "" {
		t.Skip("in the child process")
	}
	for name, bc := range brokenCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenHelper$/^"+name+"$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"=1")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed an action that breaks the contract:\n%s", out)
			}
			if !strings.Contains(string(out), bc.want) {
				t.Errorf("the suite failed without saying %q:\n%s", bc.want, out)
			}
		})
	}
	// The honest action passes the same suite.
	actionstest.TestAction(t, brokenRegistry(t, brokenSpec, honest), "broken", actionstest.Conformance{
		Valid:   []map[string]any{{"x": "a"}},
		Invalid: []map[string]any{{"x": 1}},
		Run:     true,
	})
}

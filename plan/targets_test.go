package plan_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm"
	"github.com/csmplan/csmplan/plan"
)

func nop() actions.Action {
	return actions.ActionFunc(func(context.Context, *actions.Call) (actions.Outputs, error) { return nil, nil })
}

// apiRegistry holds the built-ins and an action of an embedder that reads
// a target of its own, with fields that CSM knows nothing of (and host,
// which exec reads too, documented otherwise).
func apiRegistry(t testing.TB) *actions.Registry {
	t.Helper()
	reg := actions.NewRegistry()
	actions.MustRegister(actions.RegisterBuiltins(reg))
	actions.MustRegister(reg.RegisterAction(actions.Spec{
		Name:         "api.call",
		Args:         json.RawMessage(`{"type": "object", "properties": {"target": {"type": "string"}}}`),
		TargetFields: json.RawMessage(`{"host": {"type": "string", "description": "The API's host."}, "token": {"type": "string", "writeOnly": true}}`),
	}, nop))
	return reg
}

const apiRunbook = "apiVersion: csmplan/v1\nkind: Runbook\nname: t\ntargets:\n  api: {host: h, token: t}\nsteps:\n  - id: a\n    action: api.call\n    with: {target: api}\n"

// Targets hold the fields that the registry's actions and probes declare:
// an embedder's own, and no other.
func TestParseTargetFields(t *testing.T) {
	t.Parallel()
	if _, err := plan.Parse("t.yaml", []byte(apiRunbook), plan.WithRegistry(apiRegistry(t))); err != nil {
		t.Errorf("a target with the fields its action declares: %v", err)
	}
	withCSM := actions.NewRegistry()
	actions.MustRegister(actions.RegisterBuiltins(withCSM))
	actions.MustRegister(csm.Register(withCSM, csm.Options{}))
	tests := []struct {
		name    string
		reg     *actions.Registry
		targets string
		want    string
	}{
		{"a misspelt field", apiRegistry(t), "  api: {host: h, tokne: t}\n", `t.yaml:5:18: unknown key "tokne" in target (did you mean "token"?)`},
		{"a field no one declares", apiRegistry(t), "  api: {host: h, port: 1}\n", `t.yaml:5:18: unknown key "port" in target`},
		{"a field of another plugin", withCSM, "  api: {host: h, token: t}\n", `t.yaml:5:18: unknown key "token" in target`},
		{"a misspelt CSM field", withCSM, "  db: {hots: h, port: 9559}\n", `t.yaml:5:8: unknown key "hots" in target (did you mean "host"?)`},
		{"a misspelt ssh field", withCSM, "  db: {host: h, ssh: {usr: root}}\n", `t.yaml:5:23: unknown key "usr" in ssh (did you mean "user"?)`},
		{"a port that is no integer", withCSM, "  db: {host: h, port: high}\n", `t.yaml:5:23: "port" must be an integer or a reference such as "${params.port}", got string "high"`},
		{"a port out of range", withCSM, "  db: {host: h, port: 70000}\n", `t.yaml:5:23: "port" must be at most 65535, got 70000`},
		{"a secret not shown", withCSM, "  db: {host: h, password: 12345}\n", `t.yaml:5:27: "password" must be a string, got an integer (not shown)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\ntargets:\n" + tt.targets + "steps:\n  - id: a\n    action: log\n    with: {message: hi}\n"
			_, err := plan.Parse("t.yaml", []byte(src), plan.WithRegistry(tt.reg))
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, plan.ErrSchema) {
				t.Errorf("err = %v, want ErrSchema", err)
			}
		})
	}
	// References are checked when they are resolved, at run time.
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\nparams:\n  port: {type: integer}\ntargets:\n  db: {host: h, port: \"${params.port}\", ssh: \"${params.port}\"}\nsteps:\n  - id: a\n    action: log\n    with: {message: hi}\n"
	if _, err := plan.Parse("t.yaml", []byte(src), plan.WithRegistry(withCSM)); err != nil {
		t.Errorf("references: %v", err)
	}
}

package runner_test

import (
	"testing"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// TestConditionExpectedIsResolved: a condition's Expected shows the values
// its references had, each followed by the reference as written; a secret
// stays redacted, and an expectation without references reads as before.
func TestConditionExpectedIsResolved(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Probe("server", actionstest.Returns(map[string]any{"version": "6.3.10.1", "roles": []any{"Active"}}))
	rep, _, _ := run(t, kit, `
params:
  target_version: {type: string}
  roles: {type: list, default: [Active, Standby]}
  password: {type: string, secret: true}
steps:
  - id: s
    pre:
      - probe: server
        expect: {path: version, equals: "${params.target_version}"}
      - probe: server
        expect: {path: version, as: version, lt: "v${params.target_version}"}
      - probe: server
        expect: {path: roles, all: {in: "${params.roles}"}}
      - value: x
        expect: {not_equals: "${params.password}"}
      - value: x
        expect: {equals: x}
`, runner.Options{Params: map[string]any{"target_version": "6.3.11.0", "password": "hunter2"}})
	want := []string{
		`version equals "6.3.11.0" (${params.target_version})`,
		`version lt "v6.3.11.0" (v${params.target_version}) (as a version)`,
		`roles all (in ["Active","Standby"] (${params.roles}))`,
		`not_equals "[redacted]" (${params.password})`,
		`equals "x"`,
	}
	pre := rep.Steps[0].Pre
	if len(pre) != len(want) {
		t.Fatalf("%d preconditions, want %d: %+v", len(pre), len(want), pre)
	}
	for i, w := range want {
		if pre[i].Expected != w {
			t.Errorf("precondition %d: Expected %q, want %q", i+1, pre[i].Expected, w)
		}
	}
}

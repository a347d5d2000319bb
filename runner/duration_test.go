package runner_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// TestRunBadDuration gives, through a param, a duration that is not one at
// every place a runbook takes a duration: the run's error is ErrDuration
// (the same sentinel as plan.ErrDuration) wherever the runner finds it,
// and the action never runs.
func TestRunBadDuration(t *testing.T) {
	t.Parallel()
	const params = "params:\n  d: {type: string}\n"
	tests := []struct {
		name, body, value, says string
	}{
		{"wait timeout", "steps:\n  - id: s\n    pre: [{probe: no, expect: {equals: true}, wait: {timeout: \"${params.d}\"}}]\n    action: act\n", "ten minutes", `"ten minutes" is not a duration`},
		{"wait interval", "steps:\n  - id: s\n    post: [{probe: no, expect: {equals: true}, wait: {timeout: 1m, interval: \"${params.d}\"}}]\n", "1 s", `"1 s" is not a duration`},
		{"action timeout", "steps:\n  - id: s\n    action: act\n    timeout: ${params.d}\n", "5", `"5" is not a duration`},
		{"negative action timeout", "steps:\n  - id: s\n    action: act\n    timeout: ${params.d}\n", "-5m", `"-5m" is negative`},
		{"retry interval", "steps:\n  - id: s\n    action: act\n    retry: {attempts: 2, interval: \"${params.d}\"}\n", "soon", `"soon" is not a duration`},
		{"retry max_interval", "steps:\n  - id: s\n    action: act\n    retry: {attempts: 2, interval: 1s, max_interval: \"${params.d}\"}\n", "later", `"later" is not a duration`},
		{"defaults interval", "defaults: {interval: \"${params.d}\"}\nsteps:\n  - id: s\n    action: act\n", "often", `"often" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kit := actionstest.NewKit()
			act := kit.Action("act")
			kit.Probe("no", actionstest.Returns(false))
			rep, _, err := run(t, kit, params+tt.body, runner.Options{Params: map[string]any{"d": tt.value}})
			if !errors.Is(err, runner.ErrDuration) || !errors.Is(err, plan.ErrDuration) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err = %v, want ErrDuration saying %q", err, tt.says)
			}
			if errors.Is(err, runner.ErrAction) {
				t.Errorf("err = %v: no action failed", err)
			}
			if rep.Outcome != runner.Failed || act.Calls() != 0 {
				t.Errorf("outcome %s, %d action calls; want failed, none", rep.Outcome, act.Calls())
			}
		})
	}
}

// TestBindParamsBadDuration: a duration param given a value that is not a
// duration is ErrParams, and ErrDuration too.
func TestBindParamsBadDuration(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	p := load(t, kit.Registry(), "params:\n  d: {type: duration}\n  n: {type: integer}\nsteps:\n  - id: s\n    action: log\n    with: {message: x}\n")
	_, err := runner.BindParams(p, map[string]any{"d": "5 minutes"})
	if !errors.Is(err, runner.ErrParams) || !errors.Is(err, runner.ErrDuration) || !strings.Contains(err.Error(), "param d: ") {
		t.Errorf("err = %v, want ErrParams and ErrDuration naming param d", err)
	}
	p = load(t, kit.Registry(), "params:\n  d: {type: duration, enum: [1m, 2m]}\n  n: {type: integer}\nsteps:\n  - id: s\n    action: log\n    with: {message: x}\n")
	_, err = runner.BindParams(p, map[string]any{"d": "3m"})
	if !errors.Is(err, runner.ErrParams) || errors.Is(err, runner.ErrDuration) {
		t.Errorf("err = %v, want ErrParams only: 3m is a duration, not in the enum", err)
	}
	_, err = runner.BindParams(p, map[string]any{"n": "x"})
	if !errors.Is(err, runner.ErrParams) || errors.Is(err, runner.ErrDuration) {
		t.Errorf("err = %v, want ErrParams only", err)
	}
}

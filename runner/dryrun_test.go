package runner_test

import (
	"errors"
	"testing"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// TestDryRunEndsFailedWithAnError: a dry run whose report ends failed
// returns an error, as Run's doc says, whatever the failure policy of the
// blocked step; one that would run returns none.
func TestDryRunEndsFailedWithAnError(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"abort", "continue", "rollback"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			kit := actionstest.NewKit()
			kit.Probe("ha", actionstest.Returns("Active"))
			kit.Action("takeover")
			rep, _, err := run(t, kit, `
steps:
  - id: takeover
    pre: [{probe: ha, expect: {equals: Standby}}]
    action: takeover
    on_failure: `+policy+`
  - id: next
    action: takeover
`, runner.Options{DryRun: true})
			if rep.Outcome != runner.Failed || rep.Steps[0].Outcome != runner.Blocked {
				t.Fatalf("outcome %s, step %s; want failed, blocked", rep.Outcome, rep.Steps[0].Outcome)
			}
			if !errors.Is(err, runner.ErrPrecondition) || rep.Error != err.Error() {
				t.Errorf("err = %v, report's error %q; want the blocked step's ErrPrecondition in both", err, rep.Error)
			}
		})
	}
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns("Standby"))
	kit.Action("takeover")
	rep, _, err := run(t, kit, "steps:\n  - id: takeover\n    pre: [{probe: ha, expect: {equals: Standby}}]\n    action: takeover\n", runner.Options{DryRun: true})
	if err != nil || rep.Outcome != runner.WouldRun {
		t.Errorf("err = %v, outcome %s; want no error, would run", err, rep.Outcome)
	}
}

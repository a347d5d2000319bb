package plan_test

import (
	"strings"
	"testing"

	"github.com/csmplan/csmplan/plan"
)

// A step's state: is parsed, rendered into the procedure, and must be
// text.
func TestStepState(t *testing.T) {
	t.Parallel()
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    state: the secondary is now the active server\n    action: log\n    with: {message: hi}\n"
	p, err := plan.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Steps[0].State; got != "the secondary is now the active server" {
		t.Errorf("State = %q", got)
	}
	var b strings.Builder
	if err := plan.WriteMarkdown(&b, p, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "**State once done**: the secondary is now the active server\n") {
		t.Errorf("the procedure does not give the state:\n%s", b.String())
	}
	_, err = plan.Parse("t.yaml", []byte(strings.Replace(src, "state: the secondary is now the active server", "state: [1]", 1)))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:6:") {
		t.Errorf("a state that is not text: err = %v, want a problem at line 6", err)
	}
}

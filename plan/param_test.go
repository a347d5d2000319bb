package plan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/plan"
)

// TestParseChangeableOnResume reads the param attribute changeable_on_resume:
// true where given, false by default, and a boolean only.
func TestParseChangeableOnResume(t *testing.T) {
	t.Parallel()
	const src = `apiVersion: csmplan/v1
kind: Runbook
name: t
params:
  host: {type: string}
  ca_file: {type: string, default: "", changeable_on_resume: true}
  timeout: {type: duration, default: 5m, changeable_on_resume: false}
steps:
  - id: a
    pre: [{value: true}]
`
	p, err := plan.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"host": false, "ca_file": true, "timeout": false} {
		if got := p.Param(name).ChangeableOnResume; got != want {
			t.Errorf("param %s: ChangeableOnResume %v, want %v", name, got, want)
		}
	}

	bad := strings.Replace(src, "changeable_on_resume: true", "changeable_on_resume: yes please", 1)
	_, err = plan.Parse("t.yaml", []byte(bad))
	if !errors.Is(err, plan.ErrSchema) || !strings.Contains(err.Error(), "t.yaml:6:") || !strings.Contains(err.Error(), "boolean") {
		t.Errorf("err = %v, want a schema error at line 6 asking for a boolean", err)
	}
}

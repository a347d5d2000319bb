package interpreter_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/temporal/csmworker"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// SpecsOf keeps what the default runbook needs, and it still parses with
// them alone; the Input is a third of Specs's.
func TestSpecsOf(t *testing.T) {
	t.Parallel()
	reg, err := csmworker.Registry()
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Parse(csmplan.DefaultRunbookName, csmplan.DefaultRunbook(), plan.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	acts, probes := interpreter.SpecsOf(reg, p)
	in := interpreter.Input{Runbook: csmplan.DefaultRunbook(), Actions: acts, Probes: probes}
	all, allProbes := interpreter.Specs(reg)
	if len(acts)+len(probes) >= len(all)+len(allProbes) {
		t.Errorf("SpecsOf keeps %d specs of %d", len(acts)+len(probes), len(all)+len(allProbes))
	}
	packed, err := in.Pack()
	if err != nil {
		t.Fatal(err)
	}
	small, _ := json.Marshal(packed)
	big, _ := json.Marshal(interpreter.Input{Runbook: in.Runbook, Actions: all, Probes: allProbes})
	if len(small)*4 > len(big) || packed.Runbook != nil || packed.Actions != nil {
		t.Errorf("the packed input is %d bytes, the input with Specs %d: want less than a quarter", len(small), len(big))
	}
	if _, err := interpreter.ParseInput(packed, reg); err != nil {
		t.Errorf("the packed input does not parse: %v", err)
	}
	names := map[string]bool{}
	for _, s := range append(acts, probes...) {
		names[s.Name] = true
	}
	for _, want := range []string{"csm.install", "csm.ha", "manual", "temporal.task_queue"} {
		if !names[want] {
			t.Errorf("SpecsOf lacks %s", want)
		}
	}
	if _, err := interpreter.ParseInput(in, reg); err != nil {
		t.Errorf("the runbook does not parse with SpecsOf's specs: %v", err)
	}
}

// ParseInput says what the workflow would say of a runbook that does not
// parse with the input's specs.
func TestParseInputRefuses(t *testing.T) {
	t.Parallel()
	in := interpreter.Input{Filename: "x.yaml", Runbook: []byte(header + "steps:\n  - id: a\n    action: csm.install\n")}
	if _, err := interpreter.ParseInput(in, nil); err == nil || !strings.Contains(err.Error(), "x.yaml:") {
		t.Errorf("err = %v, want a located error", err)
	}
}

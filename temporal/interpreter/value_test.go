package interpreter_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// Values keep their types through JSON, where 3 would become 3.0.
func TestValueRoundTripKeepsTypes(t *testing.T) {
	t.Parallel()
	in := map[string]any{"i": int64(3), "f": 3.0, "s": "x", "b": true, "n": nil, "d": 90 * time.Second,
		"l": []any{int64(1), "a", []any{}}, "m": map[string]any{"k": 0.5}, "int": 7}
	enc, err := interpreter.EncodeMap(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]interpreter.Value
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"i": int64(3), "f": 3.0, "s": "x", "b": true, "n": nil, "d": 90 * time.Second,
		"l": []any{int64(1), "a", []any{}}, "m": map[string]any{"k": 0.5}, "int": int64(7)}
	if d := cmp.Diff(want, interpreter.DecodeMap(back)); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if _, err := interpreter.Encode(struct{}{}); err == nil {
		t.Error("a struct was encoded")
	}
	if _, err := interpreter.EncodeMap(map[string]any{"x": []any{make(chan int)}}); err == nil || !strings.Contains(err.Error(), "x: [0]") {
		t.Errorf("err = %v, want the path of the bad value", err)
	}
}

// A Result keeps the types of its report's outputs and observations.
func TestResultRoundTrip(t *testing.T) {
	t.Parallel()
	c := runner.ConditionResult{Condition: "c", Observed: map[string]any{"n": int64(2)}}
	rep := &runner.Report{Runbook: "r", Steps: []runner.StepReport{{ID: "a", Outputs: map[string]any{"n": int64(1)},
		When: &c, Pre: []runner.ConditionResult{c}, Post: []runner.ConditionResult{c}, Undo: &runner.UndoReport{Verify: []runner.ConditionResult{c}}}}}
	b, err := json.Marshal(interpreter.Result{Report: rep, Error: "e"})
	if err != nil {
		t.Fatal(err)
	}
	var back interpreter.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(interpreter.Result{Report: rep, Error: "e"}, back); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	rep.Steps[0].Outputs["bad"] = struct{}{}
	if _, err := json.Marshal(interpreter.Result{Report: rep}); err == nil {
		t.Error("a report with an output that is no value was encoded")
	}
}

func TestResolveSecret(t *testing.T) {
	t.Setenv("CSMPLAN_TEST_SECRET", "pw1")
	file := filepath.Join(t.TempDir(), "pw")
	// A CRLF file: its line break goes, as when fleet.Load reads it.
	if err := os.WriteFile(file, []byte("pw2\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	params := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(params, []byte("username: csmadmin\npassword: pw3\nport: 9559\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{"env:CSMPLAN_TEST_SECRET": "pw1", "file:" + file: "pw2", "params:" + params + "#password": "pw3"} {
		if got, err := interpreter.ResolveSecret(ref); err != nil || got != want {
			t.Errorf("%s: %q, %v", ref, got, err)
		}
	}
	for _, ref := range []string{"env:", "vault:x", "file:" + file + ".none", "env:CSMPLAN_TEST_NO_SUCH_SECRET",
		"params:" + params, "params:" + params + "#nope", "params:" + params + "#port", "params:" + file + ".none#password"} {
		if got, err := interpreter.ResolveSecret(ref); err == nil {
			t.Errorf("%s: %q, want an error", ref, got)
		}
	}
}

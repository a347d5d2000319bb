package actionstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
)

func TestArgsMatch(t *testing.T) {
	t.Parallel()
	call := map[string]any{
		"target":  "primary",
		"port":    int64(9559),
		"ratio":   0.5,
		"argv":    []any{"/opt/setup.bin", "-i", "silent"},
		"env":     map[string]any{"A": "1"},
		"enabled": true,
		"none":    nil,
	}
	tests := []struct {
		name string
		args actionstest.Args
		want bool
	}{
		{"nil matches every call", nil, true},
		{"empty matches every call", actionstest.Args{}, true},
		{"one argument", actionstest.Args{"target": "primary"}, true},
		{"another value", actionstest.Args{"target": "secondary"}, false},
		{"a missing argument", actionstest.Args{"op": "stop"}, false},
		{"Any needs the argument present", actionstest.Args{"op": actionstest.Any}, false},
		{"Any matches any value", actionstest.Args{"target": actionstest.Any, "argv": actionstest.Any}, true},
		{"an int equals an int64", actionstest.Args{"port": 9559}, true},
		{"a float equals an int64 of its value", actionstest.Args{"port": 9559.0}, true},
		{"a json.Number", actionstest.Args{"port": json.Number("9559")}, true},
		{"another number", actionstest.Args{"port": 9560}, false},
		{"a number is not its text", actionstest.Args{"port": "9559"}, false},
		{"a float", actionstest.Args{"ratio": float32(0.5)}, true},
		{"a []string equals a []any", actionstest.Args{"argv": []string{"/opt/setup.bin", "-i", "silent"}}, true},
		{"Any inside a list", actionstest.Args{"argv": []any{"/opt/setup.bin", actionstest.Any, actionstest.Any}}, true},
		{"a list of another length", actionstest.Args{"argv": []any{"/opt/setup.bin", actionstest.Any}}, false},
		{"a map compares all its keys", actionstest.Args{"env": map[string]string{"A": "1"}}, true},
		{"a map with a key more", actionstest.Args{"env": map[string]any{"A": "1", "B": "2"}}, false},
		{"a nested Args", actionstest.Args{"env": actionstest.Args{"A": actionstest.Any}}, true},
		{"a boolean", actionstest.Args{"enabled": true}, true},
		{"a boolean is not its text", actionstest.Args{"enabled": "true"}, false},
		{"a present nil", actionstest.Args{"none": nil}, true},
		{"every argument must match", actionstest.Args{"target": "primary", "enabled": false}, false},
	}
	for _, tt := range tests {
		if got := tt.args.Match(call); got != tt.want {
			t.Errorf("%s: %v.Match = %v, want %v", tt.name, tt.args, got, tt.want)
		}
	}
}

func TestArgsString(t *testing.T) {
	t.Parallel()
	got := actionstest.Args{"target": actionstest.Any, "argv": []string{"a<b", "\x1b[31m"}, "n": 1}.String()
	if want := `{"argv":["a<b","\u001b[31m"],"n":1,"target":<any>}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

// spyT is a testing.TB that notes what the fakes report to it.
type spyT struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  string
}

func (s *spyT) Helper() {}

func (s *spyT) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors = append(s.errors, fmt.Sprintf(format, args...))
}

func (s *spyT) Fatalf(format string, args ...any) {
	s.mu.Lock()
	s.fatal = fmt.Sprintf(format, args...)
	s.mu.Unlock()
	panic(s) // stands for runtime.Goexit: the caller recovers it
}

func (s *spyT) reported() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errors...)
}

func observe(t *testing.T, kit *actionstest.Kit, p actions.Probe, step string, args map[string]any) (any, error) {
	t.Helper()
	return p.Observe(context.Background(), kit.NewCall(step, "csm.ha", args))
}

func role(v any) any {
	m, _ := v.(map[string]any)
	return m["role"]
}

// Each matcher has its own script, in call order, whatever the order in
// which the targets are asked.
func TestFakeOnAnswersByArguments(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	ha := kit.Probe("csm.ha").
		On(actionstest.Args{"target": "primary"},
			actionstest.Returns(map[string]any{"role": "Active"}).Times(2),
			actionstest.Returns(map[string]any{"role": "Standby"})).
		On(actionstest.Args{"target": "secondary"},
			actionstest.Returns(map[string]any{"role": "Standby"}),
			actionstest.Returns(map[string]any{"role": "Active"}).After(time.Minute))
	calls := []struct {
		target string
		want   string
	}{
		{"secondary", "Standby"}, {"primary", "Active"}, {"secondary", "Active"},
		{"primary", "Active"}, {"primary", "Standby"}, {"secondary", "Active"}, {"primary", "Standby"},
	}
	for i, c := range calls {
		v, err := observe(t, kit, ha, "s", map[string]any{"target": c.target})
		if err != nil || role(v) != c.want {
			t.Errorf("call %d on %s = %v, %v; want role %s", i+1, c.target, v, err, c.want)
		}
	}
	if got := kit.Clock.Slept(); got != 2*time.Minute {
		t.Errorf("slept %v, want 2m (After on the secondary's second result, which repeats)", got)
	}
	if ha.Calls() != len(calls) {
		t.Errorf("Calls() = %d, want %d", ha.Calls(), len(calls))
	}
}

// The first matcher added that matches answers.
func TestFakeOnFirstMatchWins(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	a := kit.Action("csm.server").
		On(actionstest.Args{"target": "secondary", "op": "stop"}, actionstest.Fails(errors.New("stop refused"))).
		On(actionstest.Args{"target": actionstest.Any}, actionstest.Succeeds(actions.Outputs{"done": true}))
	_, err := a.Run(context.Background(), kit.NewCall("s", "csm.server", map[string]any{"target": "secondary", "op": "stop"}))
	if err == nil || err.Error() != "stop refused" {
		t.Errorf("stop on the secondary: err = %v, want the first matcher's", err)
	}
	out, err := a.Run(context.Background(), kit.NewCall("s", "csm.server", map[string]any{"target": "secondary", "op": "start"}))
	if err != nil || out["done"] != true {
		t.Errorf("start on the secondary = %v, %v; want the second matcher's outputs", out, err)
	}
}

// A call that no matcher matches fails, showing its arguments and the
// matchers, and fails the kit's test; with results given when the fake was
// made, those answer it instead.
func TestFakeOnUnmatched(t *testing.T) {
	t.Parallel()
	spy := &spyT{}
	kit := actionstest.NewKit(actionstest.WithTest(spy))
	ha := kit.Probe("csm.ha").
		On(actionstest.Args{"target": "primary"}, actionstest.Returns("Active")).
		On(actionstest.Args{"target": "secondary"}, actionstest.Returns("Standby"))
	_, err := observe(t, kit, ha, "check-standby", map[string]any{"target": "tertiary", "timeout": "5m"})
	if !errors.Is(err, actionstest.ErrUnmatched) || !errors.Is(err, actions.ErrPermanent) {
		t.Fatalf("unmatched call: err = %v, want ErrUnmatched and permanent", err)
	}
	want := `fake probe csm.ha (step check-standby): no matcher answers the call: its arguments are {"target":"tertiary","timeout":"5m"}; the matchers are {"target":"primary"}, {"target":"secondary"}`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant\n%s", err, want)
	}
	if got := spy.reported(); len(got) != 1 || got[0] != want {
		t.Errorf("reported to the test: %q, want the error", got)
	}
	if n := len(kit.Calls()); n != 1 {
		t.Errorf("%d calls noted, want the unmatched one too", n)
	}

	// An action refused this way is not retried by a runner.
	act := kit.Action("csm.takeover").On(actionstest.Args{"target": "secondary"})
	if _, err := act.Run(context.Background(), kit.NewCall("s", "csm.takeover", map[string]any{"target": "primary"})); !actions.IsPermanent(err) || !errors.Is(err, actionstest.ErrUnmatched) {
		t.Errorf("unmatched action: err = %v, want a permanent ErrUnmatched", err)
	}

	// With results of its own, the fake answers the other calls from them.
	quiet := actionstest.NewKit()
	dflt := quiet.Probe("csm.ha", actionstest.Returns("Unknown")).
		On(actionstest.Args{"target": "primary"}, actionstest.Returns("Active"))
	for target, want := range map[string]string{"primary": "Active", "tertiary": "Unknown"} {
		if v, err := observe(t, quiet, dflt, "s", map[string]any{"target": target}); err != nil || v != want {
			t.Errorf("%s = %v, %v; want %s", target, v, err, want)
		}
	}
}

// A matcher is copied when added: changing the caller's map later changes
// nothing.
func TestFakeOnCopiesTheMatcher(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	argv := []any{"/opt/setup.bin"}
	m := actionstest.Args{"target": "primary", "argv": argv}
	p := kit.Probe("csm.ha").On(m, actionstest.Returns("Active"))
	m["target"] = "secondary"
	argv[0] = "changed"
	if v, err := observe(t, kit, p, "s", map[string]any{"target": "primary", "argv": []any{"/opt/setup.bin"}}); err != nil || v != "Active" {
		t.Errorf("primary = %v, %v; want Active", v, err)
	}
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	roles := map[string]string{"primary": "Active", "secondary": "Standby"}
	target := func(call *actions.Call) string { s, _ := call.String("target"); return s }
	kit.Action("csm.takeover", actionstest.Answers(func(call *actions.Call) (any, error) {
		if roles[target(call)] != "Standby" {
			return nil, errors.New("IWNR9010E not a standby")
		}
		for k := range roles {
			roles[k] = "Standby"
		}
		roles[target(call)] = "Active"
		return actions.Outputs{"msg": "IWNR3063I"}, nil
	}))
	kit.Probe("csm.ha", actionstest.Answers(func(call *actions.Call) (any, error) {
		return map[string]any{"role": roles[target(call)]}, nil
	}).After(time.Second))
	kit.Action("bad", actionstest.Answers(func(*actions.Call) (any, error) { return "not outputs", nil }))
	reg := kit.Registry()

	ctx := context.Background()
	takeover, _ := reg.NewAction("csm.takeover")
	ha, _ := reg.NewProbe("csm.ha")
	if out, err := takeover.Run(ctx, kit.NewCall("s", "csm.takeover", map[string]any{"target": "secondary"})); err != nil || out["msg"] != "IWNR3063I" {
		t.Fatalf("takeover = %v, %v", out, err)
	}
	if _, err := takeover.Run(ctx, kit.NewCall("s", "csm.takeover", map[string]any{"target": "secondary"})); err == nil {
		t.Error("a second takeover on the new active server succeeded")
	}
	v, err := ha.Observe(ctx, kit.NewCall("s", "csm.ha", map[string]any{"target": "primary"}))
	if diff := cmp.Diff(map[string]any{"role": "Standby"}, v); diff != "" || err != nil {
		t.Errorf("primary after the takeover (-want +got), err %v:\n%s", err, diff)
	}
	if kit.Clock.Slept() != time.Second {
		t.Errorf("slept %v, want the 1s of After", kit.Clock.Slept())
	}
	bad, _ := reg.NewAction("bad")
	if _, err := bad.Run(ctx, kit.NewCall("s", "bad", nil)); err == nil || !strings.Contains(err.Error(), "Answers returned string, want actions.Outputs") {
		t.Errorf("bad Answers: err = %v", err)
	}
}

func TestRecorderKeepsArguments(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	install := kit.Action("csm.install")
	kit.Probe("csm.version", actionstest.Returns(map[string]any{"version": "6.3.11.0"}))
	reg := kit.Registry()
	ctx := context.Background()
	ver, _ := reg.NewProbe("csm.version")
	for _, target := range []string{"primary", "secondary"} {
		argv := []any{"/opt/setup.bin", "-i", "silent"}
		_, _ = install.Run(ctx, kit.NewCall("upgrade-"+target, "csm.install", map[string]any{"target": target, "argv": argv, "manager": "other"}))
		_, _ = ver.Observe(ctx, kit.NewCall("verify-"+target, "csm.version", map[string]any{"target": target}))
		argv[0] = "changed by the caller after the call"
	}

	got := kit.CallsTo("csm.install", actionstest.Args{"target": "secondary"})
	want := []actionstest.Call{{
		Kind: actions.KindAction, Name: "csm.install", Step: "upgrade-secondary", Attempt: 1, At: actionstest.Epoch,
		Args: map[string]any{"target": "secondary", "argv": []any{"/opt/setup.bin", "-i", "silent"}, "manager": "other"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CallsTo(csm.install, secondary) (-want +got):\n%s", diff)
	}
	steps := func(calls []actionstest.Call) []string {
		var out []string
		for _, c := range calls {
			out = append(out, c.Step)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		args actionstest.Args
		want []string
	}{
		{"csm.install", nil, []string{"upgrade-primary", "upgrade-secondary"}},
		{"", actionstest.Args{"target": "primary"}, []string{"upgrade-primary", "verify-primary"}},
		{"csm.version", actionstest.Args{"argv": actionstest.Any}, nil},
		{"", actionstest.Args{"argv": []any{"/opt/setup.bin", actionstest.Any, "silent"}}, []string{"upgrade-primary", "upgrade-secondary"}},
		{"csm.ha", nil, nil},
	} {
		if diff := cmp.Diff(tt.want, steps(kit.CallsTo(tt.name, tt.args))); diff != "" {
			t.Errorf("CallsTo(%q, %v) steps (-want +got):\n%s", tt.name, tt.args, diff)
		}
	}

	// What Calls returns is a copy: changing it changes no record.
	calls := kit.Calls()
	calls[0].Args["target"] = "changed"
	calls[0].Args["argv"].([]any)[1] = "changed"
	if diff := cmp.Diff(want[0].Args["argv"], kit.Calls()[2].Args["argv"]); diff != "" {
		t.Errorf("argv of the third call (-want +got):\n%s", diff)
	}
	if got := kit.Calls()[0].Args["target"]; got != "primary" {
		t.Errorf("changing Calls()[0].Args changed the record: target %v", got)
	}
}

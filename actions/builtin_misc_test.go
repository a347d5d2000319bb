package actions_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
)

func TestLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"message": "upgrading csm1"}, "upgrading csm1"},
		{map[string]any{"message": "disk almost full", "level": "warn"}, "warn: disk almost full"},
		{map[string]any{"message": "x", "level": "debug"}, "debug: x"},
	}
	for _, tt := range tests {
		var logged []string
		call := newCall("log", tt.args)
		call.Log = func(msg string) { logged = append(logged, msg) }
		a, _ := builtins(t).NewAction("log")
		out, err := a.Run(context.Background(), call)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, logged, []string{tt.want})
		assertEqual(t, out, actions.Outputs{"message": tt.args["message"]})
	}
	if _, err := runAction(t, "log", map[string]any{"message": "x", "level": "loud"}); err == nil || !strings.Contains(err.Error(), `argument "level"`) {
		t.Errorf("level loud: %v, want an error naming the argument", err)
	}
	if _, err := runAction(t, "log", map[string]any{"message": 3}); err == nil || !strings.Contains(err.Error(), `argument "message": want a string, got an integer`) {
		t.Errorf("message 3: %v", err)
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	clock := actionstest.NewClock(actionstest.Epoch)
	a, _ := builtins(t).NewAction("sleep")
	call := newCall("sleep", map[string]any{"duration": "1h30m"})
	call.Clock = clock
	if _, err := a.Run(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	if got := clock.Slept(); got != 90*time.Minute {
		t.Errorf("slept %v on the call's clock, want 1h30m", got)
	}

	ctx, cancel := clock.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, err := a.Run(ctx, call)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, context.Canceled) {
		t.Errorf("sleep under a 10m timeout = %v, want the deadline", err)
	}
	if got := clock.Slept(); got != 100*time.Minute {
		t.Errorf("slept %v in all, want 1h40m", got)
	}

	for _, args := range []map[string]any{{}, {"duration": "soon"}, {"duration": "-1s"}, {"duration": 30}} {
		if _, err := runAction(t, "sleep", args); err == nil || !strings.Contains(err.Error(), `argument "duration"`) || !actions.IsPermanent(err) {
			t.Errorf("sleep %v = %v, want a permanent error naming duration", args, err)
		}
	}
}

func TestManual(t *testing.T) {
	t.Parallel()
	args := map[string]any{"prompt": "Is the window open?", "details": "Check the change ticket."}
	run := func(ap actions.Approver) error {
		a, _ := builtins(t).NewAction("manual")
		call := newCall("manual", args)
		call.Step = "gate"
		call.Approver = ap
		_, err := a.Run(context.Background(), call)
		return err
	}

	var got actions.ApprovalRequest
	if err := run(actions.ApproverFunc(func(ctx context.Context, req actions.ApprovalRequest) (bool, error) {
		got = req
		return true, nil
	})); err != nil {
		t.Fatalf("approved: %v", err)
	}
	assertEqual(t, got, actions.ApprovalRequest{Step: "gate", Prompt: "Is the window open?", Details: "Check the change ticket."})

	if err := run(actions.AutoApprove{}); err != nil {
		t.Errorf("AutoApprove: %v", err)
	}

	err := run(actions.ApproverFunc(func(context.Context, actions.ApprovalRequest) (bool, error) { return false, nil }))
	if !errors.Is(err, actions.ErrApprovalRefused) || !actions.IsPermanent(err) || err.Error() != `manual step "gate": approval refused` {
		t.Errorf("refused: %v, want a permanent ErrApprovalRefused", err)
	}

	err = run(nil)
	if err == nil || !actions.IsPermanent(err) || err.Error() != `manual step "gate" needs an approver (run with --yes or on a terminal)` {
		t.Errorf("no approver: %v", err)
	}

	boom := errors.New("terminal closed")
	err = run(actions.ApproverFunc(func(context.Context, actions.ApprovalRequest) (bool, error) { return false, boom }))
	if !errors.Is(err, boom) || actions.IsPermanent(err) {
		t.Errorf("approver error: %v, want it wrapped", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ok, err := (actions.AutoApprove{}).Approve(ctx, actions.ApprovalRequest{}); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("AutoApprove with a cancelled context = %v, %v", ok, err)
	}
}

func TestValueProbe(t *testing.T) {
	t.Parallel()
	for _, v := range []any{"Active", int64(3), nil, []any{"a"}, map[string]any{"k": true}} {
		got, err := observe(t, "value", map[string]any{"value": v})
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, got, v)
	}
	if _, err := observe(t, "value", map[string]any{}); err == nil || !strings.Contains(err.Error(), `argument "value": is required`) {
		t.Errorf("no value: %v", err)
	}
}

func TestRegisterBuiltinsTwiceFails(t *testing.T) {
	t.Parallel()
	r := builtins(t)
	err := actions.RegisterBuiltins(r)
	if !errors.Is(err, actions.ErrDuplicate) {
		t.Fatalf("second RegisterBuiltins = %v, want ErrDuplicate", err)
	}
	if err := actions.RegisterBuiltins(nil); err == nil {
		t.Error("RegisterBuiltins(nil) = nil, want an error")
	}
}

func TestBuiltinSpecs(t *testing.T) {
	t.Parallel()
	r := builtins(t)
	assertEqual(t, r.Names(actions.KindAction), []string{"exec", "http", "log", "manual", "sleep"})
	assertEqual(t, r.Names(actions.KindProbe), []string{"exec", "http", "value"})
	mutates := map[string]bool{"exec": true, "http": true, "log": false, "manual": true, "sleep": false}
	for _, s := range r.Specs(actions.KindAction) {
		if s.Mutates != mutates[s.Name] {
			t.Errorf("action %s: Mutates = %v, want %v", s.Name, s.Mutates, mutates[s.Name])
		}
	}
	if d := actions.Default(); len(d.Names(actions.KindAction)) < 5 {
		t.Errorf("the default registry lacks the built-ins: %v", d.Names(actions.KindAction))
	}
}

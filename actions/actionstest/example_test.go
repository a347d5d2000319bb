package actionstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
)

// A kit scripts fakes and records their calls; its registry also holds the
// built-ins.
func ExampleKit() {
	kit := actionstest.NewKit()
	kit.Probe("csm.ha",
		actionstest.Returns(map[string]any{"role": "Standby"}).Times(2),
		actionstest.Returns(map[string]any{"role": "Active"}))
	kit.Action("csm.takeover",
		actionstest.Fails(errors.New("IWNR1234E busy")),
		actionstest.Succeeds(actions.Outputs{"msg": "IWNR3063I"}).After(time.Minute))
	reg := kit.Registry()

	ctx := context.Background()
	for attempt := 1; ; attempt++ {
		a, _ := reg.NewAction("csm.takeover")
		call := kit.NewCall("takeover", "csm.takeover", map[string]any{"target": "secondary"})
		call.Attempt = attempt
		out, err := a.Run(ctx, call)
		fmt.Println("attempt", attempt, out, err)
		if err == nil {
			break
		}
	}
	for {
		p, _ := reg.NewProbe("csm.ha")
		v, _ := p.Observe(ctx, kit.NewCall("takeover", "csm.ha", nil))
		fmt.Println("observed", v)
		if v.(map[string]any)["role"] == "Active" {
			break
		}
		_ = kit.Clock.Sleep(ctx, 30*time.Second)
	}
	fmt.Println(kit.Recorder.Names())
	fmt.Println("took", kit.Clock.Now().Sub(actionstest.Epoch))
	// Output:
	// attempt 1 map[] IWNR1234E busy
	// attempt 2 map[msg:IWNR3063I] <nil>
	// observed map[role:Standby]
	// observed map[role:Standby]
	// observed map[role:Active]
	// [a:csm.takeover a:csm.takeover p:csm.ha p:csm.ha p:csm.ha]
	// took 2m0s
}

// A 30-minute wait polled every 30 seconds takes microseconds on a virtual
// clock.
func ExampleClock() {
	clock := actionstest.NewClock(actionstest.Epoch)
	ctx, cancel := clock.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	polls := 0
	for clock.Sleep(ctx, 30*time.Second) == nil {
		polls++
	}
	fmt.Println(polls, "polls;", clock.Slept(), "slept; cause:", context.Cause(ctx))
	// Output:
	// 59 polls; 30m0s slept; cause: context deadline exceeded
}

// Fakes answer by argument: each matcher has its own results, in call
// order, so one probe can stand for both servers of a pair.
func ExampleFakeProbe_On() {
	kit := actionstest.NewKit()
	kit.Probe("csm.ha").
		On(actionstest.Args{"target": "primary"},
			actionstest.Returns(map[string]any{"role": "Active"}).Times(2),
			actionstest.Returns(map[string]any{"role": "Standby"})).
		On(actionstest.Args{"target": "secondary"},
			actionstest.Returns(map[string]any{"role": "Standby"}).Times(2),
			actionstest.Returns(map[string]any{"role": "Active"}))
	reg := kit.Registry()

	ctx := context.Background()
	for _, target := range []string{"primary", "secondary", "primary", "secondary", "primary", "secondary", "tertiary"} {
		p, _ := reg.NewProbe("csm.ha")
		v, err := p.Observe(ctx, kit.NewCall("check", "csm.ha", map[string]any{"target": target}))
		fmt.Println(target, v, err)
	}
	// Output:
	// primary map[role:Active] <nil>
	// secondary map[role:Standby] <nil>
	// primary map[role:Active] <nil>
	// secondary map[role:Standby] <nil>
	// primary map[role:Standby] <nil>
	// secondary map[role:Active] <nil>
	// tertiary <nil> fake probe csm.ha (step check): no matcher answers the call: its arguments are {"target":"tertiary"}; the matchers are {"target":"primary"}, {"target":"secondary"}
}

// With the real specs, a fake refuses the arguments the real action
// refuses; in a test, WithTest(t) makes such a call fail the test too.
func ExampleWithSpecs() {
	real := actions.NewRegistry()
	_ = real.RegisterAction(actions.Spec{
		Name:    "svc.restart",
		Summary: "Restart a service",
		Args:    json.RawMessage(`{"type":"object","additionalProperties":false,"required":["host"],"properties":{"host":{"type":"string"}}}`),
		Mutates: true,
	}, func() actions.Action {
		return actions.ActionFunc(func(context.Context, *actions.Call) (actions.Outputs, error) {
			return nil, errors.New("the real action: not in a test")
		})
	})

	kit := actionstest.NewKit(actionstest.WithSpecs(real))
	kit.Action("svc.restart", actionstest.Succeeds(actions.Outputs{"pid": int64(42)}))
	reg := kit.Registry()

	a, _ := reg.NewAction("svc.restart")
	for _, args := range []map[string]any{{"host": "db1"}, {"hots": "db1"}} {
		out, err := a.Run(context.Background(), kit.NewCall("restart", "svc.restart", args))
		fmt.Println(out, err)
	}
	// Output:
	// map[pid:42] <nil>
	// map[] fake action svc.restart (step restart): arguments refused by the real spec: arguments of action "svc.restart": unknown key "hots" (did you mean "host"?); the call's arguments: {"hots":"db1"}
}

// The recorder keeps each call's arguments; CallsTo picks the calls of a
// name whose arguments match.
func ExampleRecorder_CallsTo() {
	kit := actionstest.NewKit()
	kit.Action("csm.install")
	reg := kit.Registry()
	for _, target := range []string{"primary", "secondary"} {
		a, _ := reg.NewAction("csm.install")
		_, _ = a.Run(context.Background(), kit.NewCall("upgrade-"+target, "csm.install", map[string]any{"target": target, "version": "6.3.11.0"}))
	}
	for _, c := range kit.Recorder.CallsTo("csm.install", actionstest.Args{"target": "secondary", "version": actionstest.Any}) {
		fmt.Println(c, c.Args)
	}
	// Output:
	// step upgrade-secondary: action csm.install (attempt 1) map[target:secondary version:6.3.11.0]
}

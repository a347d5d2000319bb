package actionstest_test

import (
	"context"
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

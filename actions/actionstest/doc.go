// Package actionstest provides utilities for testing runbooks, runners and
// actions, as net/http/httptest does for HTTP handlers.
//
//   - [Clock] is a virtual clock: Sleep advances virtual time at once, so a
//     30-minute wait polled every 30 seconds costs microseconds, and the
//     timeouts made with WithTimeout fire as virtual time passes them.
//   - [FakeAction] and [FakeProbe] answer each call from a script of
//     [Result]s (succeed, fail, observe a value, take some virtual time,
//     panic); the last result repeats. A [Recorder] notes every call.
//   - [Kit] bundles a clock, a recorder and fakes, and builds a registry of
//     the built-ins and the fakes.
//   - [TestAction] and [TestProbe] are a conformance suite that the author of
//     an action or probe runs from a test, as testing/slogtest is for slog
//     handlers.
//
// A test of a plan scripts what each probe observes and each action does,
// runs the plan on the kit's registry and clock, then compares the calls:
//
//	kit := actionstest.NewKit()
//	kit.Probe("csm.ha",
//		actionstest.Returns(map[string]any{"role": "Standby"}).Times(2),
//		actionstest.Returns(map[string]any{"role": "Active"}))
//	kit.Action("csm.takeover", actionstest.Succeeds(actions.Outputs{"msg": "IWNR3063I"}))
//	reg := kit.Registry() // the built-ins and the fakes
//	// ... run the plan with reg and kit.Clock ...
//	// kit.Calls() lists every call in order; kit.Clock.Now() says how long it took.
package actionstest

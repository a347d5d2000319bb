// Package actionstest provides utilities for testing runbooks, runners and
// actions, as net/http/httptest does for HTTP handlers.
//
//   - [Clock] is a virtual clock: Sleep advances virtual time at once, so a
//     30-minute wait polled every 30 seconds costs microseconds, and the
//     timeouts made with WithTimeout fire as virtual time passes them.
//   - [FakeAction] and [FakeProbe] answer each call from a script of
//     [Result]s (succeed, fail, observe a value, take some virtual time,
//     panic, or compute the answer from the call with [Answers]); the last
//     result repeats. With matchers on arguments ([FakeProbe.On] and
//     [Args], [Any] as a wildcard) a fake answers by argument, each matcher
//     from its own script, and a call that none matches fails with
//     [ErrUnmatched].
//   - A [Recorder] notes every call with a copy of its arguments;
//     [Recorder.CallsTo] picks the calls of a name whose arguments match.
//   - [Kit] bundles a clock, a recorder and fakes, and builds a registry of
//     the built-ins and the fakes. With [WithSpecs] its fakes carry the real
//     specs and refuse, with [ErrArgsRefused], every call whose arguments
//     the real action or probe would refuse (its JSON Schema and its
//     Validate); with [WithTest] such mistakes fail the test.
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
//
// When a runbook asks two servers with the same probe, the fakes answer by
// argument, and the real specs check what the runbook passes:
//
//	kit := actionstest.NewKit(actionstest.WithTest(t), actionstest.WithSpecs(csmplan.Registry()))
//	kit.Probe("csm.ha").
//		On(actionstest.Args{"target": "primary"}, actionstest.Returns(map[string]any{"role": "Active"})).
//		On(actionstest.Args{"target": "secondary"},
//			actionstest.Returns(map[string]any{"role": "Standby"}).Times(3),
//			actionstest.Returns(map[string]any{"role": "Active"}))
//	// ... run ...
//	installs := kit.CallsTo("csm.install", actionstest.Args{"target": "primary"})
package actionstest

// Package csmtable is an example: table-driven tests of the CSM upgrade
// runbook, each scenario in milliseconds on a virtual clock, 90-minute
// waits included.
//
//   - csm_test.go: the mode without a standby, with the test kit of package
//     actionstest: the CSM probes and actions are scripted fakes that carry
//     the real specs (actionstest.WithSpecs), so that every call's arguments
//     are checked as in production.
//   - procedure_test.go: the DR mode against a fake pair written from the
//     procedure's notes alone, whose fakes answer each server through
//     matchers on the target argument (FakeProbe.On with actionstest.Args).
//   - dr_test.go: the DR mode against the simulated pair of package
//     csmtest, driven in the test's own process (csmtest.NewPairForTest,
//     Pair.CSMOptions, Pair.Params): success, faults that stop the run
//     before harm and faults it recovers from, the reports compared with
//     go-cmp.
package csmtable

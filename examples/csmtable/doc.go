// Package csmtable is an example: a table-driven test of the CSM upgrade
// runbook (the mode without a standby) with the test kit of package
// actionstest. The CSM probes and actions are scripted fakes with the real
// specs, on a virtual clock: each scenario runs in milliseconds, 90-minute
// waits included. See csm_test.go.
package csmtable

// Package examples holds runnable example programs and runbooks of
// csmplan:
//
//   - embed: a Go program that embeds csmplan, registers an action of its
//     own, loads its own runbook and runs it, watching the events;
//   - csmtable: a table-driven test of the CSM upgrade runbook with the
//     test kit (scripted fakes on a virtual clock).
//
// `go test ./...` builds and runs them.
package examples

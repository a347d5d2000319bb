package record_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/record"
)

// A run with a journal, then its change record, built from the journal
// alone.
func Example() {
	kit := actionstest.NewKit()
	kit.Probe("version", actionstest.Returns(map[string]any{"version": "1.0"}), actionstest.Returns(map[string]any{"version": "2.0"}))
	kit.Action("install")
	p, err := plan.Parse("upgrade.yaml", []byte(`apiVersion: csmplan/v1
kind: Runbook
name: upgrade
steps:
  - id: install
    pre:
      - {probe: version, expect: {path: version, equals: "1.0"}, save: version_before}
    action: install
    post:
      - {probe: version, expect: {path: version, equals: "2.0"}, save: version_after}
`), plan.WithRegistry(kit.Registry()))
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "upgrade.journal")
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		panic(err)
	}
	runner.Run(context.Background(), p, runner.Options{Clock: kit.Clock, Journal: j})
	j.Close()

	rec, err := record.Read(path)
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Runbook, rec.Outcome)
	for _, v := range rec.Values[:2] {
		fmt.Println(v.Name, plan.Format(v.Value))
	}
	for _, s := range rec.Steps {
		fmt.Println(s.ID, s.Outcome, len(s.Attempts), "attempt")
	}
	// rec.WriteMarkdown(os.Stdout), rec.WriteJSON, rec.WriteHTML render it.

	// Output:
	// upgrade succeeded
	// version_before {"version":"1.0"}
	// version_after {"version":"2.0"}
	// install succeeded 1 attempt
}

package record_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/record"
)

// BenchmarkRecord measures reading a journal of a 200-step run and
// rendering its change record in each format.
func BenchmarkRecord(b *testing.B) {
	kit := actionstest.NewKit()
	kit.Probe("version", actionstest.Returns(map[string]any{"version": "1.0"})) // the last answer repeats
	kit.Action("install")
	var src strings.Builder
	src.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: big\nsteps:\n")
	for i := range 200 {
		fmt.Fprintf(&src, "  - id: s%d\n    pre: [{probe: version, expect: {path: version, equals: \"1.0\"}}]\n    action: install\n", i)
	}
	p, err := plan.Parse("big.yaml", []byte(src.String()), plan.WithRegistry(kit.Registry()))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "big.journal")
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := runner.Run(context.Background(), p, runner.Options{Registry: kit.Registry(), Clock: actionstest.NewClock(actionstest.Epoch), Journal: j}); err != nil {
		b.Fatal(err)
	}
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
	for _, f := range []record.Format{record.Markdown, record.JSON, record.HTML} {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rec, err := record.Read(path)
				if err != nil {
					b.Fatal(err)
				}
				if err := rec.Write(io.Discard, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

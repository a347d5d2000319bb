package fleet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner/fleet"
)

// BenchmarkLoadAndRun loads and runs fleets of 100 and 1,000 units (no
// journals, max_parallel 100): the cost per unit (ns/unit) must not grow
// with the fleet.
func BenchmarkLoadAndRun(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("units=%d", n), func(b *testing.B) {
			kit := actionstest.NewKit()
			kit.Action("up.install")
			reg := kit.Registry()
			p, err := plan.Parse("up.yaml", []byte(testRunbook), plan.WithRegistry(reg))
			if err != nil {
				b.Fatal(err)
			}
			src := []byte(strings.Replace(fleetOf(names(n), nil, "  waves: {size: 250}\n  max_parallel: 100\n  max_failures: 10%\n"), "runbook: rb.yaml\n", "", 1))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := fleet.Parse("fleet.yaml", src, reg, fleet.WithDefaultRunbook(p), fleet.WithEnv(noEnv))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock}); err != nil {
					b.Fatal(err)
				}
				kit.Recorder.Reset()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/unit")
		})
	}
}

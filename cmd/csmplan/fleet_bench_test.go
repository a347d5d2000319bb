package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
)

// BenchmarkFleet runs the built-in upgrade over simulated fleets of 100
// and 1,000 pairs in this process, as run --simulate --pairs does
// (installers in process, zero install time, no journals), max_parallel
// 100. It reports the wall time per fleet (s/fleet) and per pair
// (ms/pair), and the peak of the memory the Go runtime mapped while the
// fleet ran (MiB-peak), pairs started included. Targets (issue 12): 1,000
// pairs in under 30 s and 1 GiB, and the time of 1,000 pairs at most 12
// times that of 100.
//
// Run it with: go test ./cmd/csmplan -run '^$' -bench BenchmarkFleet -benchtime 1x
//
// The installers run in process because a sim-control process per
// installer (as the single-pair --simulate does) costs ~13 ms of CPU each:
// measured with the binary on this project's 2-core machine, 1,000 pairs
// took 30.7 s with processes against 15.5 s in process.
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("pairs=%d", n), func(b *testing.B) {
			var total time.Duration
			var peak uint64
			for range b.N {
				d, p := runSimFleet(b, n, 100)
				total += d
				peak = max(peak, p)
			}
			per := total / time.Duration(b.N)
			b.ReportMetric(per.Seconds(), "s/fleet")
			b.ReportMetric(float64(per.Milliseconds())/float64(n), "ms/pair")
			b.ReportMetric(float64(peak)/(1<<20), "MiB-peak")
		})
	}
}

// runSimFleet starts n simulated pairs, runs the fleet that upgrades
// them, checks that every unit succeeded and the invariants held, and
// returns the wall time (pairs started included) and the peak of the
// memory mapped by the runtime meanwhile.
func runSimFleet(b *testing.B, n, parallel int) (time.Duration, uint64) {
	b.Helper()
	runtime.GC()
	stopSample, peak := samplePeak()
	begin := time.Now()
	sim, err := startFleet(n, nil, 0, "", true)
	if err != nil {
		b.Fatal(err)
	}
	defer sim.close()
	reg, err := csmplan.NewRegistry(sim.pairs[0].CSMOptions())
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "fleet.yaml")
	if err := sim.writeFleetFile(file, 0, parallel); err != nil {
		b.Fatal(err)
	}
	def, err := csmplan.LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	f, err := fleet.Load(file, reg, fleet.WithDefaultRunbook(def))
	if err != nil {
		b.Fatal(err)
	}
	rep, err := fleet.Run(context.Background(), f, fleet.Options{Registry: reg})
	elapsed := time.Since(begin)
	stopSample()
	if err != nil || rep.Count(runner.Succeeded) != n {
		b.Fatalf("fleet of %d: %d succeeded: %v", n, rep.Count(runner.Succeeded), err)
	}
	completed := map[string]bool{}
	for _, u := range rep.Units {
		completed[u.Name] = true
	}
	if line, violated := sim.verdict(completed); violated {
		b.Fatal(line)
	}
	return elapsed, *peak
}

// samplePeak samples the memory the Go runtime has mapped every 10 ms
// until stop is called, keeping the highest value.
func samplePeak() (stop func(), peak *uint64) {
	peak = new(uint64)
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			*peak = max(*peak, s[0].Value.Uint64())
			select {
			case <-t.C:
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }, peak
}

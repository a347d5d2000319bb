package runner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// generated returns a runbook of n steps, each a value precondition, a
// no-op action and a value postcondition.
func generated(n int) []byte {
	var b strings.Builder
	b.WriteString(header + "params:\n  ok: {type: boolean, default: true}\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - id: s%d\n    pre: [{value: \"${params.ok}\", expect: {equals: true}}]\n    action: noop\n    post: [{value: %d, expect: {gte: 0}}]\n", i, i)
	}
	return []byte(b.String())
}

func noopRegistry() *actions.Registry {
	reg := actions.NewRegistry()
	actions.MustRegister(reg.RegisterAction(actions.Spec{Name: "noop"}, func() actions.Action {
		return actions.ActionFunc(func(context.Context, *actions.Call) (actions.Outputs, error) { return nil, nil })
	}))
	return reg
}

// BenchmarkRun measures the runner's overhead per step (two value
// conditions and a no-op action). Report ns/step with -benchmem.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			reg := noopRegistry()
			p, err := plan.Parse("gen.yaml", generated(n), plan.WithRegistry(reg))
			if err != nil {
				b.Fatal(err)
			}
			clock := actionstest.NewClock(actionstest.Epoch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: clock}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/step")
		})
	}
}

// BenchmarkCondition measures one value condition with an equals matcher.
func BenchmarkCondition(b *testing.B) {
	reg := noopRegistry()
	src := header + "params:\n  role: {type: string, default: Active}\nsteps:\n  - id: s\n    pre: [{value: {role: \"${params.role}\"}, expect: {path: role, equals: Active}}]\n"
	p, err := plan.Parse("c.yaml", []byte(src), plan.WithRegistry(reg))
	if err != nil {
		b.Fatal(err)
	}
	clock := actionstest.NewClock(actionstest.Epoch)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: clock}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWaitDoesNotSpin checks that a 10s wait polled every 1s makes 11
// checks and sleeps 10 times on the clock, not more.
func TestWaitDoesNotSpin(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	probe := kit.Probe("never", actionstest.Returns(false))
	rep, _, _ := run(t, kit, "steps:\n  - id: s\n    pre: [{probe: never, wait: {timeout: 10s, interval: 1s}}]\n", runner.Options{})
	if probe.Calls() != 11 || rep.Steps[0].Pre[0].Waited != 10*time.Second || kit.Clock.Slept() != 10*time.Second {
		t.Errorf("calls %d, waited %s, slept %s: want 11 checks over 10s", probe.Calls(), rep.Steps[0].Pre[0].Waited, kit.Clock.Slept())
	}
}

// BenchmarkRunJournaled measures a run that keeps a journal (format 4:
// times, params, attempts and evidence, synced at each step's end) on
// this machine's disk: the cost of the change record. Report ns/step.
func BenchmarkRunJournaled(b *testing.B) {
	const n = 200
	reg := noopRegistry()
	p, err := plan.Parse("gen.yaml", generated(n), plan.WithRegistry(reg))
	if err != nil {
		b.Fatal(err)
	}
	clock := actionstest.NewClock(actionstest.Epoch)
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j, err := runner.OpenJournal(fmt.Sprintf("%s/%d.jsonl", dir, i), false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: clock, Journal: j}); err != nil {
			b.Fatal(err)
		}
		if err := j.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/step")
}

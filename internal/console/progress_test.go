package console

import (
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// TestProgressHoldsWhileAsking: while the operator is asked, the ticker
// draws nothing over the question.
func TestProgressHoldsWhileAsking(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	p := New(&b, Options{TTY: true, Plan: &plan.Plan{Filename: "rb.yaml"}, Now: func() time.Time { return now }})
	p.Observe(runner.Event{Kind: runner.AttemptStart, Index: 1, Count: 2, Message: "manual", Timeout: time.Hour})
	release := p.Hold()
	now = now.Add(3 * time.Second)
	p.tick()
	if b.String() != "" {
		t.Errorf("drawn while asking: %q", b.String())
	}
	release()
	p.tick()
	if want := "[1/2]   running manual: 3s of 1h"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	// An event ends the attempt's line; the ticker has nothing to draw.
	p.Observe(runner.Event{Kind: runner.AttemptEnd, Index: 1, Count: 2, Message: "manual"})
	b.Reset()
	p.tick()
	if b.String() != "" {
		t.Errorf("drawn after the attempt: %q", b.String())
	}
}

func TestShort(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{45 * time.Minute: "45m", 192 * time.Second: "3m12s", time.Hour: "1h",
		90 * time.Minute: "1h30m", 2500 * time.Millisecond: "2.5s", 63 * time.Second: "1m3s"} {
		if got := short(d); got != want {
			t.Errorf("short(%v) = %q, want %q", d, got, want)
		}
	}
}

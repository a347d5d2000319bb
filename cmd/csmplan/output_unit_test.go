package main

import (
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// TestStampWriter: each line, and each redraw after a carriage return,
// starts with the time; a line written in pieces gets it once.
func TestStampWriter(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.Local)
	w := newStampWriter(&b, func() time.Time { return at })
	for _, s := range []string{"one ", "line\nwait 1s", "\r\x1b[Kwait 2s", "\r\x1b[K", "[1/2] done\n", "\n"} {
		w.Write([]byte(s))
	}
	want := "15:04:05 one line\n15:04:05 wait 1s\r15:04:05 \x1b[Kwait 2s\r15:04:05 \x1b[K[1/2] done\n\n"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}

// TestProgressHoldsWhileAsking: while the operator is asked, the ticker
// draws nothing over the question.
func TestProgressHoldsWhileAsking(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	p := newProgress(&b, false, true, &plan.Plan{Filename: "rb.yaml"})
	p.now = func() time.Time { return now }
	p.Observe(runner.Event{Kind: runner.AttemptStart, Index: 1, Count: 2, Message: "manual", Timeout: time.Hour})
	release := p.hold()
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

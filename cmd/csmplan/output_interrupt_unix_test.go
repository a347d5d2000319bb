//go:build unix

package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestInterruptedPlanSpeaksOfNoUpgrade: a dry run interrupted while it
// probes says so, and says nothing of resuming an upgrade.
func TestInterruptedPlanSpeaksOfNoUpgrade(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a guard only
	defer cancel()
	// Each response of the simulated pair takes 50ms: the plan is still
	// probing when the first condition starts.
	p := start(t, ctx, t.TempDir(), "plan", "--simulate", "--fault", "slow-response", "--json")
	p.waitFor(`"type":"condition.start"`, `"step":"check-primary"`)
	p.signal(os.Interrupt)
	if code := p.exitCode(time.Minute); code != exitInterrupted {
		t.Fatalf("exit %d, want %d: %v", code, exitInterrupted, p)
	}
	stderr := p.stderr.String()
	if !strings.Contains(stderr, "interrupted: the dry run stopped; it changed nothing") {
		t.Errorf("no word of the interruption: %v", p)
	}
	for _, bad := range []string{"resume", "journal", "the upgrade stopped"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("the dry run speaks of %q: %v", bad, p)
		}
	}
}

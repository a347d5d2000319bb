package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/internal/console"
)

// TestTerminalFleetTable: on a terminal, a fleet shows a table redrawn in
// place, one line per running unit (its step, the wait or action in
// progress) under the counts by outcome, each line cut to the terminal's
// width; the unit ends are printed above it.
func TestTerminalFleetTable(t *testing.T) {
	t.Parallel()
	const cols = 60
	screen, stderr, code := onTerminal(t, cols, []string{"COLUMNS=200"}, "run", "--simulate", "--pairs", "3", "--max-parallel", "2", "--install-time", "1500ms", "--yes")
	if code != exitOK {
		t.Fatalf("exit %d\n%q\nstderr:\n%s", code, screen, stderr)
	}
	if !regexp.MustCompile(`\x1b\[\d+A\r\x1b\[J`).MatchString(screen) {
		t.Errorf("the table is not redrawn in place:\n%q", screen)
	}
	for _, want := range []string{"fleet: 2 running, 1 succeeded", "  pair-002 [", "  pair-003 [", "[pair-001] ✓ succeeded in", "simulator: invariants held on 3 pairs"} {
		if !strings.Contains(screen, want) {
			t.Errorf("no %q on the screen:\n%q", want, screen)
		}
	}
	if testing.Verbose() {
		t.Logf("screen:\n%s", screen)
	}
	if strings.Contains(screen, "] [7/15] ✓") {
		t.Errorf("step lines are printed on a terminal, where the table shows them:\n%q", screen)
	}
	clear := regexp.MustCompile(`^(\x1b\[\d+A|\x1b\[J)+`)
	for _, s := range segments(screen) {
		s = clear.ReplaceAllString(s, "")
		if !strings.HasPrefix(s, "fleet: ") && !strings.HasPrefix(s, "  pair-") {
			continue // a line printed once, not redrawn
		}
		if w := console.DisplayWidth(s); w >= cols {
			t.Errorf("a line of %d columns on a terminal of %d: %q", w, cols, s)
		}
	}
}

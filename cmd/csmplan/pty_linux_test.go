package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/internal/ptytest"
)

// openPTY opens a pseudo-terminal of cols columns (see ptytest.Open).
func openPTY(t *testing.T, cols int) (master, tty *os.File) { return ptytest.Open(t, cols) }

// onTerminal runs the binary with its stdin and stdout on a terminal of
// cols columns and returns what it wrote there, and on stderr.
func onTerminal(t *testing.T, cols int, env []string, args ...string) (screen, stderr string, code int) {
	t.Helper()
	master, tty := openPTY(t, cols)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = t.TempDir(), append(testEnv(), env...), 5*time.Second
	var errBuf bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child has it; the master reads EIO once the child has gone
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO
		read <- b
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("csmplan %s: %v", strings.Join(args, " "), err)
	}
	out := <-read
	return string(out), errBuf.String(), cmd.ProcessState.ExitCode()
}

// segments splits terminal output where the cursor goes back to the start
// of a line: what each redraw, or each line, wrote.
func segments(screen string) []string {
	return strings.FieldsFunc(screen, func(r rune) bool { return r == '\r' || r == '\n' })
}

// TestTerminalRedrawsFitTheWidth: on a terminal 50 columns wide, the lines
// redrawn in place (the install, the waits) are cut to fit it, and the
// installer's wait for its server is redrawn, not scrolled.
func TestTerminalRedrawsFitTheWidth(t *testing.T) {
	t.Parallel()
	const cols = 50
	screen, stderr, code := onTerminal(t, cols, []string{"COLUMNS=200"}, "run", "--simulate", "--yes", "-p", "maintain_dr=false", "--install-time", "2500ms")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\nstderr:\n%s", code, screen, stderr)
	}
	// The install is shown on a line redrawn in place: the ticking line
	// while the installer says nothing, then its wait for the server
	// (action.progress), never ended by a line break of its own.
	if !strings.Contains(screen, "\r\x1b[K") || !strings.Contains(screen, "[7/15]   still waiting for primary ") {
		t.Errorf("the installer's wait is not shown:\n%q", screen)
	}
	if m := regexp.MustCompile(`still waiting[^\r\n]*\r?\n`).FindString(screen); m != "" {
		t.Errorf("the installer's wait scrolls instead of being redrawn: %q", m)
	}
	for _, s := range segments(screen) {
		s = strings.TrimPrefix(s, "\x1b[K")
		if strings.Contains(s, "]   running ") || strings.Contains(s, "]   waiting for ") || strings.Contains(s, "]   still waiting ") {
			if w := console.DisplayWidth(s); w >= cols {
				t.Errorf("a redrawn line of %d columns on a terminal of %d: %q", w, cols, s)
			}
		}
	}
}

// TestTerminalPlanShowsProbing: on a terminal, plan shows what it probes
// on a line redrawn in place, and its table fits the terminal.
func TestTerminalPlanShowsProbing(t *testing.T) {
	t.Parallel()
	const cols = 60
	screen, stderr, code := onTerminal(t, cols, nil, "plan", "--simulate")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\nstderr:\n%s", code, screen, stderr)
	}
	if !strings.Contains(screen, "probing: ") || !strings.Contains(screen, " on step 2") {
		t.Errorf("no probing line:\n%q", screen)
	}
	table := tableLines(strings.NewReplacer("\r\x1b[K", "\n", "\r\n", "\n").Replace(screen))
	if len(table) < 16 {
		t.Fatalf("no table:\n%q", screen)
	}
	for _, s := range append(table, segments(screen)...) {
		s = strings.TrimPrefix(s, "\x1b[K")
		if !strings.HasPrefix(s, "probing: ") && !slices.Contains(table, s) {
			continue
		}
		if w := console.DisplayWidth(s); w > cols {
			t.Errorf("a line of %d columns on a terminal of %d: %q", w, cols, s)
		}
	}
}

package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Usage errors exit 2 and say what is wrong, before any connection (the
// address here answers nothing); -h exits 0.
func TestUsage(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Commands:"},
		{[]string{"-h"}, exitOK, "csmplan-temporal <command>"},
		{[]string{"help", "run"}, exitOK, "Usage: csmplan-temporal run"},
		{[]string{"nope"}, exitUsage, `unknown command "nope"`},
		{[]string{"status", "--address", "127.0.0.1:1"}, exitUsage, "want one WORKFLOW-ID"},
		{[]string{"cancel", "--address", "127.0.0.1:1", "a", "b"}, exitUsage, "want one WORKFLOW-ID"},
		{[]string{"report", "--address", "127.0.0.1:1", "--format", "pdf", "x"}, exitUsage, "pdf"},
		{[]string{"approve", "--bogus", "x"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"worker", "--address", "127.0.0.1:1", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"run", "--address", "127.0.0.1:1", "a.yaml", "b.yaml"}, exitUsage, "one runbook at most"},
		{[]string{"run", "--address", "127.0.0.1:1"}, exitUsage, "param primary: required"},
		{[]string{"run", "--address", "127.0.0.1:1", "none.yaml"}, exitUsage, "run: none.yaml: no such file or directory"},
		{[]string{"run", "--address", "127.0.0.1:1", "--fleet", "f.yaml", "-p", "a=b"}, exitUsage, "no --params or -p"},
		{[]string{"status", "--address", "127.0.0.1:1", "x"}, exitFailed, "cannot reach Temporal at 127.0.0.1:1"},
	} {
		p := start(t, ctx, dir, temporalBin, c.args...)
		if code := p.exitCode(); code != c.code || !strings.Contains(p.output(), c.want) {
			t.Errorf("%v: exit %d, want %d and %q: %v", c.args, code, c.code, c.want, p)
		}
	}
}

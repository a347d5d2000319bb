package console

import (
	"errors"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/internal/boundarytest"
)

func TestPrintf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"%s: %v\n", []any{"title \x1b[2J", errors.New("IWNR1234E: \x1b[31m\nforged")}, "title \\x1b[2J: IWNR1234E: \\x1b[31m\\nforged\n"},
		{"%q %d %-6s|", []any{"a\x1bb", 42, "x\u202e"}, `"a\x1bb" 42 x\u202e    |`},
		{"%s%s", []any{Ours("\x1b[1m"), "bold\x1b"}, "\x1b[1mbold\\x1b"},
		{"%s", []any{Block("one\x1b\ntwo\r\n")}, "one\\x1b\ntwo\\r\n"},
		{"%v", []any{[]string{"a\x1b"}}, `[a\x1b]`},
	}
	for _, tt := range tests {
		var b strings.Builder
		Printf(&b, tt.format, tt.args...)
		if got := b.String(); got != tt.want {
			t.Errorf("Printf(%q, %q) = %q, want %q", tt.format, tt.args, got, tt.want)
		}
	}
}

// TestOneOutputBoundary keeps every write of the package in output.go:
// elsewhere, it prints with Printf, never with fmt or io directly.
func TestOneOutputBoundary(t *testing.T) {
	t.Parallel()
	boundarytest.Check(t, ".", "output.go", "print with Printf (output.go)")
}

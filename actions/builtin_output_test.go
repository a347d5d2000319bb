package actions

import (
	"strings"
	"testing"
)

func TestCappedBuffer(t *testing.T) {
	t.Parallel()
	b := newCappedBuffer(10)
	for _, s := range []string{"hello ", "world, ", "this is long"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want every byte taken", s, n, err)
		}
	}
	if got, want := b.String(), "hello worl\n[truncated 15 bytes]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := b.Tail(), "hello world, this is long"; got != want {
		t.Errorf("Tail() = %q, want %q", got, want)
	}

	// The tail keeps the last tailSize bytes, across many small writes and
	// one large one.
	b = newCappedBuffer(4)
	for i := range tailSize + 100 {
		b.Write([]byte{byte('a' + i%26)})
	}
	tail := b.Tail()
	if len(tail) != tailSize || tail[len(tail)-1] != byte('a'+(tailSize+99)%26) {
		t.Errorf("Tail() has %d bytes ending %q", len(tail), tail[len(tail)-1:])
	}
	big := strings.Repeat("x", tailSize) + "END"
	b.Write([]byte(big))
	if got := b.Tail(); got != big[len(big)-tailSize:] {
		t.Errorf("Tail() after a large write ends %q", got[len(got)-5:])
	}

	if got := newCappedBuffer(10).String(); got != "" {
		t.Errorf("empty buffer String() = %q", got)
	}
}

func TestLastLines(t *testing.T) {
	t.Parallel()
	if got, want := lastLines("a\nb\r\n\n  c  \nd\n\n", 3), "b | c | d"; got != want {
		t.Errorf("lastLines = %q, want %q", got, want)
	}
	if got := lastLines(strings.Repeat("y", 2000), 3); len(got) != 512 || !strings.HasPrefix(got, "...") {
		t.Errorf("lastLines of a long line: %d bytes, want 512 starting with ...", len(got))
	}
	if got := lastLines("\n\n", 3); got != "" {
		t.Errorf("lastLines of blank lines = %q, want empty", got)
	}
}

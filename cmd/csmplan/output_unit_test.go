package main

import (
	"strings"
	"testing"
	"time"
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

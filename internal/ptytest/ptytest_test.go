//go:build linux

package ptytest_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/csmplan/csmplan/internal/ptytest"
)

// What is written on the terminal is read on the master, at the width
// asked.
func TestOpen(t *testing.T) {
	master, tty := ptytest.Open(t, 57)
	if ws, err := unix.IoctlGetWinsize(int(tty.Fd()), unix.TIOCGWINSZ); err != nil || ws.Col != 57 {
		t.Fatalf("width %v, %v", ws, err)
	}
	if _, err := tty.WriteString("hello\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := master.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "hello") {
		t.Errorf("read %q, %v", buf[:n], err)
	}
}

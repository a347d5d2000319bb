//go:build linux

// Package ptytest opens pseudo-terminals for the tests that run a program
// on a terminal (csmplan's and csmplan-temporal's prompts and redraws).
package ptytest

import (
	"os"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Open opens a pseudo-terminal of cols columns: the master, to read what
// the program writes and to type, and the terminal the program is given.
// Both close at the test's end. A machine without /dev/ptmx skips the
// test, saying so.
func Open(t testing.TB, cols int) (master, tty *os.File) {
	t.Helper()
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	must("unlockpt", unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	must("ptsname", err)
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	must("open the terminal", err)
	t.Cleanup(func() { tty.Close() })
	must("set the width", unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: uint16(cols)}))
	return master, tty
}

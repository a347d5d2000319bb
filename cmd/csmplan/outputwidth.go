package main

import (
	"os"
	"strconv"
	"strings"
)

// defaultWidth is the width of a terminal that does not say its own.
const defaultWidth = 80

// outputWidth is the number of columns that a line of the progress may
// take: on a terminal, the terminal's width (TIOCGWINSZ), else $COLUMNS,
// else 80; off a terminal, $COLUMNS when it is set, else 0 (no limit: a
// log keeps whole lines). It is asked again at each redraw, so that a
// resized terminal is followed.
func outputWidth(e *env, f *os.File, tty bool) int {
	if tty {
		if n := termWidth(f); n > 0 {
			return n
		}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(e.getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	if tty {
		return defaultWidth
	}
	return 0
}

package console

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// runeWidth is the number of columns r takes on a terminal: 0 for a
// combining mark, 2 for a wide (East Asian or emoji) character, else 1.
func runeWidth(r rune) int {
	switch {
	case r == 0:
		return 0
	case unicode.In(r, unicode.Mn, unicode.Me):
		return 0
	case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf && r != 0x303f, r >= 0xac00 && r <= 0xd7a3,
		r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f, r >= 0xff00 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6,
		r >= 0x1f300 && r <= 0x1f64f, r >= 0x1f900 && r <= 0x1f9ff, r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}

// DisplayWidth is the number of columns s takes on a terminal. The SGR
// sequences of the displays' colours (ESC [ ... m) take none.
func DisplayWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if j := sgrEnd(s, i); j > i {
			i = j
			continue
		}
		r, size := rune(s[i]), 1
		if r >= 0x80 {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		n += runeWidth(r)
		i += size
	}
	return n
}

// Fit cuts s to at most n columns, ending it with "…" when it was cut;
// n <= 0 is no limit. SGR sequences are kept whole, and a reset closes a
// cut coloured line.
func Fit(s string, n int) string {
	if n <= 0 || DisplayWidth(s) <= n {
		return s
	}
	var b strings.Builder
	cols, coloured := 0, false
	for i := 0; i < len(s); {
		if j := sgrEnd(s, i); j > i {
			b.WriteString(s[i:j])
			coloured = s[i:j] != "\x1b[0m"
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		w := runeWidth(r)
		if cols+w > n-1 {
			break
		}
		b.WriteString(s[i : i+size])
		cols += w
		i += size
	}
	b.WriteString("…")
	if coloured {
		b.WriteString("\x1b[0m")
	}
	return b.String()
}

// sgrEnd returns the end of the SGR sequence (ESC [ digits ; m) at s[i:],
// or i when there is none.
func sgrEnd(s string, i int) int {
	if !strings.HasPrefix(s[i:], "\x1b[") {
		return i
	}
	for j := i + 2; j < len(s); j++ {
		switch c := s[j]; {
		case c == 'm':
			return j + 1
		case c == ';' || c >= '0' && c <= '9':
		default:
			return i
		}
	}
	return i
}

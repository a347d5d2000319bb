// Package termsafe makes text that comes from outside the program — a
// server's message, a process's output, a runbook, a command line — safe
// to show on a terminal or to put in a report: the characters a terminal
// or a text viewer would act on instead of showing are replaced by visible
// escapes, so that such text cannot clear the screen, move the cursor, set
// the window title, forge a line of output or reorder what is shown.
//
// Escaped are:
//
//   - the C0 controls U+0000–U+001F (ESC among them) and DEL U+007F, as
//     \x1b, \x7f, ...; \n, \r and \t as \n, \r and \t;
//   - the C1 controls U+0080–U+009F (which some terminals obey as ESC
//     sequences), as \u009b, ...;
//   - a byte that is not part of valid UTF-8 (a lone 0x9b is CSI to a
//     terminal not in UTF-8 mode), as \x9b;
//   - the Unicode bidirectional formatting characters U+061C, U+200E,
//     U+200F, U+202A–U+202E and U+2066–U+2069 (which reorder the text
//     shown, as in "Trojan Source"), as \u202e, ...;
//   - the line and paragraph separators U+2028 and U+2029, which some
//     viewers and YAML treat as line breaks, as \u2028 and \u2029.
//
// A tab is kept: it only moves the cursor to the next tab stop. A newline
// is kept only by [Text], for a block of several lines that is meant as
// such; [String] escapes it, so that a one-line field (a title, a message,
// an error) stays one line and cannot forge the next one. The escapes are
// for people to read: a backslash is not itself escaped, so the result is
// not meant to be decoded.
package termsafe

import (
	"strconv"
	"unicode/utf8"
)

// String returns s with every character a terminal would act on escaped,
// for one line of output: \n and \r are escaped too, \t is kept. A string
// with nothing to escape is returned as it is.
func String(s string) string { return escape(s, false) }

// Text returns s escaped like [String] but with its newlines kept, for a
// block of several lines meant as such (a document, a diff, a rendered
// list of problems). \r is escaped: alone it returns to the start of the
// line, where what follows would overwrite what was shown.
func Text(s string) string { return escape(s, true) }

// JSON returns the encoded JSON b with every character [String] escapes
// inside its strings written as a JSON escape (\u001b, \u009b, \u202e,
// ...), which a JSON decoder reads back as the same character: the result
// decodes to the same value, and is safe to show on a terminal. It is for
// the output of encoding/json, which already escapes C0 controls but
// writes DEL, C1 controls and bidirectional formatting characters as they
// are. Whitespace between JSON tokens (\t, \n, \r) is kept. A byte that is
// not valid UTF-8 is written as \ufffd, as encoding/json itself does.
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if mustEscape(r, n) && !isJSONSpace(r) {
			break
		}
		i += n
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\ufffd`...)
		case mustEscape(r, n) && !isJSONSpace(r):
			out = appendU(out, r)
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

func isJSONSpace(r rune) bool { return r == '\t' || r == '\n' || r == '\r' }

// mustEscape reports whether the rune r, decoded from n bytes, is one the
// package escapes (\t, which is always kept, excepted).
func mustEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1: // an invalid byte
		return true
	case r < 0x20:
		return r != '\t'
	case r < 0x7f:
		return false
	case r <= 0x9f: // DEL and the C1 controls
		return true
	}
	return isFormat(r)
}

// isFormat reports whether r is a bidirectional formatting character or a
// line or paragraph separator.
func isFormat(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x2028 && r <= 0x202e: // LS, PS, LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	}
	return false
}

func escape(s string, keepNewline bool) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if mustEscape(r, n) && !(keepNewline && r == '\n') {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	out := make([]byte, 0, len(s)+16)
	out = append(out, s[:i]...)
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !mustEscape(r, n) || keepNewline && r == '\n':
			out = append(out, s[i:i+n]...)
		case r == '\n':
			out = append(out, `\n`...)
		case r == '\r':
			out = append(out, `\r`...)
		case r == utf8.RuneError || r < 0x80: // an invalid byte, a C0 control or DEL
			out = appendX(out, s[i])
		default:
			out = appendU(out, r)
		}
		i += n
	}
	return string(out)
}

const hex = "0123456789abcdef"

// appendX appends \xHH.
func appendX(out []byte, c byte) []byte {
	return append(out, '\\', 'x', hex[c>>4], hex[c&0xf])
}

// appendU appends \uHHHH.
func appendU(out []byte, r rune) []byte {
	s := strconv.FormatInt(int64(r), 16)
	out = append(out, '\\', 'u')
	for range 4 - len(s) {
		out = append(out, '0')
	}
	return append(out, s...)
}

package actions

import (
	"fmt"
	"strconv"
	"strings"
)

// Level is a code level (a version) such as 6.3.11.0: dotted numbers,
// compared part by part, with missing trailing parts read as 0 (6.3.11 is
// 6.3.11.0). A build suffix after the numbers (6.3.11.0-b20261101,
// "6.3.11.0 build 42", 6.3.11+7) is kept for display but is not part of
// the level.
type Level struct {
	parts  []int64 // trailing zeros trimmed
	suffix string  // the build suffix as given, such as "-b20261101"
}

// ParseLevel reads a level: an optional "v", then one or more dot-separated
// numbers, then an optional build suffix that starts with a character other
// than a digit or a dot.
func ParseLevel(s string) (Level, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(strings.TrimPrefix(t, "v"), "V")
	end := 0
	for end < len(t) && (t[end] == '.' || (t[end] >= '0' && t[end] <= '9')) {
		end++
	}
	nums, suffix := strings.TrimRight(t[:end], "."), t[end:]
	if nums == "" || (suffix != "" && !isSuffixStart(suffix[0])) {
		return Level{}, fmt.Errorf("%q is not a version: want dotted numbers such as 6.3.11.0, optionally followed by a build suffix", s)
	}
	var parts []int64
	for _, p := range strings.Split(nums, ".") {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return Level{}, fmt.Errorf("%q is not a version: part %q is not a number", s, p)
		}
		parts = append(parts, n)
	}
	for len(parts) > 1 && parts[len(parts)-1] == 0 {
		parts = parts[:len(parts)-1]
	}
	return Level{parts: parts, suffix: suffix}, nil
}

// isSuffixStart reports whether c may start a build suffix: anything but a
// letter glued to the numbers is fine ("-", "+", "_", " ", "("), and so are
// letters ("6.3.11b7"): only digits and dots belong to the level.
func isSuffixStart(c byte) bool { return c != '.' && (c < '0' || c > '9') }

// Compare returns -1, 0 or +1 as l is lower than, the same level as, or
// higher than o. Build suffixes are ignored.
func (l Level) Compare(o Level) int {
	for i := 0; i < max(len(l.parts), len(o.parts)); i++ {
		var x, y int64
		if i < len(l.parts) {
			x = l.parts[i]
		}
		if i < len(o.parts) {
			y = o.parts[i]
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

// String returns the level without its build suffix and without trailing
// ".0" parts beyond the first: 6.3.11.0-b7 reads "6.3.11".
func (l Level) String() string {
	var b strings.Builder
	for i, p := range l.parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(p, 10))
	}
	return b.String()
}

// Suffix returns the build suffix as given ("" when there is none).
func (l Level) Suffix() string { return l.suffix }

// SameLevel reports whether a and b are versions of the same level
// (6.3.11, 6.3.11.0 and 6.3.11.0-b7 are); false when either is not a
// version.
func SameLevel(a, b string) bool {
	la, err := ParseLevel(a)
	if err != nil {
		return false
	}
	lb, err := ParseLevel(b)
	return err == nil && la.Compare(lb) == 0
}

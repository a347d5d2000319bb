package plan

import (
	"bytes"
	"sort"
	"sync"
	"unicode/utf8"
)

// source is the text of a runbook with an index of its lines, built once on
// first use and shared by the loader and every error of one load, so that
// locating or drawing many problems never splits the text again.
//
// Lines are counted the way YAML counts them: a line ends at "\r\n", "\n",
// "\r", NEL (U+0085), LS (U+2028) or PS (U+2029). A byte order mark at the
// start is not part of the first line, as it takes no column in yaml.v3's
// positions nor in an editor.
type source struct {
	text []byte

	once   sync.Once
	starts []int // byte offset of the first byte of each line

	mu    sync.Mutex
	marks map[int][]int // for long lines: byte offset of every runeMark-th rune
}

func newSource(text []byte) *source { return &source{text: text} }

var byteOrderMark = []byte("\ufeff")

func (s *source) index() {
	s.once.Do(func() {
		starts := make([]int, 1, bytes.Count(s.text, []byte("\n"))+1)
		if bytes.HasPrefix(s.text, byteOrderMark) {
			starts[0] = len(byteOrderMark)
		}
		for i := starts[0]; i < len(s.text); {
			// Every line break begins with one of these bytes.
			j := indexBreakStart(s.text[i:])
			if j < 0 {
				break
			}
			i += j
			if n := lineBreak(s.text[i:]); n > 0 {
				i += n
				starts = append(starts, i)
				continue
			}
			i++
		}
		s.starts = starts
	})
}

// indexBreakStart returns the index of the first byte in b that may start a
// line break, or -1.
func indexBreakStart(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' || c == 0xC2 || c == 0xE2 {
			return i
		}
	}
	return -1
}

// lines returns the number of lines; text ending with a line break has an
// empty last line.
func (s *source) lines() int {
	s.index()
	return len(s.starts)
}

// lineStart returns the byte offset of line n (1-based).
func (s *source) lineStart(n int) int {
	s.index()
	return s.starts[n-1]
}

// lineEnd returns the byte offset just after line n, its line break included.
func (s *source) lineEnd(n int) int {
	s.index()
	if n < len(s.starts) {
		return s.starts[n]
	}
	return len(s.text)
}

// line returns line n (1-based) without its line break; nil if there is no
// such line.
func (s *source) line(n int) []byte {
	if n < 1 || n > s.lines() {
		return nil
	}
	start, end := s.starts[n-1], s.lineEnd(n)
	if n < len(s.starts) {
		end -= breakBefore(s.text[:end])
	}
	return s.text[start:end]
}

// breakBefore returns the length of the line break that ends b.
func breakBefore(b []byte) int {
	n := len(b)
	switch {
	case n >= 2 && b[n-2] == '\r' && b[n-1] == '\n':
		return 2
	case n >= 1 && (b[n-1] == '\n' || b[n-1] == '\r'):
		return 1
	case n >= 2 && b[n-2] == 0xC2 && b[n-1] == 0x85:
		return 2
	case n >= 3 && b[n-3] == 0xE2 && b[n-2] == 0x80 && (b[n-1] == 0xA8 || b[n-1] == 0xA9):
		return 3
	}
	return 0
}

// pos returns the line and column (in runes, 1-based) of a byte offset.
func (s *source) pos(off int) Pos {
	s.index()
	if off < s.starts[0] {
		return Pos{Line: 1, Column: 1}
	}
	n := sort.Search(len(s.starts), func(i int) bool { return s.starts[i] > off }) // line n starts at or before off
	return Pos{Line: n, Column: utf8.RuneCount(s.text[s.starts[n-1]:off]) + 1}
}

// runeMark is the spacing of the marks kept for long lines.
const runeMark = 1024

// runeOffset returns the byte offset, within line n, of the rune at index r
// (0-based), or the length of the line when it is shorter. On long lines it
// starts from a mark, so that locating many columns on one line (a runbook
// written as one line of JSON) stays linear.
func (s *source) runeOffset(line []byte, n, r int) int {
	if len(line) <= runeMark {
		return runeBytes(line, 0, r)
	}
	s.mu.Lock()
	marks, ok := s.marks[n]
	if !ok {
		for i, k := 0, 0; i < len(line); k++ {
			if k%runeMark == 0 {
				marks = append(marks, i)
			}
			_, size := utf8.DecodeRune(line[i:])
			i += size
		}
		if s.marks == nil {
			s.marks = map[int][]int{}
		}
		s.marks[n] = marks
	}
	s.mu.Unlock()
	m := min(r/runeMark, len(marks)-1)
	return runeBytes(line, marks[m], r-m*runeMark)
}

// runeBytes returns the byte offset reached after r runes from off in b.
func runeBytes(b []byte, off, r int) int {
	for ; r > 0 && off < len(b); r-- {
		_, size := utf8.DecodeRune(b[off:])
		off += size
	}
	return off
}

// lineBreak returns the length of the line break at the start of b, or 0.
func lineBreak(b []byte) int {
	switch {
	case b[0] == '\n':
		return 1
	case b[0] == '\r':
		if len(b) > 1 && b[1] == '\n' {
			return 2
		}
		return 1
	case b[0] == 0xC2 && len(b) > 1 && b[1] == 0x85:
		return 2
	case b[0] == 0xE2 && len(b) > 2 && b[1] == 0x80 && (b[2] == 0xA8 || b[2] == 0xA9):
		return 3
	}
	return 0
}

// window returns at most width runes of line n starting at rune from, and
// whether the line goes on before and after them.
func (s *source) window(n, from, width int) (text []rune, cutLeft, cutRight bool) {
	line := s.line(n)
	start := s.runeOffset(line, n, from)
	end := runeBytes(line, start, width)
	return []rune(string(line[start:end])), start > 0, end < len(line)
}

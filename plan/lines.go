package plan

// splitLines splits src into lines the way YAML counts them: a line ends at
// "\r\n", "\n", "\r", NEL (U+0085), LS (U+2028) or PS (U+2029). Each line
// keeps its line break, so the lines join back into src.
func splitLines(src []byte) [][]byte {
	var lines [][]byte
	start := 0
	for i := 0; i < len(src); {
		n := lineBreak(src[i:])
		if n == 0 {
			i++
			continue
		}
		lines = append(lines, src[start:i+n])
		i += n
		start = i
	}
	return append(lines, src[start:])
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

// trimBreak removes the line break at the end of a line.
func trimBreak(line []byte) []byte {
	for i := range line {
		if n := lineBreak(line[i:]); n > 0 && i+n == len(line) {
			return line[:i]
		}
	}
	return line
}

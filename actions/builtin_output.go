package actions

import (
	"fmt"
	"strings"
)

// maxOutput is the most bytes of a command's stdout or stderr, or of an HTTP
// response body, that the built-ins keep in their outputs.
const maxOutput = 1 << 20

// tailSize is how many of the last bytes a cappedBuffer always keeps, so that
// an error can quote the end of a long stderr.
const tailSize = 4 << 10

// cappedBuffer is an io.Writer that keeps the first limit bytes written to
// it, counts the rest, and keeps the last tailSize bytes. It never fails a
// write, so that a command writing a lot is not killed by a broken pipe.
type cappedBuffer struct {
	limit int
	head  []byte
	total int64
	tail  []byte // ring of the last tailSize bytes, in order after tailPos
	pos   int
}

func newCappedBuffer(limit int) *cappedBuffer { return &cappedBuffer{limit: limit} }

// Write keeps what fits and counts the rest.
func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.total += int64(len(p))
	if room := b.limit - len(b.head); room > 0 {
		b.head = append(b.head, p[:min(room, len(p))]...)
	}
	b.writeTail(p)
	return len(p), nil
}

func (b *cappedBuffer) writeTail(p []byte) {
	if len(p) >= tailSize {
		b.tail = append(b.tail[:0], p[len(p)-tailSize:]...)
		b.pos = 0
		return
	}
	for _, c := range p {
		if len(b.tail) < tailSize {
			b.tail = append(b.tail, c)
			continue
		}
		b.tail[b.pos] = c
		b.pos = (b.pos + 1) % tailSize
	}
}

// dropped is the number of bytes written beyond the limit.
func (b *cappedBuffer) dropped() int64 { return b.total - int64(len(b.head)) }

// String returns the kept bytes, followed by a note "[truncated N bytes]"
// when some were dropped.
func (b *cappedBuffer) String() string {
	return withTruncation(string(b.head), b.dropped())
}

// Tail returns the last bytes written (up to tailSize).
func (b *cappedBuffer) Tail() string {
	if len(b.tail) < tailSize {
		return string(b.tail)
	}
	return string(b.tail[b.pos:]) + string(b.tail[:b.pos])
}

func withTruncation(s string, dropped int64) string {
	if dropped <= 0 {
		return s
	}
	sep := "\n"
	if s == "" || strings.HasSuffix(s, "\n") {
		sep = ""
	}
	return fmt.Sprintf("%s%s[truncated %d bytes]", s, sep, dropped)
}

// lastLines returns up to n last non-empty lines of s, joined by " | " so
// that an error message stays on one line, and at most 512 bytes long.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var kept []string
	for i := len(lines) - 1; i >= 0 && len(kept) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			kept = append(kept, l)
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	out := strings.Join(kept, " | ")
	if len(out) > 512 {
		out = "..." + strings.ToValidUTF8(out[len(out)-509:], "")
	}
	return out
}

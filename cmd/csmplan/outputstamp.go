package main

import (
	"io"
	"sync"
	"time"
)

// timestampLayout is the time --timestamps puts before each line: the
// local time of day, HH:MM:SS, and a space. A --log-file has full dates.
const timestampLayout = "15:04:05 "

// stampWriter writes to w with the time (timestampLayout) at the start of
// each line. A carriage return starts the line again: a line redrawn in
// place on a terminal gets the time of each redraw.
type stampWriter struct {
	w   io.Writer
	now func() time.Time

	mu     sync.Mutex
	midway bool // the last byte written did not end a line
}

func newStampWriter(w io.Writer, now func() time.Time) *stampWriter {
	return &stampWriter{w: w, now: now}
}

// Write implements io.Writer.
func (s *stampWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := make([]byte, 0, len(p)+len(timestampLayout))
	for _, c := range p {
		switch {
		case c == '\r' || c == '\n':
			s.midway = false
		case !s.midway:
			buf = s.now().AppendFormat(buf, timestampLayout)
			s.midway = true
		}
		buf = append(buf, c)
	}
	if _, err := s.w.Write(buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// lost passes on what the writer under it says of its output.
func (s *stampWriter) lost() (time.Time, error) {
	if o, ok := s.w.(outputLoser); ok {
		return o.lost()
	}
	return time.Time{}, nil
}

var _ outputLoser = (*stampWriter)(nil)

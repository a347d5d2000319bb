package main

import (
	"io"
	"sync"
	"time"
)

// outputWriter is one of the process's outputs (stdout or stderr). A
// failed write does not stop the command: when a reader such as `head`
// has gone, the run goes on; the writer remembers when its output was lost,
// drops what comes after, and says it has written it all.
type outputWriter struct {
	w   io.Writer
	now func() time.Time

	mu       sync.Mutex
	err      error
	failedAt time.Time
}

func newOutputWriter(w io.Writer) *outputWriter { return &outputWriter{w: w, now: time.Now} }

// Write implements io.Writer; it never fails.
func (o *outputWriter) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return len(p), nil
	}
	if _, err := o.w.Write(p); err != nil {
		o.err, o.failedAt = err, o.now()
	}
	return len(p), nil
}

// lost returns when writing first failed, and why; a zero time if it
// never did.
func (o *outputWriter) lost() (time.Time, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failedAt, o.err
}

// outputLoser is an output that can say it was lost: *outputWriter.
type outputLoser interface {
	lost() (time.Time, error)
}

var _ outputLoser = (*outputWriter)(nil)

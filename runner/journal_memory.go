package runner

import (
	"bytes"
	"io"
	"os"
	"slices"
)

// journalFile is what a Journal writes to: its file, or a memory journal's
// buffer.
type journalFile interface {
	io.ReadWriteSeeker
	io.Closer
	Truncate(size int64) error
	Sync() error
}

var _ journalFile = (*os.File)(nil)

// NewMemoryJournal returns a journal kept in memory, for a run whose
// durability is another's (a durable engine replays the run from its own
// history): Bytes gives its lines, which ParseJournal reads back and
// runner/record renders as it renders a journal file. It records one run
// and resumes nothing. user and host say in its header who the run is for
// and where it was started; "" means this process's.
func NewMemoryJournal(name, user, host string) *Journal {
	m := &memFile{}
	return &Journal{path: name, f: m, mem: m, user: user, host: host, last: journalSeed, previous: map[string]*journalStep{}}
}

// Bytes returns a copy of the lines of a memory journal so far; nil for a
// journal file.
func (j *Journal) Bytes() []byte {
	if j.mem == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.mem.buf.Bytes())
}

// memFile is a memory journal's file: it only grows, and a failed write
// is cut off as a file's is.
type memFile struct{ buf bytes.Buffer }

func (m *memFile) Read([]byte) (int, error)       { return 0, io.EOF }
func (m *memFile) Write(p []byte) (int, error)    { return m.buf.Write(p) }
func (m *memFile) Seek(int64, int) (int64, error) { return int64(m.buf.Len()), nil }
func (m *memFile) Close() error                   { return nil }
func (m *memFile) Sync() error                    { return nil }
func (m *memFile) Truncate(size int64) error      { m.buf.Truncate(int(size)); return nil }

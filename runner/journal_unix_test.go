//go:build unix

package runner_test

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/csmplan/csmplan/runner"
)

// TestJournalRefusesAFIFO: a named pipe is refused before it is read (it
// used to be read until a writer closed it: forever).
func TestJournalRefusesAFIFO(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, resume := range []bool{false, true} {
		_, err := runner.OpenJournal(path, resume)
		if !errors.Is(err, runner.ErrNotJournal) || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("resume %v: err = %v, want ErrNotJournal saying it is not a regular file", resume, err)
		}
	}
}

package runner_test

import (
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/csmplan/csmplan/runner"
)

// TestJournalReopenWhileForking closes and reopens a journal while other
// goroutines start processes: a forked child briefly holds a copy of the
// journal's descriptor (until it executes its program), which must not make
// the journal look locked by another run.
func TestJournalReopenWhileForking(t *testing.T) {
	t.Parallel()
	prog, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true program to start")
	}
	stop := make(chan struct{})
	var started atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = exec.Command(prog).Run()
				started.Add(1)
			}
		})
	}
	defer wg.Wait()
	defer close(stop)
	path := filepath.Join(t.TempDir(), "run.journal")
	// Until the other goroutines have started a good number of processes.
	for i := 0; i < 500 || started.Load() < 100; i++ {
		j, err := runner.OpenJournal(path, false)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		j.Close()
	}
}

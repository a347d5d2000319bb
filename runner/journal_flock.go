//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package runner

import (
	"errors"
	"syscall"
	"time"
)

// openNoFollow makes opening a journal fail on a symbolic link instead of
// following it.
const openNoFollow = syscall.O_NOFOLLOW

// Lock retries: see lockFile.
const (
	lockTries = 50
	lockPause = 2 * time.Millisecond
)

// lockFile takes an exclusive flock on fd without blocking. A child process
// forked by this process (an installer that a run starts) holds a copy of
// every descriptor until it executes its program, and with it the locks of
// their open files: a journal closed just now can still look locked for a
// moment when another goroutine starts a process. So a refused lock is
// retried for about lockTries*lockPause before it counts as another run's
// (errLocked).
func lockFile(fd uintptr) error {
	var err error
	for i := 0; i < lockTries; i++ {
		err = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		time.Sleep(lockPause)
	}
	return errLocked
}

//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package runner

import (
	"errors"
	"fmt"
)

// openNoFollow is zero here: OpenJournal checks with Lstat, before and
// after opening, that the path is no link.
const openNoFollow = 0

// lockFile fails: this system has no file lock that csmplan uses, and a
// journal that two runs could write at once would not be one.
func lockFile(fd uintptr) error {
	return fmt.Errorf("journals need file locks, which csmplan does not implement on this system: %w", errors.ErrUnsupported)
}

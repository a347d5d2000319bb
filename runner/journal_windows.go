//go:build windows

package runner

import (
	"errors"
	"syscall"
	"unsafe"
)

// openNoFollow is zero: Windows has no such open flag. OpenJournal checks
// with Lstat, before and after opening, that the path is no link.
const openNoFollow = 0

var procLockFileEx = syscall.NewLazyDLL("kernel32.dll").NewProc("LockFileEx")

const (
	lockfileFailImmediately = 0x1
	lockfileExclusiveLock   = 0x2
	errorLockViolation      = syscall.Errno(33)
)

// lockFile locks the whole file of the handle fd exclusively, without
// waiting; a lock held by another handle is errLocked. The lock ends when
// the handle is closed.
func lockFile(fd uintptr) error {
	var ol syscall.Overlapped
	const all = ^uint32(0)
	r, _, err := procLockFileEx.Call(fd, lockfileExclusiveLock|lockfileFailImmediately, 0, uintptr(all), uintptr(all), uintptr(unsafe.Pointer(&ol)))
	if r != 0 {
		return nil
	}
	if errors.Is(err, errorLockViolation) || errors.Is(err, syscall.ERROR_IO_PENDING) {
		return errLocked
	}
	return err
}

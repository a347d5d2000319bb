//go:build linux || darwin || freebsd

package csm

import (
	"errors"
	"syscall"
)

// freeSpace returns the bytes available to this user on the file system
// of dir.
func freeSpace(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}

// processAlive reports whether a process with this id runs (or exists but
// belongs to someone else).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

//go:build unix

package remote

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// killGroupOnCancel starts c in a process group of its own and makes its
// cancellation kill the whole group: an installer's children go with it.
func killGroupOnCancel(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error {
		// The child is the leader of its own group: -pid names the group.
		err := syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
}

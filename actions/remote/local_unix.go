//go:build unix

package remote

import (
	"errors"
	"os/exec"
	"syscall"
)

// newGroup makes c start in a process group of its own, which signalGroup
// signals as one: an installer's children hear what it hears.
func newGroup(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends SIGTERM, or SIGKILL when kill is set, to the process
// group of c, a started command. A group that is gone is no error.
func signalGroup(c *exec.Cmd, kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	// The child is the leader of its own group: -pid names the group.
	err := syscall.Kill(-c.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

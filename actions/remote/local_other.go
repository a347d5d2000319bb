//go:build !unix

package remote

import (
	"errors"
	"os"
	"os/exec"
)

// newGroup does nothing: this system has no process groups.
func newGroup(*exec.Cmd) {}

// signalGroup kills the command itself, whatever kill says: this system
// has no SIGTERM to send first.
func signalGroup(c *exec.Cmd, _ bool) error {
	if err := c.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

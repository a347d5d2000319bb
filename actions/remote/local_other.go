//go:build !unix

package remote

import "os/exec"

// killGroupOnCancel keeps os/exec's cancellation, which kills the process
// itself: this system has no process groups to kill as one.
func killGroupOnCancel(*exec.Cmd) {}

//go:build !unix

package actions

import "os/exec"

// killGroup keeps the default cancellation of os/exec, which kills the
// process itself, where process groups are not available.
func killGroup(cmd *exec.Cmd) {}

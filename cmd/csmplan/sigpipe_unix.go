//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// keepRunningOnClosedOutput makes a write to a closed pipe on stdout or
// stderr fail with EPIPE instead of killing the process: `csmplan run
// --json | head` must not stop a run when head has read its lines. Without
// this, Go exits on EPIPE from fd 1 or 2 (os/signal, "SIGPIPE"). Notify
// rather than Ignore: an ignored signal would stay ignored in the processes
// a run starts (exec actions, the installer), which would then not stop
// when their own readers go; a handler is reset when a process execs.
func keepRunningOnClosedOutput() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

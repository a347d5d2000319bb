// Package remote runs commands on a server's host: locally with os/exec, or
// over SSH with golang.org/x/crypto/ssh (known_hosts verified, key file or
// agent). A command is always an argv list, never a shell string.
//
// [Local] runs the program directly, in its own process group; when the
// context ends it sends the group SIGTERM, then SIGKILL after a grace
// ([DefaultKillGrace], [WithKillGrace]), so that an installer can stop
// cleanly and its children with it. [SSH] (built with [NewSSH]) sends the argv to
// the remote login shell quoted with [Quote], so every element arrives as
// one word, byte for byte. Both implement [Executor].
package remote

import (
	"context"
	"io"
)

// Command is one command to run.
type Command struct {
	// Argv is the program and its arguments. Argv[0] is looked up in PATH
	// locally; over SSH each element is quoted for the remote shell.
	Argv []string
	// Env adds variables to the command's environment.
	Env map[string]string
	// Dir is the working directory; empty means the executor's default.
	Dir string
	// Stdin, Stdout and Stderr connect the command's standard streams; nil
	// means empty input and discarded output.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Executor runs a command to completion. It returns the exit code; the error
// is non-nil only when the command could not be started, the connection was
// lost, or ctx was done (the command is then killed and the error wraps
// ctx.Err()). A non-zero exit code is not an error: the caller decides.
type Executor interface {
	Run(ctx context.Context, cmd Command) (exitCode int, err error)
}

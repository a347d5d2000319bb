// Command csmplan loads, checks, documents and runs declarative runbooks;
// by default the upgrade of an IBM Copy Services Manager HA pair.
//
// Usage:
//
//	csmplan <command> [flags] [arguments]
//
// Run `csmplan -h` for the commands and `csmplan <command> -h` for their
// flags. Exit codes: 0 success, 1 the run failed or a runbook is invalid,
// 2 usage or load error, 130 interrupted.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"strings"

	"github.com/csmplan/csmplan/schema"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// env is what a command needs from the process, injected for tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	lookupEnv      func(string) (string, bool)
	unsetenv       func(string) error
	// isTerminal reports whether stdout (and stdin) are terminals.
	isTerminal func() bool
	exe        string // this program, for commands that re-run it
	// flags, when set, is given the command's flag set by parse, which
	// then ends the command (exit 0) before it does anything: completion
	// learns the flags this way.
	flags func(*flag.FlagSet)
	// in reads stdin for the operator's answers (see answer).
	in *bufio.Reader
	// force is cancelled by the second signal; the commands get a
	// context that the first cancels (see interrupt.go). Nil: the same.
	force context.Context
}

type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
	// stopsItself says that the command ends by itself when ctx is
	// cancelled (the first Ctrl-C or SIGTERM), once it has left things
	// consistent: a run's journal and summary (a run lets a mutating
	// action in flight finish, until the second signal), the simulator's
	// verdict. Any other command only reads and prints, and is abandoned
	// at the first signal (exit 130), even while it is blocked writing to
	// a slow reader.
	stopsItself bool
}

func commands() []command {
	return []command{
		{"run", "[RUNBOOK]", "run a runbook (default: the built-in CSM HA upgrade)", cmdRun, true},
		{"plan", "[RUNBOOK]", "dry run: say what would run, skip or block, changing nothing", cmdPlan, true},
		{"validate", "FILE...", "check runbooks and print every problem with its line", cmdValidate, false},
		{"doc", "[RUNBOOK]", "render a runbook as a Markdown procedure", cmdDoc, false},
		{"init", "[FILE]", "write the default runbook to a file for editing", cmdInit, true},
		{"schema", "", "print the JSON Schema of runbooks, with every action's arguments", cmdSchema, false},
		{"actions", "", "list the registered actions and probes with their arguments", cmdActions, false},
		{"sim", "", "run a simulated CSM HA pair until interrupted", cmdSim, true},
		{"report", "JOURNAL", "render the change record of a run from its journal (md, json, html)", cmdReport, false},
		{"status", "--journal FILE", "say what a run has done and what is next; with params, the servers' roles and versions", cmdStatus, false},
		{"version", "", "print the version, commit and Go version of this build", cmdVersion, false},
		{"completion", "SHELL", "print a completion script for bash, zsh or fish", cmdCompletion, false},
	}
}

func main() {
	keepRunningOnClosedOutput()
	exe, _ := os.Executable()
	e := &env{stdin: os.Stdin, stdout: newOutputWriter(os.Stdout), stderr: newOutputWriter(os.Stderr), getenv: os.Getenv,
		lookupEnv: os.LookupEnv, unsetenv: os.Unsetenv,
		isTerminal: func() bool { return isTerminal(os.Stdout) && isTerminal(os.Stdin) }, exe: exe}
	if len(os.Args) > 1 && os.Args[1] == simControlCommand {
		// The simulated installer dies of the signals as a program would.
		os.Exit(cmdSimControl(context.Background(), e, os.Args[2:]))
	}
	// The first Ctrl-C stops gently, the second forces, the third exits.
	ctx, force := interrupts()
	e.force = force
	os.Exit(mainArgs(ctx, e, os.Args[1:]))
}

func mainArgs(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			return mainArgs(ctx, e, []string{args[1], "-h"})
		}
		usage(e.stdout)
		return exitOK
	case simControlCommand:
		return cmdSimControl(ctx, e, args[1:])
	case completeCommand:
		return cmdComplete(ctx, e, args[1:])
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return runCommand(ctx, e, c, args[1:])
		}
	}
	printf(e.stderr, "csmplan: unknown command %q\n", args[0])
	names := make([]string, 0)
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if s := schema.Suggest(args[0], names); s != "" {
		printf(e.stderr, "Did you mean %q?\n", s)
	}
	printf(e.stderr, "Run 'csmplan -h' for the commands.\n")
	return exitUsage
}

// runCommand runs c. A command that does not stop by itself is abandoned
// at the first signal: it returns exitInterrupted at once, and the process
// exits with it while the command may still be blocked in a write.
func runCommand(ctx context.Context, e *env, c command, args []string) int {
	if c.stopsItself {
		return c.run(ctx, e, args)
	}
	done := make(chan int, 1)
	go func() { done <- c.run(ctx, e, args) }()
	select {
	case code := <-done:
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return code
	case <-ctx.Done():
		return exitInterrupted
	}
}

func usage(w io.Writer) {
	printf(w, "%s", ours(`csmplan runs declarative runbooks: steps, each an action guarded by
preconditions and verified by postconditions. Its default runbook upgrades
an IBM Copy Services Manager high-availability pair without losing
disaster-recovery capability.

Usage:
  csmplan <command> [flags] [arguments]

Commands:
`))
	nameWidth, argsWidth := 0, 0
	for _, c := range commands() {
		nameWidth, argsWidth = max(nameWidth, len(c.name)), max(argsWidth, len(c.args))
	}
	for _, c := range commands() {
		printf(w, "  %-*s %-*s %s\n", nameWidth, ours(c.name), argsWidth, ours(c.args), ours(c.summary))
	}
	printf(w, "%s", ours(`
Try it against a simulated CSM pair:
  csmplan run --simulate

Run 'csmplan <command> -h' for a command's flags.
Exit codes: 0 success, 1 run failed or runbook invalid, 2 usage or load error, 130 interrupted.
`))
}

// newFlags returns a flag set whose -h prints the command's usage.
func newFlags(e *env, name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		printf(fs.Output(), "Usage: csmplan %s [flags] %s\n\n%s\n", ours(name), ours(args), ours(summary))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			printf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses flags and positional arguments in any order ("run FILE -p
// a=b" as well as "run -p a=b FILE"). It returns the positional arguments,
// or an exit code when parsing ended the command: -h prints the usage on
// stdout (exit 0); a bad flag prints what is wrong and the usage on stderr
// (exit 2).
func parse(e *env, fs *flag.FlagSet, args []string) ([]string, int, bool) {
	if e.flags != nil {
		e.flags(fs)
		return nil, exitOK, false
	}
	usage := fs.Usage
	fs.Usage = func() {} // printed below, where it belongs
	fs.SetOutput(io.Discard)
	defer func() {
		fs.Usage = usage
		fs.SetOutput(e.stderr)
	}()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(e.stdout)
				usage()
				return nil, exitOK, false
			}
			printf(e.stderr, "csmplan %s: %v\n", fs.Name(), err)
			fs.SetOutput(e.stderr)
			usage()
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

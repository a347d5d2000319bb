// Command csmplan-temporal runs csmplan runbooks as Temporal workflows:
// durable runs that survive the loss of the machine that started them,
// with workers near each site making the calls.
//
// Usage:
//
//	csmplan-temporal <command> [flags] [arguments]
//
// The commands: dev (a Temporal server on this machine, on SQLite), worker
// (runs the workflows and makes the calls of the task queues it polls),
// run (starts a runbook's workflow, or attaches to it, and streams its
// progress as `csmplan run` does), status, report, approve and cancel (by
// workflow id). Run `csmplan-temporal -h` for their summaries and
// `csmplan-temporal <command> -h` for their flags. Exit codes: 0 success,
// 1 the run failed, 2 usage or load error, 130 interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes, as csmplan's.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

const prog = "csmplan-temporal"

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"dev", "", "start a Temporal server on this machine, on SQLite (a dev server)", cmdDev},
		{"worker", "", "run the workflows and make the calls of the task queues it polls", cmdWorker},
		{"run", "[RUNBOOK]", "start a runbook's workflow (default: the built-in CSM HA upgrade), or attach to it, and follow it", cmdRun},
		{"status", "WORKFLOW-ID", "say where a run stands", cmdStatus},
		{"report", "WORKFLOW-ID", "render a run's change record (md, json, html)", cmdReport},
		{"approve", "WORKFLOW-ID", "answer the manual step a run waits for", cmdApprove},
		{"cancel", "WORKFLOW-ID", "cancel a run: its calls are cancelled, an installer stopped", cmdCancel},
	}
}

func main() {
	ctx, stop := interrupts(os.Stderr)
	code := mainArgs(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// interrupts returns a context that the first SIGINT or SIGTERM cancels;
// the second exits at once with 130.
func interrupts(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cancel()
		<-sig
		fmt.Fprintf(stderr, "%s: interrupted again: exiting\n", prog)
		os.Exit(exitInterrupted)
	}()
	return ctx, func() { signal.Stop(sig); cancel() }
}

func mainArgs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			return mainArgs(ctx, []string{args[1], "-h"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\nRun '%s -h' for the commands.\n", prog, args[0], prog)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `%s runs csmplan runbooks as Temporal workflows: durable runs that survive
the loss of the machine that started them, with workers near each site
making the calls.

Usage:
  %s <command> [flags] [arguments]

Commands:
`, prog, prog)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %-12s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintf(w, `
Try it on this machine, each in a terminal of its own:
  %[1]s dev
  %[1]s worker
  csmplan sim --params-out /tmp/pair.yaml   # then: %[1]s run --params /tmp/pair.yaml

Run '%[1]s <command> -h' for a command's flags. The connection flags
(--address, --namespace, TLS, API key) also read TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY,
TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY.
Exit codes: 0 success, 1 run failed, 2 usage or load error, 130 interrupted.
`, prog)
}

// newFlags returns a flag set whose usage says what the command does.
func newFlags(name, args, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s [flags] %s\n\n%s\n\nFlags:\n", prog, name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and positional arguments in any order. It returns
// the positional arguments, or the exit code when parsing ended the
// command: -h prints the usage on stdout (0), a bad flag on stderr (2).
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.Usage()
				return nil, exitOK, false
			}
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

// fail prints "csmplan-temporal CMD: err" and returns code.
func fail(stderr io.Writer, cmd string, code int, err error) int {
	fmt.Fprintf(stderr, "%s %s: %v\n", prog, cmd, err)
	return code
}

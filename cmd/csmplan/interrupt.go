package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/csmplan/csmplan/actions/remote"
	"github.com/csmplan/csmplan/runner"
)

// Interrupts. The first SIGINT or SIGTERM asks the command to stop: a run
// stops gracefully (runner.Options.Stop: what changes nothing is
// cancelled, no new action starts, a mutating action in flight, such as
// an installer, is let finish and journaled); a command that only reads
// and prints is abandoned (runCommand). The second cancels what still
// runs: the commands of the actions get SIGTERM, then SIGKILL after the
// kill grace (--kill-grace). The third exits at once with 130.

// interrupts returns the contexts that the first (stop) and the second
// (force) SIGINT or SIGTERM cancel; stop is a child of force. The third
// signal exits the process with exitInterrupted.
func interrupts() (stop, force context.Context) {
	force, cancelForce := context.WithCancel(context.Background())
	stop, cancelStop := context.WithCancel(force)
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancelStop()
		<-sigs
		cancelForce()
		<-sigs
		os.Exit(exitInterrupted)
	}()
	return stop, force
}

// runContext returns the context of a run whose Stop is ctx.Done(): the
// one the second signal cancels (e.force, or ctx when there is none),
// carrying the kill grace for the commands the actions run.
func runContext(ctx context.Context, e *env, grace time.Duration) context.Context {
	force := e.force
	if force == nil {
		force = ctx
	}
	if grace != 0 {
		force = remote.WithKillGrace(force, grace)
	}
	return force
}

// graceText says what the second signal does to a running command.
func graceText(grace time.Duration) string {
	if grace == 0 {
		grace = remote.DefaultKillGrace
	}
	if grace < 0 {
		return "SIGKILL"
	}
	return "SIGTERM, then SIGKILL after " + grace.String()
}

// stoppingObserver says on stderr, when the run starts stopping, what it
// still waits for and how to force it; hold clears the progress's live
// line first, so that the two do not share a line of the terminal.
func stoppingObserver(e *env, grace time.Duration, hold func() (release func())) runner.Observer {
	return runner.ObserverFunc(func(ev runner.Event) {
		if ev.Kind != runner.RunStopping {
			return
		}
		defer hold()()
		if ev.Message == "" {
			printf(e.stderr, "stopping\n")
			return
		}
		printf(e.stderr, "stopping: waiting for %s (step %d %q) to finish; press Ctrl-C again to stop it (%s)\n",
			ev.Message, ev.Index, ev.Title, ours(graceText(grace)))
	})
}

// forcedNotice says on stderr, once the second signal has cancelled ctx
// (a run's context) while the run goes on, what happens to the commands
// still running. The returned function ends the watch, once the notice,
// if it is due, has been written.
func forcedNotice(ctx context.Context, e *env, grace time.Duration) func() {
	written := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(written)
		printf(e.stderr, "stopping now: running commands get %s; press Ctrl-C again to exit at once\n", ours(graceText(grace)))
	})
	return func() {
		if !stop() {
			<-written
		}
	}
}

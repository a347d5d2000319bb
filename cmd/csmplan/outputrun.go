package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// outputFlags are the flags of run and plan that shape their output.
type outputFlags struct {
	timestamps bool
	logFile    string
	tickEvery  time.Duration
}

func (f *outputFlags) register(fs *flag.FlagSet, withRun bool) {
	fs.BoolVar(&f.timestamps, "timestamps", false, "start each line of the progress, and the run's error, with the local time (HH:MM:SS)")
	fs.StringVar(&f.logFile, "log-file", "", "also write every event to `FILE` (appended; secrets redacted): a plain line each,\nwith its time in RFC 3339 (log/slog text), or JSON lines as --json writes them when FILE ends in .jsonl or .json")
	if !withRun {
		return // plan runs no action
	}
	fs.DurationVar(&f.tickEvery, "progress-interval", 0, "how often the line of a long-running action (an installer) is redrawn on a terminal\n(default 1s), or printed off a terminal (default 1m)")
}

// eventsHelp documents the JSON events in `run -h` and `plan -h`.
const eventsHelp = `
With --json, each event is a JSON object on one line of stdout (progress goes
to stderr), for example:
  {"schema_version":1,"type":"step.end","time":"2026-01-02T15:04:05.123Z",
   "runbook":"csm-upgrade","step":"backup","index":3,"count":15,"title":"...",
   "line":42,"outcome":"succeeded","elapsed_ms":1200}
Names are snake_case, as in the journal; times RFC 3339 in UTC; durations
whole milliseconds (elapsed_ms, timeout_ms, waited_ms). "type" is one of
run.start, step.start, action.inspect, condition.start, wait.poll,
condition.end, attempt.start, action.log, attempt.end, step.end, undo.start,
undo.end, run.end. 'csmplan schema --events' prints their JSON Schema
(schema_version 1; schema.Events() in Go).`

// display is where a run or a dry run shows itself: the progress, on out
// (stdout, or stderr with --json); the run's error, on errw (stderr); the
// JSON events and the log file, as observers.
type display struct {
	out, errw io.Writer
	prog      *console.Progress
	observers []runner.Observer
	// width is the columns a line may take (0: no limit).
	width    func() int
	stopTick func()
	log      *os.File
}

// newDisplay sets up the output of a run or a dry run (cmd is run or
// plan) of p, the built-in runbook when builtin is set; close it when the
// run has ended.
func newDisplay(e *env, cmd string, f *runFlags, p *plan.Plan, builtin bool) (*display, error) {
	d := &display{out: e.stdout, errw: e.stderr, stopTick: func() {}}
	tty := e.isTerminal() && !f.json
	if f.json {
		d.out = e.stderr
		d.observers = append(d.observers, jsonObserver(e.stdout))
	}
	if f.timestamps {
		d.errw = newStampWriter(e.stderr, time.Now)
		d.out = newStampWriter(d.out, time.Now)
		if f.json {
			d.out = d.errw
		}
	}
	if f.logFile != "" {
		fh, err := os.OpenFile(f.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--log-file: %w", err)
		}
		d.log = fh
		if strings.HasSuffix(f.logFile, ".jsonl") || strings.HasSuffix(f.logFile, ".json") {
			d.observers = append(d.observers, jsonObserver(fh))
		} else {
			h := slog.NewTextHandler(fh, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: utcTime})
			d.observers = append(d.observers, runner.SlogObserver(slog.New(h)))
		}
	}
	d.width = func() int { return outputWidth(e, os.Stdout, tty) }
	opts := console.Options{Color: e.color() && !f.json, TTY: tty, Plan: p, Builtin: builtin,
		Quiet: cmd == "plan", // plan shows a table at the end instead
		Width: d.width, Every: f.tickEvery}
	if f.timestamps {
		opts.Reserve = len(timestampLayout)
	}
	d.prog = console.New(d.out, opts)
	d.observers = append(d.observers, d.prog)
	interval := time.Second
	if f.tickEvery > 0 {
		interval = min(f.tickEvery, interval) // off a terminal, the ticker prints every f.tickEvery
		if tty {
			interval = f.tickEvery
		}
	}
	if !opts.Quiet {
		d.stopTick = d.prog.Ticker(interval)
	}
	return d, nil
}

// utcTime writes the time of a log line in UTC, RFC 3339 with fractional
// seconds, as the JSON events have it.
func utcTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(time.RFC3339Nano))
	}
	return a
}

// stop ends the display's ticker; the run has ended.
func (d *display) stop() {
	d.stopTick()
	d.stopTick = func() {}
}

// close stops the ticker and closes the log file.
func (d *display) close() {
	d.stop()
	if d.log != nil {
		d.log.Close()
	}
}

// dryRunSummary is the simulator's verdict after a dry run, which changes
// nothing: whether the safety invariants held while the pair was probed.
func (s *simulation) dryRunSummary() string {
	vs := s.pair.Violations()
	if len(vs) == 0 {
		return "simulator: invariants held (a dry run: the pair was only probed)"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return "simulator: violated: " + strings.Join(parts, "; ")
}

// Package console shows a run of a runbook on a terminal or in a log, as
// `csmplan run` does: a [Progress] takes the run's [runner.Event] values
// (it is a [runner.Observer]) and prints one line per step, the waits and
// the long-running actions in progress, the evidence of what failed, and
// at the end the run's summary ([Progress.Summary]).
//
// Everything the package prints goes through [Printf], its output
// boundary, which escapes the text that comes from outside (a runbook, a
// server, a process) so that it cannot act on the terminal. The helpers
// that cut text to a terminal's width ([Fit], [DisplayWidth]) and write
// counts and durations ([Count], [Round]) are exported for the other
// displays of the command line.
//
//	p := console.New(os.Stdout, console.Options{TTY: true, Plan: pl, Width: termWidth})
//	stop := p.Ticker(time.Second)
//	rep, err := runner.Run(ctx, pl, runner.Options{Observers: []runner.Observer{p}})
//	stop()
//	p.Summary(rep, os.Stderr)
package console

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/csmplan/csmplan/internal/termsafe"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// Progress shows a run as it goes: one line per step with its number, title
// and outcome; for a wait, what is waited for, the time against the timeout
// and the last observed value; on failure, the evidence and the runbook
// line. On a terminal the wait line is redrawn in place, cut to the
// terminal's width; elsewhere (CI logs) lines are plain and a wait is
// reported when what is observed changes, and at most every 10 checks
// otherwise. An action attempt that runs long without an event (an
// installer) is shown the same way by a ticker ([Progress.Ticker]):
// redrawn every second on a terminal, a plain line every minute elsewhere.
//
// Observe is called by the run's goroutine, the ticker by its own, and an
// approver's prompt holds the display ([Progress.Hold]): a mutex orders
// them, and every method may be called from any goroutine.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	color   bool
	tty     bool
	quiet   bool // only the run's start and summary, no step lines
	file    string
	builtin bool // the runbook is the built-in one (see NoteBuiltin)
	plan    *plan.Plan
	live    bool // a line is drawn and must be cleared
	lastObs map[string]string
	polls   int
	// width is the columns a line may take (0: no limit), asked at each
	// redraw; reserve the columns taken before it (--timestamps).
	width   func() int
	reserve int
	// act is the action attempt running, for tick; held says that the
	// approver is asking the operator, and nothing is to be drawn.
	act        *attemptLine
	held       bool
	every      time.Duration // off a terminal, how often tick prints a line
	now        func() time.Time
	eventTimes bool // an attempt started at its event's Time (Options.EventTimes)
}

// Options shape a [Progress]. The zero value is a plain display for a log:
// no colour, no redraws, no limit on a line's width.
type Options struct {
	// Color colours the marks, the outcomes and the summary with SGR codes.
	Color bool
	// TTY says that the writer is a terminal: the line of a wait or of a
	// running action is redrawn in place, and a step's start is not
	// printed. Off a terminal every line is a plain one.
	TTY bool
	// Plan is the plan being run: its Filename is the file of the
	// FILE:LINE shown for a failed step or condition, and its steps' `with`
	// name the target a running action is shown on. Nil: no file name, no
	// target.
	Plan *plan.Plan
	// Builtin says that the plan is the built-in runbook, which is not a
	// file the operator has: each FILE:LINE shown is followed by a note
	// saying how to get one (see NoteBuiltin).
	Builtin bool
	// Quiet shows only the run's start, the actions' log lines and, on a
	// terminal, what is being probed on a line redrawn in place: for a dry
	// run that prints a table of its own at the end (`csmplan plan`).
	Quiet bool
	// Width returns the columns a redrawn line may take, asked at each
	// redraw so that a resized terminal is followed; 0 is no limit. Nil:
	// no limit.
	Width func() int
	// Reserve is the columns that the writer puts before each line (the
	// time that --timestamps writes), taken off Width.
	Reserve int
	// Every is how often, off a terminal, a line is printed for an action
	// attempt that runs long without saying anything. Zero: a minute.
	Every time.Duration
	// Now is the clock that running actions are measured by. Nil:
	// time.Now.
	Now func() time.Time
	// EventTimes measures a running action from the Time of its
	// AttemptStart event, instead of from when Observe received it: set
	// it when the events arrive late, relayed from where the run is (a
	// workflow's query), so that an action that started before they
	// arrived shows how long it has really run. Now and the events' times
	// must then come from clocks that agree.
	EventTimes bool
}

// attemptLine is an action attempt in progress.
type attemptLine struct {
	num, action, target string
	timeout             time.Duration
	start               time.Time
	next                time.Duration // off a terminal, when its next line is due
	status              string        // on a terminal, the action's last passing status (ActionProgress)
}

var _ runner.Observer = (*Progress)(nil)

// New returns a display of a run that prints on w, shaped by opts. It
// prints nothing until it observes an event; call [Progress.Ticker] for the
// line of a long-running action, and [Progress.Summary] when the run ends.
func New(w io.Writer, opts Options) *Progress {
	p := &Progress{w: w, color: opts.Color, tty: opts.TTY, quiet: opts.Quiet, plan: opts.Plan, builtin: opts.Builtin,
		lastObs: map[string]string{}, width: opts.Width, reserve: opts.Reserve, every: opts.Every, now: opts.Now,
		eventTimes: opts.EventTimes}
	if opts.Plan != nil {
		p.file = opts.Plan.Filename
	}
	if p.width == nil {
		p.width = func() int { return 0 }
	}
	if p.every <= 0 {
		p.every = time.Minute
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// paint escapes s and, with colours on, colours it with the SGR code.
func (p *Progress) paint(code, s string) Ours {
	s = termsafe.String(s)
	if !p.color {
		return Ours(s)
	}
	return Ours("\x1b[" + code + "m" + s + "\x1b[0m")
}

// clear erases a line drawn on a terminal.
func (p *Progress) clear() {
	if p.live {
		Printf(p.w, "%s", Ours("\r\x1b[K"))
		p.live = false
	}
}

// draw redraws the live line on a terminal: escaped, and cut to the width
// so that it never wraps (a wrapped line is not erased by the next redraw).
func (p *Progress) draw(line string) {
	p.clear()
	width := p.width()
	if width > 0 {
		width = max(width-1-p.reserve, 10) // the last column makes some terminals wrap
	}
	Printf(p.w, "%s", Ours(Fit(termsafe.String(line), width)))
	p.live = true
}

// Hold stops drawing while the operator is asked something, and clears
// the live line; the function it returns lets drawing go on. Events
// observed meanwhile are still printed: hold the display only while
// nothing else prints (an approver asks while the run waits for it).
func (p *Progress) Hold() (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.held = true
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.held = false
	}
}

// tick shows the action attempt in progress, if there is one: on a
// terminal its line is redrawn; elsewhere a plain line is printed each
// time the attempt has run for another p.every.
func (p *Progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.act
	if a == nil || p.held || p.quiet {
		return
	}
	elapsed := p.now().Sub(a.start)
	line := a.num + "   running " + a.action
	if a.target != "" {
		line += " on " + a.target
	}
	line += ": " + short(elapsed)
	if a.timeout > 0 {
		line += " of " + short(a.timeout)
	}
	if p.tty {
		if a.status != "" {
			line = a.status // the action says how it is getting on
		}
		p.draw(line)
		return
	}
	if elapsed >= a.next {
		for a.next <= elapsed {
			a.next += p.every
		}
		Printf(p.w, "%s\n", line)
	}
}

// Ticker shows the action attempt in progress every interval, until stop
// is called: on a terminal its line ("[3/15]   running exec on primary: 12s
// of 45m", or the action's last ActionProgress status) is redrawn; off a
// terminal a plain line is printed each time the attempt has run for
// another Options.Every, so an interval of a second or less suits both.
// Stop returns once nothing more is drawn. In quiet mode nothing is shown.
func (p *Progress) Ticker(interval time.Duration) (stop func()) {
	return Every(interval, p.tick)
}

// Every calls f every interval, on a goroutine of its own, until stop is
// called; stop returns once f is no longer running.
func Every(interval time.Duration, f func()) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				f()
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// target is the target the step's action is called with, as the runbook
// writes it, or "".
func (p *Progress) target(index int) string {
	if p.plan == nil || index < 1 || index > len(p.plan.Steps) {
		return ""
	}
	if m, ok := p.plan.Steps[index-1].With.Raw().(map[string]any); ok {
		if t, ok := m["target"].(string); ok {
			return t
		}
	}
	return ""
}

// Observe shows an event of the run; it implements runner.Observer. Give
// it every event of the run, in order, from RunStart on: relayed events
// are shown as they come (set Options.EventTimes when they come late).
func (p *Progress) Observe(e runner.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	num := fmt.Sprintf("[%d/%d]", e.Index, e.Count)
	if e.Kind != runner.ActionLog && e.Kind != runner.ActionProgress {
		p.act = nil // the attempt ended, or said nothing of itself for now
	}
	if p.quiet {
		p.observeQuiet(e, num)
		return
	}
	p.show(e, num)
}

// show prints the event; p.mu is held.
func (p *Progress) show(e runner.Event, num string) {
	switch e.Kind {
	case runner.RunStart:
		what := "Running"
		if e.DryRun {
			what = "Dry run of"
		}
		title := e.Message // the runbook's title, else its name
		if title == "" {
			title = e.Runbook
		}
		Printf(p.w, "%s %s (%s)\n", what, p.paint("1", title), Ours(Count(e.Count, "step")))
	case runner.StepStart:
		p.polls = 0
		if !p.tty {
			Printf(p.w, "%s %s ...\n", num, e.Title)
		}
	case runner.WaitPoll:
		p.polls++
		obs := ""
		if e.Condition != nil {
			if e.Condition.Error != "" {
				obs = "error: " + e.Condition.Error
			} else {
				obs = "observed " + plan.Brief(e.Condition.Observed)
			}
		}
		line := fmt.Sprintf("%s   waiting for %s: %s of %s, %s", num, e.Condition.Condition, Round(e.Elapsed), Round(e.Timeout), obs)
		if p.tty {
			p.draw(line)
			return
		}
		key := e.Step + "\x00" + e.Condition.Condition
		if p.lastObs[key] != obs || p.polls%10 == 1 {
			p.lastObs[key] = obs
			Printf(p.w, "%s\n", line)
		}
	case runner.ActionProgress:
		// A passing status: redrawn on a terminal, where tick keeps it;
		// elsewhere a line when the attempt's next line is due.
		a := p.act
		line := num + "   " + e.Message
		switch {
		case p.tty:
			if a != nil {
				a.status = line
			}
			p.draw(line)
		case a == nil:
			Printf(p.w, "%s\n", line)
		case p.now().Sub(a.start) >= a.next:
			a.next = p.now().Sub(a.start) + p.every
			Printf(p.w, "%s\n", line)
		}
	case runner.ActionLog:
		if a := p.act; a != nil {
			a.next = p.now().Sub(a.start) + p.every // the action said something: a line of its own is not due yet
		}
		p.clear()
		Printf(p.w, "%s   %s\n", num, e.Message)
	case runner.ActionInspect:
		p.clear()
		found := e.Message
		if e.Error != "" {
			found = "unknown (" + FirstLine(e.Error) + ")"
		}
		Printf(p.w, "%s   the interrupted attempt, inspected: %s\n", num, found)
	case runner.AttemptStart:
		start := p.now()
		if p.eventTimes && !e.Time.IsZero() {
			start = e.Time
		}
		p.act = &attemptLine{num: num, action: e.Message, target: p.target(e.Index), timeout: e.Timeout, start: start, next: p.every}
	case runner.AttemptEnd:
		if e.Error != "" {
			p.clear()
			Printf(p.w, "%s   attempt %d of %s failed: %s\n", num, e.Attempt, e.Message, Indent(e.Error, "        "))
		}
	case runner.StepEnd:
		p.clear()
		mark, code := "✓", "32"
		switch e.Outcome {
		case runner.Failed, runner.Blocked:
			mark, code = "✗", "31"
		case runner.Skipped, runner.WouldSkip, runner.Resumed:
			mark, code = "-", "2"
		case runner.Cancelled, runner.NotRun:
			mark, code = "!", "33"
		case runner.WouldRun:
			mark, code = "→", "36"
		}
		Printf(p.w, "%s %s %s %s", num, p.paint(code, mark), e.Title, p.paint("2", "("+string(e.Outcome)))
		if e.Elapsed >= time.Second {
			Printf(p.w, "%s", p.paint("2", ", "+Round(e.Elapsed).String()))
		}
		Printf(p.w, "%s\n", p.paint("2", ")"))
		switch e.Outcome {
		case runner.Skipped, runner.WouldSkip, runner.WouldRun, runner.Resumed:
			if e.Message != "" && e.Message != "checks only" {
				Printf(p.w, "      %s\n", p.paint("2", e.Message))
			}
		case runner.Failed, runner.Blocked:
			Printf(p.w, "      at %s\n", runbookAt(p.file, e.Line, p.builtin))
		}
	case runner.ConditionEnd:
		c := e.Condition
		if c == nil || c.Status == runner.Met || c.Status == runner.NotChecked || e.Phase == runner.PhaseWhen && c.Status == runner.Unmet {
			return
		}
		p.clear()
		Printf(p.w, "%s   %s %s (%s:%d)\n", num, p.paint("31", string(c.Status)+":"), c.Condition, p.file, c.Line)
		for _, u := range c.Unmet {
			Printf(p.w, "        %s\n", u)
		}
		if c.Error != "" {
			Printf(p.w, "        %s\n", FirstLine(c.Error))
		}
		if c.Diff != "" {
			Printf(p.w, "        diff (-expected +observed):\n")
			for _, l := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
				Printf(p.w, "        %s\n", l)
			}
		}
		if c.Polls > 1 {
			Printf(p.w, "        after waiting %s (%s)\n", Round(c.Waited), Ours(Count(c.Polls, "check")))
		}
	case runner.UndoStart:
		p.clear()
		Printf(p.w, "%s   rolling back: %s\n", num, e.Message)
	case runner.UndoEnd:
		if e.Error != "" {
			Printf(p.w, "%s   %s %s\n", num, p.paint("31", "undo failed:"), FirstLine(e.Error))
		} else {
			Printf(p.w, "%s   undone\n", num)
		}
	}
}

// observeQuiet shows a dry run for plan, which prints a table at its end:
// the run's start, the warnings of probes and, on a terminal, what is
// being probed on a line redrawn in place.
func (p *Progress) observeQuiet(e runner.Event, num string) {
	switch e.Kind {
	case runner.RunStart, runner.ActionLog:
		p.show(e, num)
	case runner.ActionProgress:
		if p.tty {
			p.draw(num + "   " + e.Message)
		}
	case runner.ConditionStart, runner.WaitPoll:
		if p.tty && e.Condition != nil {
			p.draw(fmt.Sprintf("probing: %s on step %d", e.Condition.Condition, e.Index))
		}
	case runner.StepEnd, runner.RunEnd:
		p.clear()
	}
}

// Summary ends the display: it stops showing the attempt in progress,
// clears the live line, and prints the final line ("Succeeded: 15 steps:
// 12 succeeded, 3 skipped in 4m2s", counts by outcome and the run's
// Duration) on the display's writer, and the run's error, if it failed,
// on errw (stderr). A nil rep (the run did not start) prints nothing.
// The ticker draws nothing after it; stop it all the same.
func (p *Progress) Summary(rep *runner.Report, errw io.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.act = nil
	p.clear()
	if rep == nil {
		return
	}
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(rep.Count(runner.Succeeded), "succeeded")
	add(rep.Count(runner.Resumed), "done earlier")
	add(rep.Count(runner.WouldRun), "would run")
	add(rep.Count(runner.Skipped)+rep.Count(runner.WouldSkip), "skipped")
	add(rep.Count(runner.Blocked), "blocked")
	add(rep.Count(runner.Failed), "failed")
	add(rep.Count(runner.Cancelled), "cancelled")
	add(rep.Count(runner.NotRun), "not run")
	verdict := map[runner.Outcome]Ours{runner.Succeeded: p.paint("32", "Succeeded"), runner.Failed: p.paint("31", "Failed"),
		runner.Cancelled: p.paint("33", "Interrupted"), runner.WouldRun: p.paint("36", "Dry run")}[rep.Outcome]
	if verdict == "" {
		verdict = Ours(termsafe.String(string(rep.Outcome)))
	}
	if rep.Outcome == runner.Failed && rep.DryRun {
		verdict = p.paint("31", "Dry run: blocked")
	}
	Printf(p.w, "%s: %s: %s in %s\n", verdict, Ours(Count(len(rep.Steps), "step")), strings.Join(parts, ", "), Round(rep.Duration))
	if rep.Outcome == runner.Failed && rep.Error != "" {
		Printf(errw, "error: %s\n", Indent(NoteBuiltin(rep.Error, p.builtin), "  "))
	}
}

// Count writes n things: "1 step", "2 steps".
func Count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// Round rounds a duration for people: to the second from a minute, to a
// tenth of a second from a second, else to the millisecond.
func Round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// short writes a duration rounded as Round does, without zero trailing
// units: 45m, 1h30m, 3m12s.
func short(d time.Duration) string {
	s := Round(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Indent keeps the lines of s, an error of several lines (an installer's
// last lines of stderr, several failures), with the lines after the first
// indented by pad.
func Indent(s, pad string) Block {
	return Block(strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad))
}

// FirstLine is the first line of s.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

package main

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

// progress shows a run as it goes: one line per step with its number, title
// and outcome; for a wait, what is waited for, the time against the timeout
// and the last observed value; on failure, the evidence and the runbook
// line. On a terminal the wait line is redrawn in place, cut to the
// terminal's width; elsewhere (CI logs) lines are plain and a wait is
// reported when what is observed changes, and at most every 10 checks
// otherwise. An action attempt that runs long without an event (an
// installer) is shown the same way by a ticker (tick): redrawn every
// second on a terminal, a plain line every minute elsewhere.
//
// Observe is called by the run's goroutine, tick by the ticker's, and the
// approver's prompt holds the display (hold): a mutex orders them.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	color   bool
	tty     bool
	quiet   bool // only the run's start and summary, no step lines
	file    string
	builtin bool // the runbook is the built-in one (see noteBuiltin)
	plan    *plan.Plan
	live    bool // a line is drawn and must be cleared
	lastObs map[string]string
	polls   int
	started time.Time
	dry     bool
	// width is the columns a line may take (0: no limit), asked at each
	// redraw; reserve the columns taken before it (--timestamps).
	width   func() int
	reserve int
	// act is the action attempt running, for tick; held says that the
	// approver is asking the operator, and nothing is to be drawn.
	act   *attemptLine
	held  bool
	every time.Duration // off a terminal, how often tick prints a line
	now   func() time.Time
}

// attemptLine is an action attempt in progress.
type attemptLine struct {
	num, action, target string
	timeout             time.Duration
	start               time.Time
	next                time.Duration // off a terminal, when its next line is due
	status              string        // on a terminal, the action's last passing status (ActionProgress)
}

func newProgress(w io.Writer, color, tty bool, p *plan.Plan) *progress {
	return &progress{w: w, color: color, tty: tty, file: p.Filename, plan: p, lastObs: map[string]string{},
		width: func() int { return 0 }, every: time.Minute, now: time.Now}
}

// paint escapes s and, with colours on, colours it with the SGR code.
func (p *progress) paint(code, s string) ours {
	s = termsafe.String(s)
	if !p.color {
		return ours(s)
	}
	return ours("\x1b[" + code + "m" + s + "\x1b[0m")
}

// clear erases a line drawn on a terminal.
func (p *progress) clear() {
	if p.live {
		printf(p.w, "%s", ours("\r\x1b[K"))
		p.live = false
	}
}

// draw redraws the live line on a terminal: escaped, and cut to the width
// so that it never wraps (a wrapped line is not erased by the next redraw).
func (p *progress) draw(line string) {
	p.clear()
	width := p.width()
	if width > 0 {
		width = max(width-1-p.reserve, 10) // the last column makes some terminals wrap
	}
	printf(p.w, "%s", ours(fit(termsafe.String(line), width)))
	p.live = true
}

// hold stops drawing while the operator is asked something, and clears
// the live line; the function it returns lets drawing go on.
func (p *progress) hold() (release func()) {
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
func (p *progress) tick() {
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
		printf(p.w, "%s\n", line)
	}
}

// ticker calls tick every interval until stop is called. Off a terminal
// it ticks at most every second, and tick prints every p.every.
func (p *progress) ticker(interval time.Duration) (stop func()) {
	return every(interval, p.tick)
}

// every calls f every interval, on a goroutine of its own, until stop is
// called; stop returns once f is no longer running.
func every(interval time.Duration, f func()) (stop func()) {
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
func (p *progress) target(index int) string {
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

// Observe implements runner.Observer.
func (p *progress) Observe(e runner.Event) {
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
func (p *progress) show(e runner.Event, num string) {
	switch e.Kind {
	case runner.RunStart:
		p.started = e.Time
		p.dry = e.DryRun
		what := "Running"
		if e.DryRun {
			what = "Dry run of"
		}
		title := e.Message // the runbook's title, else its name
		if title == "" {
			title = e.Runbook
		}
		printf(p.w, "%s %s (%s)\n", what, p.paint("1", title), ours(count(e.Count, "step")))
	case runner.StepStart:
		p.polls = 0
		if !p.tty {
			printf(p.w, "%s %s ...\n", num, e.Title)
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
		line := fmt.Sprintf("%s   waiting for %s: %s of %s, %s", num, e.Condition.Condition, round(e.Elapsed), round(e.Timeout), obs)
		if p.tty {
			p.draw(line)
			return
		}
		key := e.Step + "\x00" + e.Condition.Condition
		if p.lastObs[key] != obs || p.polls%10 == 1 {
			p.lastObs[key] = obs
			printf(p.w, "%s\n", line)
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
			printf(p.w, "%s\n", line)
		case p.now().Sub(a.start) >= a.next:
			a.next = p.now().Sub(a.start) + p.every
			printf(p.w, "%s\n", line)
		}
	case runner.ActionLog:
		if a := p.act; a != nil {
			a.next = p.now().Sub(a.start) + p.every // the action said something: a line of its own is not due yet
		}
		p.clear()
		printf(p.w, "%s   %s\n", num, e.Message)
	case runner.ActionInspect:
		p.clear()
		found := e.Message
		if e.Error != "" {
			found = "unknown (" + firstLine(e.Error) + ")"
		}
		printf(p.w, "%s   the attempt the last run left behind: %s\n", num, found)
	case runner.AttemptStart:
		p.act = &attemptLine{num: num, action: e.Message, target: p.target(e.Index), timeout: e.Timeout, start: p.now(), next: p.every}
	case runner.AttemptEnd:
		if e.Error != "" {
			p.clear()
			printf(p.w, "%s   attempt %d of %s failed: %s\n", num, e.Attempt, e.Message, indent(e.Error, "        "))
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
		printf(p.w, "%s %s %s %s", num, p.paint(code, mark), e.Title, p.paint("2", "("+string(e.Outcome)))
		if e.Elapsed >= time.Second {
			printf(p.w, "%s", p.paint("2", ", "+round(e.Elapsed).String()))
		}
		printf(p.w, "%s\n", p.paint("2", ")"))
		switch e.Outcome {
		case runner.Skipped, runner.WouldSkip, runner.WouldRun, runner.Resumed:
			if e.Message != "" && e.Message != "checks only" {
				printf(p.w, "      %s\n", p.paint("2", e.Message))
			}
		case runner.Failed, runner.Blocked:
			printf(p.w, "      at %s\n", runbookAt(p.file, e.Line, p.builtin))
		}
	case runner.ConditionEnd:
		c := e.Condition
		if c == nil || c.Status == runner.Met || c.Status == runner.NotChecked || e.Phase == runner.PhaseWhen && c.Status == runner.Unmet {
			return
		}
		p.clear()
		printf(p.w, "%s   %s %s (%s:%d)\n", num, p.paint("31", string(c.Status)+":"), c.Condition, p.file, c.Line)
		for _, u := range c.Unmet {
			printf(p.w, "        %s\n", u)
		}
		if c.Error != "" {
			printf(p.w, "        %s\n", firstLine(c.Error))
		}
		if c.Diff != "" {
			printf(p.w, "        diff (-expected +observed):\n")
			for _, l := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
				printf(p.w, "        %s\n", l)
			}
		}
		if c.Polls > 1 {
			printf(p.w, "        after waiting %s (%s)\n", round(c.Waited), ours(count(c.Polls, "check")))
		}
	case runner.UndoStart:
		p.clear()
		printf(p.w, "%s   rolling back: %s\n", num, e.Message)
	case runner.UndoEnd:
		if e.Error != "" {
			printf(p.w, "%s   %s %s\n", num, p.paint("31", "undo failed:"), firstLine(e.Error))
		} else {
			printf(p.w, "%s   undone\n", num)
		}
	}
}

// observeQuiet shows a dry run for plan, which prints a table at its end:
// the run's start, the warnings of probes and, on a terminal, what is
// being probed on a line redrawn in place.
func (p *progress) observeQuiet(e runner.Event, num string) {
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

// summary prints the final line: steps run, skipped, failed, total time;
// and the run's error, if it failed, on errw (stderr).
func (p *progress) summary(rep *runner.Report, errw io.Writer) {
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
	verdict := map[runner.Outcome]ours{runner.Succeeded: p.paint("32", "Succeeded"), runner.Failed: p.paint("31", "Failed"),
		runner.Cancelled: p.paint("33", "Interrupted"), runner.WouldRun: p.paint("36", "Dry run")}[rep.Outcome]
	if verdict == "" {
		verdict = ours(termsafe.String(string(rep.Outcome)))
	}
	if rep.Outcome == runner.Failed && rep.DryRun {
		verdict = p.paint("31", "Dry run: blocked")
	}
	printf(p.w, "%s: %s: %s in %s\n", verdict, ours(count(len(rep.Steps), "step")), strings.Join(parts, ", "), round(rep.Duration))
	if rep.Outcome == runner.Failed && rep.Error != "" {
		printf(errw, "error: %s\n", indent(noteBuiltin(rep.Error, p.builtin), "  "))
	}
}

// count writes n things: "1 step", "2 steps".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// short writes a duration rounded as round does, without zero trailing
// units: 45m, 1h30m, 3m12s.
func short(d time.Duration) string {
	s := round(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// indent keeps the lines of s, an error of several lines (an installer's
// last lines of stderr, several failures), with the lines after the first
// indented by pad.
func indent(s, pad string) block {
	return block(strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

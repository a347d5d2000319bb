package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/csmplan/csmplan/internal/termsafe"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// progress shows a run as it goes: one line per step with its number, title
// and outcome; for a wait, what is waited for, the time against the timeout
// and the last observed value; on failure, the evidence and the runbook
// line. On a terminal the wait line is redrawn in place; elsewhere (CI
// logs) lines are plain and a wait is reported when what is observed
// changes, and at most every 10 checks otherwise.
type progress struct {
	w       io.Writer
	color   bool
	tty     bool
	quiet   bool // only the run's start and summary, no step lines
	file    string
	builtin bool // the runbook is the built-in one (see noteBuiltin)
	live    bool // a wait line is drawn and must be cleared
	lastObs map[string]string
	polls   int
	started time.Time
	dry     bool
}

func newProgress(w io.Writer, color, tty bool, p *plan.Plan) *progress {
	return &progress{w: w, color: color, tty: tty, file: p.Filename, lastObs: map[string]string{}}
}

// paint escapes s and, with colours on, colours it with the SGR code.
func (p *progress) paint(code, s string) ours {
	s = termsafe.String(s)
	if !p.color {
		return ours(s)
	}
	return ours("\x1b[" + code + "m" + s + "\x1b[0m")
}

// clear erases a wait line drawn on a terminal.
func (p *progress) clear() {
	if p.live {
		printf(p.w, "%s", ours("\r\x1b[K"))
		p.live = false
	}
}

// Observe implements runner.Observer.
func (p *progress) Observe(e runner.Event) {
	if p.quiet && e.Kind != runner.RunStart && e.Kind != runner.ActionLog {
		return // plan shows a table instead, and the warnings of probes
	}
	num := fmt.Sprintf("[%d/%d]", e.Index, e.Count)
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
			p.clear()
			printf(p.w, "%s", truncate(line, 160))
			p.live = true
			return
		}
		key := e.Step + "\x00" + e.Condition.Condition
		if p.lastObs[key] != obs || p.polls%10 == 1 {
			p.lastObs[key] = obs
			printf(p.w, "%s\n", line)
		}
	case runner.ActionLog:
		p.clear()
		printf(p.w, "%s   %s\n", num, e.Message)
	case runner.ActionInspect:
		p.clear()
		found := e.Message
		if e.Error != "" {
			found = "unknown (" + firstLine(e.Error) + ")"
		}
		printf(p.w, "%s   the attempt the last run left behind: %s\n", num, found)
	case runner.AttemptEnd:
		if e.Error != "" {
			p.clear()
			printf(p.w, "%s   attempt %d of %s failed: %s\n", num, e.Attempt, e.Message, firstLine(e.Error))
		}
	case runner.StepEnd:
		p.clear()
		mark, code := "✓", "32"
		switch e.Outcome {
		case runner.Failed, runner.Blocked:
			mark, code = "✗", "31"
		case runner.Skipped, runner.WouldSkip, runner.Resumed:
			mark, code = "-", "2"
		case runner.Cancelled:
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

// summary prints the final line: steps run, skipped, failed, total time.
func (p *progress) summary(rep *runner.Report) {
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
		printf(p.w, "error: %s\n", noteBuiltin(rep.Error, p.builtin))
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

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

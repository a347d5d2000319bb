package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/internal/termsafe"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// fleetProgress shows a fleet as it runs. On a terminal: a live table
// redrawn in place below the lines printed so far, one line per running
// unit (its step, the wait or action in progress, the last observation)
// under a line of counts by outcome, each cut to the terminal's width; the
// end of each unit is printed above the table. Off a terminal: plain
// lines, each prefixed with its unit: its start, each step's end
// ("[pair-003] [7/15] ✓ Title (succeeded)") and its end.
//
// Its methods are called by the units' goroutines and by the ticker that
// redraws the table; a mutex orders them.
type fleetProgress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	color bool
	width func() int
	// rows is the most unit lines the table shows; the others are
	// counted on a last line.
	rows    int
	total   int
	running map[string]*unitRow
	order   []string // the running units, in the order they started
	counts  map[runner.Outcome]int
	drawn   int  // lines of the table on the screen
	dirty   bool // the table changed since it was drawn
	held    bool
	now     func() time.Time
}

// unitRow is a running unit's line in the table.
type unitRow struct {
	name         string
	index, count int
	title        string
	doing        string // the wait or action in progress
	observed     string // the last observation
	start        time.Time
}

func newFleetProgress(w io.Writer, tty, color bool, total int, width func() int) *fleetProgress {
	return &fleetProgress{w: w, tty: tty, color: color, width: width, rows: 20, total: total,
		running: map[string]*unitRow{}, counts: map[runner.Outcome]int{}, now: time.Now}
}

// paint escapes s and, with colours on, colours it with the SGR code.
func (p *fleetProgress) paint(code, s string) string {
	s = termsafe.String(s)
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// line prints a line above the table (p.mu held); text is escaped already.
func (p *fleetProgress) line(text string) {
	p.clear()
	printf(p.w, "%s\n", ours(text))
	p.dirty = true
}

// message prints a line of the fleet's own (a wave starts, the fleet stops).
func (p *fleetProgress) message(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line(p.paint("1", s))
}

// unitStart records that a unit started.
func (p *fleetProgress) unitStart(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.running[name]; !ok {
		p.running[name] = &unitRow{name: name, start: p.now()}
		p.order = append(p.order, name)
	}
	p.dirty = true
	if !p.tty {
		printf(p.w, "[%s] started\n", name)
	}
}

// unitEnd records that a unit ended (or was skipped or not run, when it
// never started) and prints its end.
func (p *fleetProgress) unitEnd(name string, outcome runner.Outcome, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, started := p.running[name]
	delete(p.running, name)
	if i := slices.Index(p.order, name); i >= 0 {
		p.order = slices.Delete(p.order, i, i+1)
	}
	p.counts[outcome]++
	p.dirty = true
	if !started && !p.tty && outcome != runner.Failed {
		return // skipped or not run: counted, and said in the summary
	}
	mark, code := outcomeMark(outcome)
	text := fmt.Sprintf("[%s] %s %s", termsafe.String(name), p.paint(code, mark), p.paint(code, string(outcome)))
	if started {
		text += p.paint("2", " in "+console.Round(p.now().Sub(r.start)).String())
	}
	if reason != "" && outcome != runner.Succeeded {
		text += ": " + termsafe.String(console.FirstLine(reason))
	}
	if !started && p.tty {
		return
	}
	p.line(text)
}

// outcomeMark is the mark and colour of an outcome, as the steps have them.
func outcomeMark(o runner.Outcome) (string, string) {
	switch o {
	case runner.Succeeded:
		return "✓", "32"
	case runner.Failed, runner.Blocked:
		return "✗", "31"
	case runner.Skipped, runner.WouldSkip, runner.Resumed:
		return "-", "2"
	case runner.WouldRun:
		return "→", "36"
	}
	return "!", "33"
}

// unitEvent takes an event of a unit's run.
func (p *fleetProgress) unitEvent(name string, e runner.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.running[name]
	if r == nil {
		return
	}
	p.dirty = true
	switch e.Kind {
	case runner.StepStart:
		r.index, r.count, r.title, r.doing, r.observed = e.Index, e.Count, e.Title, "", ""
	case runner.WaitPoll:
		if c := e.Condition; c != nil {
			r.doing = fmt.Sprintf("waiting for %s: %s of %s", c.Condition, console.Round(e.Elapsed), console.Round(e.Timeout))
			if c.Error != "" {
				r.observed = "error: " + console.FirstLine(c.Error)
			} else {
				r.observed = "observed " + plan.Brief(c.Observed)
			}
		}
	case runner.AttemptStart:
		r.doing = "running " + e.Message
	case runner.ActionProgress:
		r.doing = e.Message
	case runner.ActionLog:
		r.observed = console.FirstLine(e.Message)
	case runner.AttemptEnd:
		if e.Error != "" {
			r.observed = "attempt failed: " + console.FirstLine(e.Error)
		}
	case runner.StepEnd:
		r.doing = ""
		if !p.tty {
			mark, code := outcomeMark(e.Outcome)
			text := fmt.Sprintf("[%s] [%d/%d] %s %s %s", termsafe.String(name), e.Index, e.Count, p.paint(code, mark), termsafe.String(e.Title), p.paint("2", "("+string(e.Outcome)+")"))
			if e.Outcome == runner.Failed && e.Error != "" {
				text += ": " + termsafe.String(console.FirstLine(e.Error))
			}
			printf(p.w, "%s\n", ours(text))
		}
	}
}

// summaryLine counts the units by outcome: "3 running, 40 succeeded, 1
// failed, 956 to go".
func (p *fleetProgress) summaryLine() string {
	parts := []string{}
	if n := len(p.running); n > 0 {
		parts = append(parts, fmt.Sprintf("%d running", n))
	}
	ended := 0
	for _, o := range []runner.Outcome{runner.Succeeded, runner.Failed, runner.Cancelled, runner.Skipped, runner.NotRun} {
		if n := p.counts[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	for _, n := range p.counts {
		ended += n
	}
	if rest := p.total - ended - len(p.running); rest > 0 {
		parts = append(parts, fmt.Sprintf("%d to go", rest))
	}
	return "fleet: " + strings.Join(parts, ", ")
}

// clear erases the table (p.mu held).
func (p *fleetProgress) clear() {
	if p.drawn > 0 {
		printf(p.w, "%s", ours(fmt.Sprintf("\x1b[%dA\r\x1b[J", p.drawn)))
		p.drawn = 0
	}
}

// table returns the lines of the table, not yet cut to the width.
func (p *fleetProgress) table() []string {
	lines := []string{p.summaryLine()}
	nameW := 0
	for _, n := range p.order {
		nameW = max(nameW, len(n))
	}
	for i, n := range p.order {
		if i == p.rows {
			lines = append(lines, fmt.Sprintf("  … and %d more running", len(p.order)-p.rows))
			break
		}
		r := p.running[n]
		l := fmt.Sprintf("  %-*s ", nameW, n)
		if r.count > 0 {
			l += fmt.Sprintf("[%d/%d] %s", r.index, r.count, r.title)
		} else {
			l += "starting"
		}
		if r.doing != "" {
			l += " · " + r.doing
		}
		if r.observed != "" {
			l += " · " + r.observed
		}
		lines = append(lines, l)
	}
	return lines
}

// draw redraws the table when it changed (on a terminal only).
func (p *fleetProgress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty || p.held || !p.dirty {
		return
	}
	p.clear()
	width := p.width()
	if width > 0 {
		width = max(width-1, 10) // the last column makes some terminals wrap
	}
	for _, l := range p.table() {
		printf(p.w, "%s\n", ours(console.Fit(termsafe.String(l), width)))
		p.drawn++
	}
	p.dirty = false
}

// hold stops drawing while the operator is asked something, and clears
// the table; the function it returns lets drawing go on.
func (p *fleetProgress) hold() (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.held = true
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.held, p.dirty = false, true
	}
}

// ticker redraws the table every interval until stop is called, which
// clears it.
func (p *fleetProgress) ticker(interval time.Duration) (stop func()) {
	stopDrawing := console.Every(interval, p.draw)
	return func() {
		stopDrawing()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.clear()
	}
}

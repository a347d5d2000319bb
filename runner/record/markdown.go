package record

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// maxValue bounds a value shown in Markdown or HTML; the JSON has it whole.
const maxValue = 300

// WriteMarkdown writes the record as Markdown for a change ticket: the
// summary, the versions and saved values, the backups, the params, the
// steps with their evidence, the simulator's verdict and the runs. Text
// from the runbook, the servers and the params is escaped.
func (r *Record) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	outcome := string(r.Outcome)
	if outcome == "" {
		outcome = "not ended"
	}
	p("# Change record: %s (%s)\n\n", md(r.Runbook), md(outcome))
	p("| | |\n|---|---|\n")
	if r.Title != "" {
		p("| Runbook | %s: %s |\n", code(r.Runbook), md(r.Title))
	} else {
		p("| Runbook | %s |\n", code(r.Runbook))
	}
	p("| Runbook sha256 | %s |\n", code(r.SHA256))
	p("| Start | %s |\n", when(r.Start))
	p("| End | %s |\n", when(r.End))
	if r.Duration > 0 {
		p("| Duration | %s |\n", dur(r.Duration))
	}
	p("| Run by | %s on %s |\n", md(orUnknown(r.User)), md(orUnknown(r.Host)))
	p("| Outcome | **%s** |\n", md(outcome))
	if len(r.Runs) > 1 {
		p("| Runs | %d (the first and %d resume%s) |\n", len(r.Runs), len(r.Runs)-1, plural(len(r.Runs)-1))
	}
	if r.Error != "" {
		p("| Error | %s |\n", md(r.Error))
	}
	p("\n## Versions and saved values\n\n")
	if len(r.Values) == 0 {
		p("None recorded.\n")
	} else {
		p("| Name | Value |\n|---|---|\n")
		for _, v := range r.Values {
			p("| %s | %s |\n", code(v.Name), code(short(v.Value)))
		}
	}
	p("\n## Backups\n\n")
	if len(r.Backups) == 0 {
		p("None recorded.\n")
	} else {
		p("| Step | File | SHA-256 | Bytes |\n|---|---|---|---|\n")
		for _, b := range r.Backups {
			p("| %s | %s | %s | %d |\n", code(b.Step), code(b.File), code(b.SHA256), b.Size)
		}
	}
	p("\n## Params\n\n")
	if len(r.Params) == 0 {
		p("None.\n")
	} else {
		p("| Name | Value |\n|---|---|\n")
		for _, prm := range r.Params {
			val := code(short(prm.Value))
			switch {
			case prm.Secret:
				val = "*" + runner.Redacted + "* (secret)"
			case prm.Value == nil:
				val = "*not recorded (journal of format 3)*"
			}
			p("| %s | %s |\n", code(prm.Name), val)
		}
	}
	p("\n## Steps\n\n")
	p("| # | Step | Outcome | Start | Duration | Attempts |\n|---|---|---|---|---|---|\n")
	for i, s := range r.Steps {
		outcome := md(string(s.Outcome))
		if s.Operator {
			outcome += " (by the operator)"
		}
		p("| %d | %s %s | %s | %s | %s | %d |\n", i+1, code(s.ID), md(s.Title), outcome, clock(s.Start), durOr(s), len(s.Attempts))
	}
	for i, s := range r.Steps {
		if s.Outcome == runner.NotRun && len(s.Evidence) == 0 {
			continue
		}
		p("\n### %d. %s: %s\n\n", i+1, md(s.ID), md(string(s.Outcome)))
		if s.Reason != "" {
			p("%s\n\n", md(s.Reason))
		}
		if s.Inspection != "" {
			p("- inspection of the attempt an earlier run left unfinished: %s\n", md(s.Inspection))
		}
		for _, c := range s.Evidence {
			p("- %s %s: **%s**", md(string(c.Phase)), md(c.Condition), md(string(c.Status)))
			if c.Expected != "" {
				p("; expected %s", code(c.Expected))
			}
			if c.Observed != "" {
				p("; observed %s", code(shortText(c.Observed)))
			}
			if c.Error != "" {
				p("; error: %s", md(c.Error))
			}
			if c.Polls > 1 {
				p(" (waited %s, %d check%s)", dur(time.Duration(c.WaitedMS)*time.Millisecond), c.Polls, plural(c.Polls))
			}
			p("\n")
		}
		for _, a := range s.Attempts {
			p("- attempt %d of %s: %s to %s", a.N, code(a.Action), clock(a.Start), clock(a.End))
			if a.Duration > 0 {
				p(" (%s)", dur(a.Duration))
			}
			switch {
			case a.Unfinished:
				p(": no end recorded")
			case a.Error != "":
				p(": failed: %s", md(a.Error))
			default:
				p(": returned")
			}
			p("\n")
		}
	}
	if v, ok := r.Note("simulation"); ok {
		p("\n## Simulator's verdict\n\n")
		text := fmt.Sprint(v)
		if s, ok := v.(string); ok {
			text = s
		}
		fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
		p("%stext\n%s\n%s\n", fence, strings.TrimRight(controls(text), "\n"), fence)
	}
	var other []Note
	for _, n := range r.Notes {
		if n.Key != "simulation" {
			other = append(other, n)
		}
	}
	if len(other) > 0 {
		p("\n## Notes\n\n")
		for _, n := range other {
			p("- %s: %s\n", code(n.Key), code(short(n.Value)))
		}
	}
	p("\n## Runs\n\n| # | Start | End | Outcome | By | Journal format |\n|---|---|---|---|---|---|\n")
	for i, run := range r.Runs {
		o := string(run.Outcome)
		if o == "" {
			o = "not ended"
		}
		p("| %d | %s | %s | %s | %s on %s | %s |\n", i+1, when(run.Start), when(run.End), md(o), md(orUnknown(run.User)), md(orUnknown(run.Host)), code(run.Format))
	}
	return bw.Flush()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// when formats a time for people: RFC 3339 in UTC, or "unknown".
func when(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

// clock formats a time of day, or "?".
func clock(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format("15:04:05")
}

// dur rounds a duration for people: to the millisecond under a minute,
// to the second above.
func dur(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}

func durOr(s Step) string {
	if s.Duration <= 0 && s.End.IsZero() {
		return ""
	}
	return dur(s.Duration)
}

// short formats a value on one line, cut to maxValue bytes.
func short(v any) string { return shortText(plan.Format(v)) }

func shortText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxValue {
		cut := maxValue
		for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// mdSpecial are the characters Markdown gives a meaning to in running
// text and tables.
var mdSpecial = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;",
	"|", `\|`, "#", `\#`, "&", "&amp;", "!", `\!`, "~", `\~`,
	"\r\n", " ", "\n", " ", "\r", " ",
)

// md escapes text from outside for running Markdown text on one line.
func md(s string) string { return mdSpecial.Replace(controls(s)) }

// code writes s as a code span, on one line, with a fence of backticks
// that s cannot close; "|" is escaped so that tables hold.
func code(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`).Replace(controls(s))
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// controls replaces with U+FFFD the control characters of s but line
// breaks and tabs, and the invisible format characters (such as the
// bidirectional overrides, which would show a reader other text than
// the record holds).
func controls(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 || unicode.Is(unicode.Cf, r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

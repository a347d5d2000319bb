package record

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/csmplan/csmplan/runner"
)

// WriteHTML writes the record as one self-contained HTML page: inline
// CSS, an inline SVG timeline of the steps, their waits and the runs of
// their actions (those that change the world, such as an installer,
// drawn apart), and no external asset. html/template escapes every
// string.
func (r *Record) WriteHTML(w io.Writer) error {
	v := view{Record: r, Timeline: r.timeline()}
	if s, ok := r.Note("simulation"); ok {
		v.Simulation = fmt.Sprint(s)
		v.Simulated = true
	}
	for _, n := range r.Notes {
		if n.Key != "simulation" {
			v.Notes = append(v.Notes, n)
		}
	}
	var b strings.Builder
	if err := page.Execute(&b, v); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	// html/template leaves control characters as they are; no page
	// should hold them.
	if _, err := io.WriteString(w, controls(b.String())); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

type view struct {
	*Record
	Timeline   timeline
	Simulated  bool
	Simulation string
	Notes      []Note
}

// timeline is the geometry of the SVG picture.
type timeline struct {
	Width, Height int
	Left, Plot    int // label column and plot widths
	Rows          []row
	Ticks         []tick
	Empty         bool
}

type row struct {
	Y, Label int // bar top and text baseline
	ID       string
	Title    string
	Outcome  string
	Class    string
	Muted    bool // the step has no time: it did not start
	Bar      *bar
	Waits    []bar
	Attempts []bar
}

type bar struct {
	X, W  float64
	Y, H  int
	Title string
	Class string
}

type tick struct {
	X     float64
	Label string
}

const (
	tlWidth  = 1100
	tlLeft   = 230
	tlRowH   = 26
	tlTop    = 28
	tlBottom = 12
)

func (r *Record) timeline() timeline {
	tl := timeline{Width: tlWidth, Left: tlLeft, Plot: tlWidth - tlLeft - 50}
	start, end := r.Start, r.End
	for _, s := range r.Steps {
		for _, t := range []time.Time{s.Start, s.End} {
			if t.IsZero() {
				continue
			}
			if start.IsZero() || t.Before(start) {
				start = t
			}
			if end.IsZero() || t.After(end) {
				end = t
			}
		}
		for _, a := range s.Attempts {
			if !a.End.IsZero() && a.End.After(end) {
				end = a.End
			}
		}
	}
	if start.IsZero() {
		tl.Empty = true
		tl.Height = tlTop
		return tl
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	x := func(t time.Time) float64 {
		return float64(tl.Left) + float64(tl.Plot)*float64(t.Sub(start))/float64(span)
	}
	width := func(a, b time.Time) float64 {
		if b.IsZero() {
			b = end
		}
		return max(x(b)-x(a), 2)
	}
	layout := "15:04:05"
	if span < 20*time.Second { // ticks less than 5s apart: tell them apart
		layout = "15:04:05.000"
	}
	for i := 0; i <= 4; i++ {
		at := start.Add(span * time.Duration(i) / 4)
		tl.Ticks = append(tl.Ticks, tick{X: x(at), Label: at.UTC().Format(layout)})
	}
	tlY := tlTop // the next row's top
	for _, s := range r.Steps {
		y := tlY
		rw := row{Y: y, Label: y + 15, ID: s.ID, Title: s.Title, Outcome: string(s.Outcome), Class: outcomeClass(s.Outcome)}
		tlY += tlRowH
		if s.Start.IsZero() { // not reached, or no time recorded: a label only
			rw.Muted = true
			tl.Rows = append(tl.Rows, rw)
			continue
		}
		rw.Bar = &bar{X: x(s.Start), W: width(s.Start, s.End), Y: y, H: 20, Class: rw.Class,
			Title: fmt.Sprintf("%s: %s, %s", s.ID, s.Outcome, dur(s.Duration))}
		for _, wt := range s.Waits {
			rw.Waits = append(rw.Waits, bar{X: x(wt.Start), W: width(wt.Start, wt.End), Y: y + 12, H: 6, Class: "wait",
				Title: fmt.Sprintf("waited %s for: %s (%s)", dur(wt.Duration), wt.Condition, wt.Status)})
		}
		for _, a := range s.Attempts {
			cls, what := "attempt", "action"
			if s.Mutates {
				cls, what = "mutating", "mutating action"
			}
			if a.Error != "" || a.Unfinished {
				cls += " bad"
			}
			rw.Attempts = append(rw.Attempts, bar{X: x(a.Start), W: width(a.Start, a.End), Y: y + 3, H: 8, Class: cls,
				Title: fmt.Sprintf("%s %s, attempt %d: %s", what, a.Action, a.N, dur(a.Duration))})
		}
		tl.Rows = append(tl.Rows, rw)
	}
	tl.Height = tlY + tlBottom
	return tl
}

func outcomeClass(o runner.Outcome) string {
	switch o {
	case runner.Succeeded, runner.Resumed:
		return "ok"
	case runner.Skipped:
		return "skip"
	case runner.Failed:
		return "fail"
	}
	return "other"
}

var page = template.Must(template.New("record").Funcs(template.FuncMap{
	"when":    when,
	"clock":   clock,
	"dur":     dur,
	"short":   short,
	"text":    shortText,
	"cls":     outcomeClass,
	"ms":      func(n int64) string { return dur(time.Duration(n) * time.Millisecond) },
	"add":     func(a, b int) int { return a + b },
	"unknown": orUnknown,
	"stepdur": durOr,
	"redacted": func() string {
		return runner.Redacted
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Change record: {{.Runbook}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0;background:#f4f5f7}
main{max-width:1120px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
.sub{color:#5b6475;margin-bottom:16px}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0}
th,td{border:1px solid #dde1e7;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
td code{word-break:break-all}
pre{background:#fff;border:1px solid #dde1e7;padding:10px;overflow:auto;white-space:pre-wrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;color:#fff;background:#7a8294}
.badge.ok{background:#1f8a4c}.badge.fail{background:#c0392b}.badge.skip{background:#8a93a6}.badge.other{background:#b7791f}
.summary td:first-child{width:170px;color:#5b6475}
.names td:first-child{white-space:nowrap;width:1%}
details{background:#fff;border:1px solid #dde1e7;margin:6px 0;padding:6px 10px}
summary{cursor:pointer}
ul{margin:6px 0;padding-left:20px}
.muted{color:#5b6475}
svg{background:#fff;border:1px solid #dde1e7;width:100%;height:auto}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}
svg text.muted{fill:#9aa1ad}
svg .tick{stroke:#e3e6eb}
svg .ok{fill:#bfe5cd}svg .fail{fill:#f3b8b1}svg .skip{fill:#dfe2e8}svg .other{fill:#f6dba8}
svg .wait{fill:#e0a526;opacity:.85}
svg .attempt{fill:#2f6fd0}
svg .mutating{fill:#6b2fb3}
svg .bad{stroke:#c0392b;stroke-width:2}
.legend span{display:inline-block;margin-right:16px}
.legend i{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle}
</style>
</head>
<body>
<main>
<h1>Change record: {{.Runbook}} <span class="badge {{cls .Outcome}}">{{if .Outcome}}{{.Outcome}}{{else}}not ended{{end}}</span></h1>
<div class="sub">{{.Title}}</div>
<table class="summary">
<tr><td>Runbook</td><td><code>{{.Runbook}}</code></td></tr>
<tr><td>Runbook sha256</td><td><code>{{.SHA256}}</code></td></tr>
<tr><td>Start</td><td>{{when .Start}}</td></tr>
<tr><td>End</td><td>{{when .End}}</td></tr>
{{if .Duration}}<tr><td>Duration</td><td>{{dur .Duration}}</td></tr>{{end}}
<tr><td>Run by</td><td>{{unknown .User}} on {{unknown .Host}}</td></tr>
<tr><td>Runs</td><td>{{len .Runs}}</td></tr>
{{if .Error}}<tr><td>Error</td><td><pre>{{.Error}}</pre></td></tr>{{end}}
</table>

<h2 id="timeline">Timeline</h2>
{{with .Timeline}}{{if .Empty}}<p class="muted">No times recorded (a journal of format 3).</p>{{else}}
<div class="legend"><span><i style="background:#bfe5cd"></i>step</span><span><i style="background:#e0a526"></i>condition wait</span><span><i style="background:#6b2fb3"></i>mutating action (installer, takeover...)</span><span><i style="background:#2f6fd0"></i>other action</span><span><i style="background:#f3b8b1"></i>failed step</span></div>
<svg viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="Timeline of the run">
{{range .Ticks}}<line class="tick" x1="{{.X}}" y1="18" x2="{{.X}}" y2="{{$.Timeline.Height}}"/><text x="{{.X}}" y="13" text-anchor="middle">{{.Label}}</text>
{{end}}{{range .Rows}}<g><title>{{.ID}}: {{.Title}} ({{.Outcome}})</title><text x="8" y="{{.Label}}"{{if .Muted}} class="muted"{{end}}>{{.ID}}</text></g>
{{with .Bar}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" rx="3"><title>{{.Title}}</title></rect>
{{end}}{{range .Waits}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Attempts}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Title}}</title></rect>
{{end}}{{end}}</svg>{{end}}{{end}}

<h2 id="values">Versions and saved values</h2>
{{if .Values}}<table class="names"><tr><th>Name</th><th>Value</th></tr>
{{range .Values}}<tr><td><code>{{.Name}}</code></td><td><code>{{short .Value}}</code></td></tr>
{{end}}</table>{{else}}<p class="muted">None recorded.</p>{{end}}

<h2 id="backups">Backups</h2>
{{if .Backups}}<table class="names"><tr><th>Step</th><th>File</th><th>SHA-256</th><th>Bytes</th></tr>
{{range .Backups}}<tr><td><code>{{.Step}}</code></td><td><code>{{.File}}</code></td><td><code>{{.SHA256}}</code></td><td>{{.Size}}</td></tr>
{{end}}</table>{{else}}<p class="muted">None recorded.</p>{{end}}

<h2 id="params">Params</h2>
{{if .Params}}<table class="names"><tr><th>Name</th><th>Value</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{if .Secret}}<em>{{redacted}}</em> (secret){{else if eq .Value nil}}<em>not recorded (journal of format 3)</em>{{else}}<code>{{short .Value}}</code>{{end}}</td></tr>
{{end}}</table>{{else}}<p class="muted">None.</p>{{end}}

<h2 id="steps">Steps</h2>
<table><tr><th>#</th><th>Step</th><th>Outcome</th><th>Start</th><th>Duration</th><th>Attempts</th></tr>
{{range $i, $s := .Steps}}<tr><td>{{add $i 1}}</td><td><code>{{.ID}}</code> {{.Title}}</td><td><span class="badge {{cls .Outcome}}">{{.Outcome}}</span>{{if .Operator}} by the operator{{end}}</td><td>{{clock .Start}}</td><td>{{stepdur $s}}</td><td>{{len .Attempts}}</td></tr>
{{end}}</table>
{{range $i, $s := .Steps}}{{if or .Evidence .Attempts .Reason}}<details{{if eq (cls .Outcome) "fail"}} open="open"{{end}}><summary>{{add $i 1}}. <code>{{.ID}}</code>: {{.Outcome}}{{if .Reason}}: {{text .Reason}}{{end}}</summary>
<ul>{{if .Inspection}}<li>inspection of the attempt an earlier run left unfinished: {{.Inspection}}</li>{{end}}
{{range .Evidence}}<li>{{.Phase}} {{.Condition}}: <strong>{{.Status}}</strong>{{if .Expected}}; expected <code>{{.Expected}}</code>{{end}}{{if .Observed}}; observed <code>{{text .Observed}}</code>{{end}}{{if .Error}}; error: {{.Error}}{{end}}{{if gt .Polls 1}} (waited {{ms .WaitedMS}}, {{.Polls}} checks){{end}}</li>
{{end}}{{range .Attempts}}<li>attempt {{.N}} of <code>{{.Action}}</code>: {{clock .Start}} to {{clock .End}}{{if .Duration}} ({{dur .Duration}}){{end}}{{if .Unfinished}}: no end recorded{{else if .Error}}: failed: {{.Error}}{{else}}: returned{{end}}</li>
{{end}}</ul></details>
{{end}}{{end}}
{{if .Simulated}}<h2 id="simulation">Simulator's verdict</h2>
<pre>{{.Simulation}}</pre>{{end}}
{{if .Notes}}<h2>Notes</h2><ul>{{range .Notes}}<li><code>{{.Key}}</code>: <code>{{short .Value}}</code></li>{{end}}</ul>{{end}}

<h2 id="runs">Runs</h2>
<table><tr><th>#</th><th>Start</th><th>End</th><th>Outcome</th><th>By</th><th>Journal format</th></tr>
{{range $i, $r := .Runs}}<tr><td>{{add $i 1}}</td><td>{{when .Start}}</td><td>{{when .End}}</td><td>{{if .Outcome}}{{.Outcome}}{{else}}not ended{{end}}</td><td>{{unknown .User}} on {{unknown .Host}}</td><td><code>{{.Format}}</code></td></tr>
{{end}}</table>
</main>
</body>
</html>
`))

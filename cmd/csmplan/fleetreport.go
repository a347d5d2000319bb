package main

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
	"github.com/csmplan/csmplan/runner/record"
)

// The fleet record: one report (Markdown or HTML) with a row per unit (its
// outcome, duration and wave) linking to each unit's change record, which
// is written next to the unit's journal (DIR/UNIT.md or .html, from
// record.Read of the journal).

// fleetRow is a unit's row of the fleet record.
type fleetRow struct {
	unit     fleet.UnitReport
	duration time.Duration
	link     string // the unit's change record, relative to the fleet record; "" when none
}

// writeFleetReport writes the change record of every unit that has a
// journal, next to it, then the fleet record to path, mode 0600.
func writeFleetReport(path string, f *fleet.Fleet, rep *fleet.Report) error {
	format, ok := record.FormatOf(path)
	if !ok || format == record.JSON {
		return fmt.Errorf("%s: the fleet record is Markdown (.md) or HTML (.html)", path)
	}
	var rows []fleetRow
	var problems []string
	for _, u := range rep.Units {
		row := fleetRow{unit: u}
		if u.Report != nil {
			row.duration = u.Report.Duration
		}
		if u.Journal != "" {
			if _, err := os.Stat(u.Journal); err == nil {
				out := strings.TrimSuffix(u.Journal, filepath.Ext(u.Journal)) + "." + string(format)
				rec, err := record.Read(u.Journal)
				if err == nil {
					err = writeRecord(out, rec, format)
				}
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", u.Name, err))
				} else {
					row.link = relLink(filepath.Dir(path), out)
					if row.duration == 0 {
						row.duration = rec.Duration
					}
				}
			}
		}
		rows = append(rows, row)
	}
	var buf bytes.Buffer
	if format == record.HTML {
		fleetHTML(&buf, f, rep, rows)
	} else {
		fleetMarkdown(&buf, f, rep, rows)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("the change records of %d units: %s", len(problems), strings.Join(problems, "; "))
	}
	return nil
}

// relLink is target relative to dir, with forward slashes, for a link.
func relLink(dir, target string) string {
	absDir, err1 := filepath.Abs(dir)
	absT, err2 := filepath.Abs(target)
	if err1 == nil && err2 == nil {
		if r, err := filepath.Rel(absDir, absT); err == nil {
			return filepath.ToSlash(r)
		}
	}
	return filepath.ToSlash(target)
}

// labelText writes labels as k=v, sorted by key.
func labelText(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, " ")
}

// mdCell escapes text for a Markdown table cell, on one line.
func mdCell(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

func durText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return console.Round(d).String()
}

func outcomeCounts(rep *fleet.Report) string {
	counts := map[runner.Outcome]int{}
	for _, u := range rep.Units {
		counts[u.Outcome]++
	}
	var parts []string
	for _, o := range []runner.Outcome{runner.Succeeded, runner.Resumed, runner.Failed, runner.Cancelled, runner.Skipped, runner.NotRun} {
		if n := counts[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	return strings.Join(parts, ", ")
}

func fleetMarkdown(w *bytes.Buffer, f *fleet.Fleet, rep *fleet.Report, rows []fleetRow) {
	put(w, "# Fleet record: %s (%s)\n\n", mdCell(rep.Fleet), mdCell(string(rep.Outcome)))
	put(w, "| | |\n|---|---|\n")
	if f.Title != "" {
		put(w, "| Title | %s |\n", mdCell(f.Title))
	}
	put(w, "| Runbook | `%s` |\n", mdCell(f.Runbook.Name))
	put(w, "| Units | %d: %s |\n", len(rep.Units), outcomeCounts(rep))
	put(w, "| Duration | %s |\n", durText(rep.Duration))
	put(w, "| Outcome | **%s** |\n\n", mdCell(string(rep.Outcome)))
	put(w, "## Units\n\n| Unit | Labels | Wave | Outcome | Duration | Change record |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		outcome := string(r.unit.Outcome)
		if r.unit.Reason != "" && r.unit.Outcome != runner.Succeeded {
			outcome += ": " + console.FirstLine(r.unit.Reason)
		}
		link := ""
		if r.link != "" {
			link = "[" + mdCell(filepath.Base(r.link)) + "](" + strings.ReplaceAll(r.link, " ", "%20") + ")"
		}
		put(w, "| %s | %s | %d | %s | %s | %s |\n", mdCell(r.unit.Name), mdCell(labelText(r.unit.Labels)), r.unit.Wave, mdCell(outcome), durText(r.duration), link)
	}
}

func fleetHTML(w *bytes.Buffer, f *fleet.Fleet, rep *fleet.Report, rows []fleetRow) {
	e := html.EscapeString
	put(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Fleet record: %s</title>\n", e(rep.Fleet))
	put(w, "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.succeeded{color:#080}.failed{color:#b00}.not\\ run,.cancelled{color:#a60}</style></head><body>\n")
	put(w, "<h1>Fleet record: %s (%s)</h1>\n<table>\n", e(rep.Fleet), e(string(rep.Outcome)))
	if f.Title != "" {
		put(w, "<tr><th>Title</th><td>%s</td></tr>\n", e(f.Title))
	}
	put(w, "<tr><th>Runbook</th><td><code>%s</code></td></tr>\n<tr><th>Units</th><td>%d: %s</td></tr>\n<tr><th>Duration</th><td>%s</td></tr>\n</table>\n", e(f.Runbook.Name), len(rep.Units), e(outcomeCounts(rep)), e(durText(rep.Duration)))
	put(w, "<h2>Units</h2>\n<table>\n<tr><th>Unit</th><th>Labels</th><th>Wave</th><th>Outcome</th><th>Duration</th><th>Change record</th></tr>\n")
	for _, r := range rows {
		outcome := string(r.unit.Outcome)
		if r.unit.Reason != "" && r.unit.Outcome != runner.Succeeded {
			outcome += ": " + console.FirstLine(r.unit.Reason)
		}
		link := ""
		if r.link != "" {
			link = fmt.Sprintf("<a href=\"%s\">%s</a>", e(r.link), e(filepath.Base(r.link)))
		}
		put(w, "<tr><td>%s</td><td>%s</td><td>%d</td><td class=\"%s\">%s</td><td>%s</td><td>%s</td></tr>\n", e(r.unit.Name), e(labelText(r.unit.Labels)), r.unit.Wave, e(string(r.unit.Outcome)), e(outcome), e(durText(r.duration)), link)
	}
	put(w, "</table>\n</body></html>\n")
}

// writeFleetDoc renders a fleet's rollout plan as Markdown: the runbook,
// the rollout's settings, the waves with their units, and the units with
// their labels.
func writeFleetDoc(w *bytes.Buffer, f *fleet.Fleet) {
	title := f.Name
	if f.Title != "" {
		title = f.Title + " (" + f.Name + ")"
	}
	put(w, "# Fleet: %s\n\n", mdCell(title))
	put(w, "Runbook: `%s`", mdCell(f.Runbook.Name))
	if f.Runbook.Title != "" {
		put(w, " (%s)", mdCell(f.Runbook.Title))
	}
	put(w, ", over %d units.\n\n## Rollout\n\n| | |\n|---|---|\n", len(f.Units))
	ro := f.Rollout
	if len(ro.Order) > 0 {
		put(w, "| Order | by %s |\n", mdCell(strings.Join(ro.Order, ", ")))
	}
	if len(ro.Canary) > 0 {
		approve := "the waves follow when they succeed"
		if ro.Approve {
			approve = "then a manual approval before the waves"
		}
		put(w, "| Canaries | %s, first; %s; any failure stops the rollout |\n", mdCell(strings.Join(ro.Canary, ", ")), approve)
	}
	switch {
	case ro.WaveSize > 0:
		put(w, "| Waves | of at most %d units |\n", ro.WaveSize)
	case ro.WaveBy != "":
		put(w, "| Waves | one per value of label `%s` |\n", mdCell(ro.WaveBy))
	default:
		put(w, "| Waves | one wave of every unit |\n")
	}
	put(w, "| max_parallel | %d units at once in a wave |\n", max(1, ro.MaxParallel))
	put(w, "| max_failures | %d: once more units have failed, no new unit starts; running units finish |\n\n", ro.MaxFailures)
	put(w, "Each wave starts when the one before it has ended.\n\n## Waves\n\n")
	for i, wave := range f.Waves() {
		name := fmt.Sprintf("Wave %d", i+1)
		if i == 0 && len(ro.Canary) > 0 {
			name += " (canaries)"
		}
		put(w, "%d. **%s**: %s\n", i+1, name, mdCell(strings.Join(wave, ", ")))
	}
	shared, own := splitParams(f.Units)
	if len(shared) > 0 {
		put(w, "\nShared by every unit: %s.\n", mdCell(strings.Join(shared, ", ")))
	}
	put(w, "\n## Units\n\n| Unit | Labels | Params of its own |\n|---|---|---|\n")
	for _, u := range f.Units {
		var mine []string
		for _, k := range own {
			if _, ok := u.Params[k]; ok {
				mine = append(mine, k)
			}
		}
		put(w, "| %s | %s | %s |\n", mdCell(u.Name), mdCell(labelText(u.Labels)), mdCell(strings.Join(mine, ", ")))
	}
}

// splitParams names the params (names only, never values) that every unit
// has with the same value, and the others, each sorted; with one unit, all
// are its own.
func splitParams(units []fleet.Unit) (shared, own []string) {
	seen := map[string]bool{}
	for _, u := range units {
		for k := range u.Params {
			seen[k] = true
		}
	}
	for k := range seen {
		same := len(units) > 1
		for _, u := range units {
			v, ok := u.Params[k]
			if !ok || fmt.Sprint(v) != fmt.Sprint(units[0].Params[k]) {
				same = false
				break
			}
		}
		if same {
			shared = append(shared, k)
		} else {
			own = append(own, k)
		}
	}
	slices.Sort(shared)
	slices.Sort(own)
	return shared, own
}

// put appends to a record or document being built (written to a file, or
// printed through printf as a block).
func put(b *bytes.Buffer, format string, args ...any) { b.WriteString(fmt.Sprintf(format, args...)) }

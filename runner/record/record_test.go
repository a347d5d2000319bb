package record_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/record"
)

const secret = "s3cr3t-Pa55"

// hostile is text from outside that a record must show as text.
const hostile = "<script>alert(1)</script> | `tick` [x](http://evil.example/) \x1b[31m \u202egnp.exe"

const runbook = `apiVersion: csmplan/v1
kind: Runbook
name: rec
title: "Upgrade <b>things</b>"
params:
  host: {type: string}
  password: {type: string, secret: true}
  note: {type: string, default: "n"}
steps:
  - id: check
    title: Check before
    pre:
      - title: the version before
        probe: version
        expect: {path: version, matches: "."}
        save: version_before
  - id: backup
    title: Back up
    action: backup
    with: {pw: "${params.password}"}
  - id: install
    title: Install
    action: install
    post:
      - title: the server answers
        probe: up
        expect: {equals: true}
        wait: {timeout: 10m, interval: 1m}
      - title: the version after
        probe: version
        expect: {path: version, matches: "."}
        save: version_after
  - id: last
    title: Last
    action: install
`

// kit returns the fakes of the runbook: the install takes 5 minutes of
// the virtual clock; the server answers at the third check; the version
// answers "1.0" then "2.0"; the last step's install fails when failLast.
func kit(failLast bool) (*actionstest.Kit, *actions.Registry) {
	k := actionstest.NewKit()
	k.Probe("version", actionstest.Returns(map[string]any{"version": "1.0"}), actionstest.Returns(map[string]any{"version": "2.0"}))
	k.Probe("up", actionstest.Returns(false).Times(2), actionstest.Returns(true))
	k.Action("backup", actionstest.Succeeds(actions.Outputs{"file": "/backups/" + hostile + ".zip", "sha256": "abc123", "size": int64(42), "pw": secret}))
	last := actionstest.Succeeds(actions.Outputs{})
	if failLast {
		last = actionstest.Fails(errors.New("installer exit 3: " + hostile))
	}
	k.Action("install", actionstest.Succeeds(actions.Outputs{}).After(5*time.Minute), last)
	reg := k.Registry()
	return k, reg
}

// journal runs the runbook with a journal and returns its path.
func journal(t *testing.T, failLast bool) string {
	t.Helper()
	k, reg := kit(failLast)
	p, err := plan.Parse("rec.yaml", []byte(runbook), plan.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run.jsonl")
	j, err := runner.OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, err = runner.Run(context.Background(), p, runner.Options{Clock: k.Clock, Journal: j,
		Params: map[string]any{"host": hostile, "password": secret}})
	if (err != nil) != failLast {
		t.Fatalf("run: %v", err)
	}
	if err := j.Note("simulation", "simulator: invariants held\n"+hostile+"\n"+secret); err != nil {
		t.Fatal(err)
	}
	return path
}

func read(t *testing.T, path string) *record.Record {
	t.Helper()
	rec, err := record.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func render(t *testing.T, rec *record.Record, f record.Format) string {
	t.Helper()
	var b bytes.Buffer
	if err := rec.Write(&b, f); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), secret) {
		t.Errorf("%s record holds the secret:\n%s", f, b.String())
	}
	return b.String()
}

func TestRecordContent(t *testing.T) {
	t.Parallel()
	path := journal(t, false)
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), secret) {
		t.Fatalf("the journal holds the secret:\n%s", data)
	}
	rec := read(t, path)
	if rec.Runbook != "rec" || len(rec.SHA256) != 64 || rec.Outcome != runner.Succeeded || rec.User == "" || rec.Host == "" {
		t.Errorf("header: %+v", rec)
	}
	if rec.Start.IsZero() || rec.End.Sub(rec.Start) < 7*time.Minute {
		t.Errorf("start %v end %v: want at least the 5-minute install and the 2 one-minute waits between them", rec.Start, rec.End)
	}
	want := map[string]any{"host": hostile, "password": runner.Redacted, "note": "n"}
	for _, p := range rec.Params {
		if p.Value != want[p.Name] || p.Secret != (p.Name == "password") {
			t.Errorf("param %s = %v (secret %v)", p.Name, p.Value, p.Secret)
		}
	}
	if len(rec.Values) < 2 || rec.Values[0].Name != "version_before" || rec.Values[1].Name != "version_after" {
		t.Errorf("values do not start with version_before, version_after: %+v", rec.Values)
	}
	if got := plan.Format(rec.Values[1].Value); !strings.Contains(got, "2.0") {
		t.Errorf("version_after = %s, want 2.0", got)
	}
	if len(rec.Backups) != 1 || rec.Backups[0].SHA256 != "abc123" || rec.Backups[0].Size != 42 || rec.Backups[0].Step != "backup" {
		t.Errorf("backups: %+v", rec.Backups)
	}
	inst := rec.Steps[2]
	if inst.ID != "install" || !inst.Mutates || len(inst.Attempts) != 1 || inst.Attempts[0].Duration != 5*time.Minute {
		t.Errorf("install step: %+v", inst)
	}
	if len(inst.Waits) != 1 || inst.Waits[0].Duration != 2*time.Minute || inst.Waits[0].Status != runner.Met {
		t.Errorf("install waits: %+v", inst.Waits)
	}
	if len(inst.Evidence) != 2 || inst.Evidence[0].Polls != 3 {
		t.Errorf("install evidence: %+v", inst.Evidence)
	}
	if v, ok := rec.Note("simulation"); !ok || !strings.Contains(plan.Format(v), "invariants held") || strings.Contains(plan.Format(v), secret) {
		t.Errorf("simulation note: %v %v", v, ok)
	}
	if rec.Next() != nil {
		t.Errorf("next = %+v, want none", rec.Next())
	}

	md := render(t, rec, record.Markdown)
	for _, s := range []string{"# Change record: rec (succeeded)", "| Runbook sha256 | `" + rec.SHA256 + "` |", "`version_before`", "## Backups", "`abc123`",
		"*[redacted]* (secret)", "## Simulator's verdict", "invariants held", "attempt 1 of `install`", "(waited 2m0s, 3 checks)"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md)
		}
	}
	if strings.Index(md, "`version_before`") > strings.Index(md, "`version_after`") {
		t.Errorf("version_before does not come before version_after")
	}
	// Markup from outside is escaped in running text, and literal in
	// code; control characters are replaced everywhere.
	if !strings.Contains(md, "Upgrade &lt;b&gt;things&lt;/b&gt;") || strings.Contains(md, "<b>") || strings.Contains(md, "\x1b") {
		t.Errorf("Markdown holds raw hostile text:\n%s", md)
	}
	if !strings.Contains(md, "| `host` | ``<script>alert(1)</script> \\| `tick` [x](http://evil.example/) \uFFFD[31m \uFFFDgnp.exe`` |") {
		t.Errorf("the hostile param is not one code span:\n%s", md)
	}

	var js map[string]any
	if err := json.Unmarshal([]byte(render(t, rec, record.JSON)), &js); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339, js["start"].(string)); err != nil {
		t.Errorf("start: %v", err)
	}
	steps := js["steps"].([]any)
	st := steps[2].(map[string]any)
	if st["duration_ms"].(float64) < float64((7*time.Minute).Milliseconds()) || st["attempts"].([]any)[0].(map[string]any)["duration_ms"] != float64(300000) {
		t.Errorf("install in JSON: %v", st)
	}
	if js["runbook_sha256"] != rec.SHA256 || js["duration_ms"] == nil {
		t.Errorf("JSON header: %v", js)
	}
}

// TestRecordFailedAndResumed: a failed run, then a resume of it that
// ends succeeded: the record shows two runs, the failure in the first, the
// step's last outcome, and what is next after the first.
func TestRecordFailedAndResumed(t *testing.T) {
	t.Parallel()
	path := journal(t, true)
	rec := read(t, path)
	if rec.Outcome != runner.Failed || rec.Next() == nil || rec.Next().ID != "last" || rec.Next().Outcome != runner.Failed {
		t.Fatalf("failed run: outcome %s next %+v", rec.Outcome, rec.Next())
	}
	if a := rec.Steps[3].Attempts; len(a) != 1 || !strings.Contains(a[0].Error, "installer exit 3") {
		t.Errorf("attempts of the failed step: %+v", a)
	}
	md := render(t, rec, record.Markdown)
	if !strings.Contains(md, "failed: installer exit 3") {
		t.Errorf("Markdown lacks the failure:\n%s", md)
	}

	k := actionstest.NewKit()
	k.Probe("version", actionstest.Returns(map[string]any{"version": "2.0"}))
	k.Probe("up", actionstest.Returns(true))
	k.Action("backup")
	k.Action("install")
	reg := k.Registry()
	p, err := plan.Parse("rec.yaml", []byte(runbook), plan.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	j, err := runner.OpenJournal(path, true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runner.Run(context.Background(), p, runner.Options{Clock: k.Clock, Journal: j, Params: map[string]any{"host": hostile, "password": "other"}})
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	rec = read(t, path)
	if len(rec.Runs) != 2 || rec.Outcome != runner.Succeeded || rec.Next() != nil {
		t.Fatalf("resumed: %d runs, %s, next %+v", len(rec.Runs), rec.Outcome, rec.Next())
	}
	// The steps done earlier keep what the first run recorded.
	if inst := rec.Steps[2]; inst.Outcome != runner.Succeeded || len(inst.Attempts) != 1 || inst.Attempts[0].Duration != 5*time.Minute {
		t.Errorf("install after the resume: %+v", inst)
	}
	if last := rec.Steps[3]; last.Outcome != runner.Succeeded || len(last.Attempts) != 2 {
		t.Errorf("last step: %+v, want succeeded with the failed attempt and the new one", last)
	}
}

// TestRecordHTML: the page is well-formed (it is written as polyglot
// markup, so an XML parser in strict mode reads it: every element closed
// and nested), holds no external reference, shows hostile strings as
// text, and draws the timeline.
func TestRecordHTML(t *testing.T) {
	t.Parallel()
	rec := read(t, journal(t, true))
	page := render(t, rec, record.HTML)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Errorf("no doctype")
	}
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	counts := map[string]int{}
	labels := map[string]bool{} // the y of each step's label
	var bars []string           // the y of each step's bar
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the page is not well-formed: %v\n%s", err, page)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			counts[tok.Name.Local]++
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch {
			case tok.Name.Local == "text" && attr["x"] == "8":
				labels[attr["y"]] = true
			case tok.Name.Local == "rect" && attr["height"] == "20":
				bars = append(bars, attr["y"])
			}
			for _, a := range tok.Attr {
				if a.Name.Local == "xmlns" {
					continue
				}
				if (a.Name.Local == "src" || a.Name.Local == "href") || strings.Contains(a.Value, "//") || strings.Contains(a.Value, "url(") {
					t.Errorf("<%s %s=%q>: a reference to something outside the page", tok.Name.Local, a.Name.Local, a.Value)
				}
			}
		case xml.CharData:
			text.Write(tok)
		}
	}
	if len(bars) != 4 {
		t.Errorf("%d step bars, want 4", len(bars))
	}
	for _, y := range bars {
		n, _ := strconv.Atoi(y)
		if !labels[strconv.Itoa(n+15)] {
			t.Errorf("a step bar at y=%s has no label on its row (labels at %v)", y, labels)
		}
	}
	for _, el := range []string{"script", "link", "img", "iframe", "object"} {
		if counts[el] > 0 {
			t.Errorf("%d <%s> elements", counts[el], el)
		}
	}
	if counts["svg"] != 1 || counts["style"] != 1 {
		t.Errorf("%d svg, %d style: want one of each", counts["svg"], counts["style"])
	}
	// A bar for each of the 4 steps, the install's wait and the runs of
	// the actions (backup, install, and the failed last one).
	if counts["rect"] < 8 {
		t.Errorf("%d rects in the timeline, want at least 8", counts["rect"])
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>things") || strings.ContainsAny(page, "\x1b\u202e") {
		t.Errorf("hostile text unescaped in the page")
	}
	all := text.String()
	for _, s := range []string{"<script>alert(1)</script>", "Upgrade <b>things</b>", "installer exit 3", "mutating action install, attempt 1: 5m0s"} {
		if !strings.Contains(all, s) {
			t.Errorf("the page's text lacks %q", s)
		}
	}
	if strings.Contains(strings.ReplaceAll(page, "http://evil.example/", ""), "http") {
		t.Errorf("the page refers to http(s) outside the hostile text")
	}
}

// TestRecordFormat3: a journal of format 3 (no times, params as hashes)
// still gives a record, and resumes.
func TestRecordFormat3(t *testing.T) {
	t.Parallel()
	rec := read(t, filepath.Join("..", "testdata", "format3.jsonl"))
	if rec.Format != "csmplan-journal/3" || !rec.Start.IsZero() || rec.Outcome != runner.Cancelled {
		t.Errorf("format 3 record: %+v", rec)
	}
	if len(rec.Params) != 1 || rec.Params[0].Name != "host" || rec.Params[0].Value != nil {
		t.Errorf("params: %+v", rec.Params)
	}
	md := render(t, rec, record.Markdown)
	if !strings.Contains(md, "not recorded (journal of format 3)") || !strings.Contains(md, "| Start | unknown |") {
		t.Errorf("Markdown:\n%s", md)
	}
	if !strings.Contains(render(t, rec, record.HTML), "No times recorded") {
		t.Errorf("HTML of format 3 draws a timeline it has no times for")
	}
	if n := rec.Next(); n == nil || n.ID != "two" || n.Outcome != record.Unfinished {
		t.Errorf("next: %+v", n)
	}
	// Format 3 names only the steps its runs reached: the runbook gives
	// the others.
	if len(rec.Steps) != 2 {
		t.Fatalf("%d steps before Complete, want the 2 the journal names", len(rec.Steps))
	}
	k := actionstest.NewKit()
	k.Action("step")
	k.Probe("done")
	p, err := plan.Parse("t.yaml", []byte("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - {id: one, action: step}\n  - {id: two, title: Second, action: step}\n  - {id: three, title: Third, action: step}\n"), plan.WithRegistry(k.Registry()))
	if err != nil {
		t.Fatal(err)
	}
	rec.Complete(p)
	if len(rec.Steps) != 3 || rec.Steps[2].ID != "three" || rec.Steps[2].Outcome != runner.NotRun || rec.Steps[1].Title != "Second" || rec.Steps[1].Outcome != record.Unfinished {
		t.Errorf("after Complete: %+v", rec.Steps)
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]record.Format{"a.md": record.Markdown, "b.JSON": record.JSON, "c.html": record.HTML, "d.htm": record.HTML} {
		if f, ok := record.FormatOf(name); !ok || f != want {
			t.Errorf("FormatOf(%s) = %s, %v", name, f, ok)
		}
	}
	if _, ok := record.FormatOf("x.txt"); ok {
		t.Errorf("FormatOf(x.txt) is a format")
	}
	if _, err := record.ParseFormat("pdf"); err == nil {
		t.Errorf("ParseFormat(pdf) is no error")
	}
	if f, err := record.ParseFormat("markdown"); err != nil || f != record.Markdown {
		t.Errorf("ParseFormat(markdown) = %s, %v", f, err)
	}
	if err := (&record.Record{}).Write(&bytes.Buffer{}, "pdf"); err == nil {
		t.Errorf("Write(pdf) is no error")
	}
	if _, err := record.Read(filepath.Join(t.TempDir(), "none")); !errors.Is(err, runner.ErrNothingToResume) {
		t.Errorf("Read(missing) = %v", err)
	}
}

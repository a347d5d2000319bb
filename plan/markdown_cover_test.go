package plan_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// mdRunbook uses every part of a runbook that the Markdown procedure shows.
const mdRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: md-demo
title: "Demo \e[31mred"
description: |
  Takes over.
  Then reports.
params:
  host: {type: string, required: true, description: "Host | port"}
  password: {type: string, secret: true, default: hunter2, changeable_on_resume: true}
  mode: {type: string, default: fast, enum: [fast, slow], changeable_on_resume: true, description: How.}
  wait: {type: duration, default: 30m}
  flag: {type: boolean}
targets:
  primary: {port: 9559, host: "${params.host}"}
defaults: {timeout: 10m, retry: {attempts: 2}, on_failure: continue}
steps:
  - id: takeover
    title: Take over
    doc: Procedure step 2.
    when: ${params.flag}
    pre:
      - title: the pair is synchronized
        probe: exec
        with: {argv: [echo, ok]}
        expect: {path: stdout, matches: "^ok"}
        wait: {timeout: "${params.wait}", interval: 30s}
        save: out
      - value: ${vars.out.code}
        expect: {equals: 0}
        wait: {timeout: 1m}
    action: log
    with: {message: "said ${vars.out.stdout}"}
    timeout: 5m
    retry: {attempts: 3, interval: 10s, backoff: 2}
    post:
      - value: [{state: Prepared}]
        expect: {path: "[*].state", none: {in: [Preparing, Recovering]}}
    on_failure: rollback
    undo: {action: log, with: {message: undo}}
  - id: report
    action: log
    with: {message: done}
    on_failure: abort
  - id: check
    pre: [{value: true}]
`

func TestWriteMarkdown(t *testing.T) {
	t.Parallel()
	p, err := plan.Parse("md.yaml", []byte(mdRunbook), plan.WithRegistry(csmplan.Registry()))
	if err != nil {
		t.Fatal(err)
	}
	reg := actions.NewRegistry()
	if err := actions.RegisterBuiltins(reg); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := plan.WriteMarkdown(&b, p, reg); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, want := range []string{
		// The title's escape sequence is shown, not sent to the terminal.
		"# Demo \\x1b[31mred\n\nRunbook `md-demo` (csmplan/v1), 3 steps.",
		"\n\nTakes over.\nThen reports.\n\n## Parameters\n\n",
		"| `host` | string | **required** | Host \\| port |\n",
		// A secret's default is never shown; a secret may change anyway.
		"| `password` | string | (secret) | Secret: redacted everywhere. |\n",
		"| `mode` | string | `fast` | How. May change when the run is resumed. One of: fast, slow. |\n",
		"| `wait` | duration | `30m` |  |\n",
		"| `flag` | boolean |  |  |\n",
		// Target fields sorted by key, references as written.
		"## Targets\n\n- **primary**: host `${params.host}`, port `9559`\n",
		"### 1. Take over\n\nStep `takeover`, line 18.\n\nProcedure step 2.\n\n",
		"Only when `${params.flag} is true`; otherwise the step is skipped.\n",
		"**Before, check that**:\n\n- the pair is synchronized (`exec(argv=[\"echo\",\"ok\"]) stdout matches /^ok/`), waiting up to `${params.wait}` and checking every 30s; keep what was observed as `${vars.out}`\n",
		"- `${vars.out.code} equals 0`, waiting up to 1m0s\n",
		// The action's summary comes from the registry.
		"**Do** `log`: Report a message to the run's observers, with message `said ${vars.out.stdout}`. Each attempt times out after 5m0s. Up to 3 attempts, 10s apart (times 2 after each).\n",
		"**After, check that**:\n\n- `[{\"state\":\"Prepared\"}] [*].state none (in [\"Preparing\",\"Recovering\"])`\n",
		"**If it fails**: roll back: undo the completed steps in reverse order, each verified, then stop.\n",
		"**Undo** (in a rollback): `log` with message `undo`, then check the preconditions again.\n",
		// Without a title the step is named by its id; the defaults apply.
		"### 2. report\n\nStep `report`, line 41.\n\n**Do** `log`: Report a message to the run's observers, with message `done`. Each attempt times out after 10m0s. Up to 2 attempts.\n\n**If it fails**: stop the run.\n",
		"### 3. check\n\nStep `check`, line 45.\n\n**Before, check that**:\n\n- `true is true`\n\n**If it fails**: record the failure and go on with the next step.\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks %q\n--- document:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "hunter2") || strings.Contains(doc, "\x1b") {
		t.Errorf("the document shows a secret's default or a raw escape:\n%s", doc)
	}
	if strings.Count(doc, "**Do**") != 2 || strings.Count(doc, "**Undo**") != 1 {
		t.Errorf("want 2 actions and 1 undo in:\n%s", doc)
	}
}

func TestWriteMarkdownWithoutRegistryOrTitle(t *testing.T) {
	t.Parallel()
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: bare\nsteps:\n  - id: a\n    action: log\n    with: {message: hi}\n"
	p, err := plan.Parse("bare.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := plan.WriteMarkdown(&b, p, nil); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, want := range []string{"# bare\n", "Runbook `bare` (csmplan/v1), 1 steps.", "**Do** `log`, with message `hi`.\n", "**If it fails**: stop the run.\n"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks %q:\n%s", want, doc)
		}
	}
	for _, absent := range []string{"## Parameters", "## Targets", "times out", "attempts", "**Undo**"} {
		if strings.Contains(doc, absent) {
			t.Errorf("the document has %q though the runbook has none:\n%s", absent, doc)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

var errWrite = errors.New("disk full")

func TestWriteMarkdownReportsWriteErrors(t *testing.T) {
	t.Parallel()
	p, err := plan.Parse("md.yaml", []byte(mdRunbook), plan.WithRegistry(csmplan.Registry()))
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.WriteMarkdown(failingWriter{}, p, nil); !errors.Is(err, errWrite) {
		t.Errorf("WriteMarkdown to a failing writer: %v, want %v", err, errWrite)
	}
}

// Backticks in values cannot break a code span; an empty default reads
// "(empty)"; added sentences start after a period.
func TestMarkdownCodeSpansAndSentences(t *testing.T) {
	t.Parallel()
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: md\nparams:\n  p: {type: string, default: \"\", changeable_on_resume: true, description: How}\nsteps:\n  - id: s\n    action: log\n    with: {message: \"a `tick` here\"}\n"
	p, err := plan.Parse("md.yaml", []byte(src), plan.WithRegistry(actions.Default()))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := plan.WriteMarkdown(&b, p, actions.Default()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| `p` | string | (empty) | How. May change when the run is resumed. |", "message `a 'tick' here`"} {
		if !strings.Contains(out, want) {
			t.Errorf("the document lacks %q:\n%s", want, out)
		}
	}
}

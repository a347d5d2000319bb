package runner_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// changeable is a runbook whose connection settings and timeout may change
// on resume, and whose host and version may not.
const changeable = `
params:
  host: {type: string}
  version: {type: string}
  ca_file: {type: string, default: "", changeable_on_resume: true}
  fingerprint: {type: string, default: "", changeable_on_resume: true}
  wait: {type: duration, default: 1m, changeable_on_resume: true}
  password: {type: string, secret: true}
steps:
  - id: one
    action: step
    with: {n: 1, host: "${params.host}", ca: "${params.ca_file}"}
  - id: two
    action: step
    with: {n: 2}
    post:
      - probe: done
        expect: {equals: true}
        wait: {timeout: "${params.wait}"}
  - id: three
    action: step
    with: {n: 3}
`

// TestJournalResumeChangedParams resumes a failed run with other params:
// those that say changeable_on_resume (and secret ones) may differ; any
// other changed param refuses the resume, and the error names each of
// them and the params that may change.
func TestJournalResumeChangedParams(t *testing.T) {
	t.Parallel()
	first := map[string]any{"host": "h1", "version": "6.3.11", "ca_file": "old-ca.pem", "password": "pw-one"}
	tests := []struct {
		name    string
		changed map[string]any
		refused []string // the params the error names; none: the resume runs
	}{
		{"the same params", nil, nil},
		{"connection settings and timeout", map[string]any{"ca_file": "renewed-ca.pem", "fingerprint": "AB:CD", "wait": "5m", "password": "pw-two"}, nil},
		{"a changeable param dropped for its default", map[string]any{"ca_file": nil}, nil},
		{"host", map[string]any{"host": "h2", "ca_file": "renewed-ca.pem"}, []string{"host"}},
		{"host and version", map[string]any{"host": "h2", "version": "6.3.12", "wait": "5m"}, []string{"host", "version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, _ := failedJournal(t, changeable, first)
			params := maps.Clone(first)
			for k, v := range tt.changed {
				if v == nil {
					delete(params, k)
				} else {
					params[k] = v
				}
			}
			kit := actionstest.NewKit()
			act := kit.Action("step")
			kit.Probe("done", actionstest.Returns(true))
			reg := kit.Registry()
			j, err := runner.OpenJournal(path, true)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			rep, err := runner.Run(context.Background(), load(t, reg, changeable), runner.Options{Registry: reg, Clock: kit.Clock, Params: params, Journal: j})
			if len(tt.refused) == 0 {
				if err != nil {
					t.Fatalf("resume refused: %v", err)
				}
				if rep.Steps[0].Outcome != runner.Resumed || act.Calls() != 1 {
					t.Errorf("step one %s, %d action calls; want step one done earlier and only step three run", rep.Steps[0].Outcome, act.Calls())
				}
				return
			}
			want := "params differ from the journal's run: " + strings.Join(tt.refused, ", ") + " (only these may change on resume: ca_file, fingerprint, wait, password)"
			if !errors.Is(err, runner.ErrJournalMismatch) || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v\nwant ErrJournalMismatch saying %q", err, want)
			}
			if act.Calls() != 0 {
				t.Errorf("a refused resume ran %d actions", act.Calls())
			}
		})
	}
}

// TestJournalResumeNoChangeableParams: a runbook without changeable params
// says so when a resume changes one.
func TestJournalResumeNoChangeableParams(t *testing.T) {
	t.Parallel()
	const body = `
params:
  host: {type: string}
  ca_file: {type: string, default: ""}
steps:
  - id: one
    action: step
  - id: two
    action: step
    post:
      - probe: done
        expect: {equals: true}
  - id: three
    action: step
`
	path, _ := failedJournal(t, body, map[string]any{"host": "h1", "ca_file": "a.pem"})
	kit := actionstest.NewKit()
	kit.Action("step")
	kit.Probe("done", actionstest.Returns(true))
	reg := kit.Registry()
	j, err := runner.OpenJournal(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, err = runner.Run(context.Background(), load(t, reg, body), runner.Options{Registry: reg, Clock: kit.Clock, Params: map[string]any{"host": "h1", "ca_file": "b.pem"}, Journal: j})
	want := "params differ from the journal's run: ca_file (no param of this runbook may change on resume)"
	if !errors.Is(err, runner.ErrJournalMismatch) || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant ErrJournalMismatch saying %q", err, want)
	}
}

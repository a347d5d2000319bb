package plan_test

import (
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

func TestWriteMarkdownValues(t *testing.T) {
	t.Parallel()
	p, err := plan.Parse("v.yaml", []byte(`apiVersion: csmplan/v1
kind: Runbook
name: v
params:
  host: {type: string, description: "Host such as ${params.host}"}
  pw: {type: string, secret: true}
  note: {type: string}
  empty: {type: string, default: ""}
steps:
  - id: s
    action: log
    with: {message: "to ${params.host} with ${params.pw}, literal $${params.host}, ${params.note}, [${params.empty}]"}
`), plan.WithRegistry(actions.Default()))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := plan.WriteMarkdownValues(&b, p, actions.Default(), map[string]any{"host": "csm`1\x1b", "pw": "hunter22", "empty": ""}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| `host` | `csm'1\\x1b` |", "| `pw` | (secret, given) |", "| `note` | (not given) |", "| `empty` | (empty) |",
		"to csm'1\\x1b with ${params.pw}, literal $${params.host}, ${params.note}, []",
		"Host such as ${params.host}",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter22") || strings.Contains(out, "\x1b") {
		t.Errorf("a secret or a control character:\n%s", out)
	}
}

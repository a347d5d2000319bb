package runner_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

func TestSlogObserver(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	kit := actionstest.NewKit()
	kit.Probe("ha", actionstest.Returns("Standby"), actionstest.Returns("Active"))
	kit.Action("bad", actionstest.Fails(errors.New("exploded with pw=hunter2")))
	_, _, err := run(t, kit, `
params:
  pw: {type: string, secret: true}
steps:
  - id: wait
    pre: [{probe: ha, expect: {equals: Active}, wait: {timeout: 1m, interval: 10s}}]
  - id: boom
    action: bad
    with: {pw: "${params.pw}"}
`, runner.Options{Params: map[string]any{"pw": "hunter2"}, Observers: []runner.Observer{runner.SlogObserver(logger)}})
	if err == nil {
		t.Fatal("want a failure")
	}
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg=wait.poll event=wait.poll step=wait phase=pre`,
		`observed=Standby`,
		`level=INFO msg=step.end event=step.end step=wait outcome=succeeded`,
		`level=ERROR msg=bad event=attempt.end step=boom error="exploded with pw=[redacted]"`,
		`level=ERROR msg=run.end`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("secret in the log:\n%s", out)
	}
}

package runner_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
)

// A secret too short to redact without mangling every message is refused
// when params are bound, without being shown; an optional secret not given
// has nothing to hide, and its zero value is not redacted.
func TestShortSecrets(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	p := load(t, kit.Registry(), `
params:
  pw: {type: string, secret: true}
  pin: {type: integer, secret: true}
  token: {type: string, secret: true, default: "ab"}
steps:
  - id: s
    action: log
    with: {message: "0 errors in step s"}
`)
	_, err := runner.BindParams(p, map[string]any{"pw": "é1b", "pin": 7})
	if !errors.Is(err, runner.ErrParams) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"param pw: a secret of fewer than 4 characters cannot be redacted", "param pin: a secret of fewer", "param token: its default: a secret of fewer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	for _, s := range []string{"é1b", "7"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("the error shows the secret %q: %v", s, err)
		}
	}
	if _, err := runner.BindParams(p, map[string]any{"pw": "ébcd", "pin": 1234, "token": "long enough"}); err != nil {
		t.Errorf("secrets of 4 characters: %v", err)
	}

	// pin, not given, is 0: no digit 0 is redacted from the messages.
	p = load(t, actions.Default(), `
params:
  pw: {type: string, secret: true}
  pin: {type: integer, secret: true}
steps:
  - id: s
    action: log
    with: {message: "0 errors, pw ${params.pw}"}
`)
	var logged string
	obs := runner.ObserverFunc(func(e runner.Event) {
		if e.Kind == runner.ActionLog {
			logged += e.Message
		}
	})
	if _, err := runner.Run(t.Context(), p, runner.Options{Params: map[string]any{"pw": "hunter2"}, Observers: []runner.Observer{obs}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged, "0 errors, pw "+runner.Redacted) {
		t.Errorf("logged %q, want the 0 kept and the password redacted", logged)
	}
}

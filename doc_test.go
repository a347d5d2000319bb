package csmplan_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
)

// Load a runbook and run it: the README's first example.
func Example() {
	src := []byte(`
apiVersion: csmplan/v1
kind: Runbook
name: hello
params:
  who: {type: string, default: world}
steps:
  - id: greet
    action: log
    with: {message: "hello, ${params.who}"}
    post:
      - value: ${steps.greet.outputs.message}
        expect: {matches: "^hello"}
`)
	p, err := csmplan.Load("hello.yaml", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	report, err := csmplan.Run(context.Background(), p, runner.Options{Params: map[string]any{"who": "csmplan"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report.Outcome, report.Step("greet").Outputs["message"])
	// Output: succeeded hello, csmplan
}

// Every problem of a runbook is reported at once, sorted, each as
// FILE:LINE:COL: message; plan.Render adds code frames.
func ExampleLoad_errors() {
	src := []byte(`apiVersion: csmplan/v1
kind: Runbook
name: broken
steps:
  - id: one
    action: lgo
    tiemout: 5m
  - id: two
    action: log
    with: {message: "${steps.three.outputs.message}"}
  - id: three
    action: log
    with: {message: x}
`)
	_, err := csmplan.Load("broken.yaml", src)
	fmt.Println(err)
	fmt.Println(errors.Is(err, plan.ErrUnknown), errors.Is(err, plan.ErrReference))
	// Output:
	// broken.yaml:6:13: unknown action "lgo" (did you mean "log"?)
	// broken.yaml:7:5: unknown key "tiemout" in step (did you mean "timeout"?)
	// broken.yaml:10:22: ${steps.three.outputs.message} refers to step "three", which comes later (line 11): a step may only use outputs of steps before it
	// true true
}

// The default runbook is the CSM HA upgrade.
func ExampleLoadDefault() {
	p, err := csmplan.LoadDefault()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Name, len(p.Steps), "steps, first:", p.Steps[0].ID)
	// Output: csm-upgrade 15 steps, first: check-primary
}

// Adding an action takes a spec and a constructor. Register it into a
// registry of your own, which starts with every built-in and CSM action,
// and load with it: the plan remembers the registry and runs against it.
func Example_customAction() {
	reg, err := csmplan.NewRegistry(csmplan.CSMOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = reg.RegisterAction(actions.Spec{
		Name:    "site.ticket",
		Summary: "Open a change ticket",
		Args:    []byte(`{"type": "object", "required": ["title"], "additionalProperties": false, "properties": {"title": {"type": "string", "description": "Ticket title"}}}`),
		Outputs: []actions.Output{{Name: "id", Type: "string", Description: "Ticket id"}},
		Mutates: true,
	}, func() actions.Action {
		return actions.ActionFunc(func(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
			title, _ := call.String("title")
			return actions.Outputs{"id": "CHG-" + strings.ToUpper(title[:3])}, nil
		})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := plan.Parse("ticket.yaml", []byte(`apiVersion: csmplan/v1
kind: Runbook
name: ticket
steps:
  - id: open
    action: site.ticket
    with: {title: upgrade}
`), plan.WithRegistry(reg))
	if err != nil {
		fmt.Println(err)
		return
	}
	report, err := runner.Run(context.Background(), p, runner.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report.Step("open").Outputs["id"])
	// Output: CHG-UPG
}

// A table-driven test of a plan: scripted fakes on a virtual clock check
// the plan's path through several scenarios in milliseconds, 30-minute
// waits included.
func Example_tableDriven() {
	src := []byte(`apiVersion: csmplan/v1
kind: Runbook
name: failover
steps:
  - id: takeover
    pre:
      - probe: ha
        expect: {path: status, equals: Synchronized}
        wait: {timeout: 30m, interval: 30s}
    action: takeover
    retry: {attempts: 2, interval: 1m}
`)
	synced := actionstest.Returns(map[string]any{"status": "Synchronized"})
	pending := actionstest.Returns(map[string]any{"status": "Synchronization Pending"})
	scenarios := []struct {
		name     string
		ha       []actionstest.Result
		takeover []actionstest.Result
	}{
		{"synchronized", []actionstest.Result{synced}, nil},
		{"synchronizes after 10 minutes", []actionstest.Result{pending.Times(20), synced}, nil},
		{"never synchronizes", []actionstest.Result{pending}, nil},
		{"takeover fails once", []actionstest.Result{synced}, []actionstest.Result{actionstest.Fails(errors.New("IWNR1234E")), {}}},
	}
	for _, sc := range scenarios {
		kit := actionstest.NewKit()
		kit.Probe("ha", sc.ha...)
		kit.Action("takeover", sc.takeover...)
		reg := kit.Registry()
		p, err := plan.Parse("failover.yaml", src, plan.WithRegistry(reg))
		if err != nil {
			fmt.Println(err)
			return
		}
		report, _ := runner.Run(context.Background(), p, runner.Options{Clock: kit.Clock})
		s := report.Step("takeover")
		fmt.Printf("%-30s %-9s waited %-6s attempts %d\n", sc.name, s.Outcome, s.Pre[0].Waited, len(s.Attempts))
	}
	// Output:
	// synchronized                   succeeded waited 0s     attempts 1
	// synchronizes after 10 minutes  succeeded waited 10m0s  attempts 1
	// never synchronizes             failed    waited 30m0s  attempts 0
	// takeover fails once            succeeded waited 0s     attempts 2
}

// A target holds the fields that the actions and probes of the registry
// declare, such as those of a site's own API, beside CSM's: an action
// declares the fields it reads as it declares its arguments.
func Example_targets() {
	reg, err := csmplan.NewRegistry(csmplan.CSMOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = reg.RegisterAction(actions.Spec{
		Name:         "site.notify",
		Summary:      "Post a message to the site's chat API",
		Args:         []byte(`{"type": "object", "required": ["target", "text"], "additionalProperties": false, "properties": {"target": {"type": "string"}, "text": {"type": "string"}}}`),
		TargetFields: []byte(`{"url": {"type": "string", "description": "Base URL of the API"}, "token": {"type": "string", "writeOnly": true}}`),
		Mutates:      true,
	}, func() actions.Action {
		return actions.ActionFunc(func(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
			_, chat, err := call.Target("target")
			if err != nil {
				return nil, err
			}
			call.Logf("POST %s/messages", chat["url"])
			return nil, nil
		})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	src := []byte(`apiVersion: csmplan/v1
kind: Runbook
name: notify
params:
  chat_token: {type: string, secret: true}
targets:
  chat: {url: "https://chat.example.com/api", token: "${params.chat_token}"}
  primary: {host: csm1.example.com, port: 9559}
steps:
  - id: notify
    action: site.notify
    with: {target: chat, text: Upgrade starts}
`)
	p, err := plan.Parse("notify.yaml", src, plan.WithRegistry(reg))
	if err != nil {
		fmt.Println(err)
		return
	}
	print := runner.ObserverFunc(func(e runner.Event) {
		if e.Kind == runner.ActionLog {
			fmt.Println(e.Message)
		}
	})
	_, err = runner.Run(context.Background(), p, runner.Options{Params: map[string]any{"chat_token": "t0k3n"}, Observers: []runner.Observer{print}})
	fmt.Println(err)
	// A field that no action or probe declares is refused when loading.
	_, err = plan.Parse("notify.yaml", bytes.Replace(src, []byte(`token: "`), []byte(`tokn: "`), 1), plan.WithRegistry(reg))
	fmt.Println(err)
	// Output:
	// POST https://chat.example.com/api/messages
	// <nil>
	// notify.yaml:7:47: unknown key "tokn" in target (did you mean "token"?)
}

// A run given a journal records each step as it ends; after an
// interruption or a failure, a run given the same journal, opened to
// resume, skips the steps recorded as done.
func Example_resume() {
	dir, err := os.MkdirTemp("", "csmplan-resume-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	kit := actionstest.NewKit()
	kit.Action("backup")
	kit.Action("install", actionstest.Fails(actions.Permanent(errors.New("disk full"))), actionstest.Result{})
	p, err := plan.Parse("upgrade.yaml", []byte(`apiVersion: csmplan/v1
kind: Runbook
name: upgrade
steps:
  - id: backup
    action: backup
  - id: install
    action: install
`), plan.WithRegistry(kit.Registry()))
	if err != nil {
		fmt.Println(err)
		return
	}
	path := filepath.Join(dir, "upgrade.journal")
	for _, resume := range []bool{false, true} {
		j, err := runner.OpenJournal(path, resume)
		if err != nil {
			fmt.Println(err)
			return
		}
		report, _ := runner.Run(context.Background(), p, runner.Options{Journal: j, Clock: kit.Clock})
		if err := j.Close(); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(report.Outcome, "backup:", report.Step("backup").Outcome, "install:", report.Step("install").Outcome)
	}
	// Output:
	// failed backup: succeeded install: failed
	// succeeded backup: done earlier install: succeeded
}

// Observers see every event, secrets redacted; SlogObserver logs them.
func ExampleRun_observers() {
	src := []byte(`apiVersion: csmplan/v1
kind: Runbook
name: secret
params:
  password: {type: string, secret: true}
steps:
  - id: login
    action: log
    with: {message: "logging in with ${params.password}"}
`)
	p, _ := csmplan.Load("secret.yaml", src)
	print := runner.ObserverFunc(func(e runner.Event) {
		if e.Kind == runner.ActionLog || e.Kind == runner.StepEnd {
			fmt.Println(e.Kind, strings.TrimSpace(e.Message+" "+string(e.Outcome)))
		}
	})
	report, _ := csmplan.Run(context.Background(), p, runner.Options{
		Params:    map[string]any{"password": "hunter2"},
		Observers: []runner.Observer{print},
	})
	fmt.Println(report.Step("login").Outputs["message"])
	// Output:
	// action.log logging in with [redacted]
	// step.end succeeded
	// logging in with [redacted]
}

// TestReadmeSnippets keeps the README honest: every runbook in it loads,
// and every Go snippet is the body of one of the examples above.
func TestReadmeSnippets(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := os.ReadFile("doc_test.go")
	if err != nil {
		t.Fatal(err)
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	body := squash(string(examples))
	blocks := regexp.MustCompile("(?s)```(yaml|go)\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	runbooks, snippets := 0, 0
	for _, b := range blocks {
		lang, code := b[1], b[2]
		switch {
		case lang == "yaml" && strings.Contains(code, "kind: Fleet"):
			checkReadmeFleet(t, code)
		case lang == "yaml" && strings.Contains(code, "apiVersion:"):
			runbooks++
			if _, err := csmplan.Load("README.md", []byte(code)); err != nil {
				t.Errorf("README runbook does not load:\n%v", err)
			}
		case lang == "go":
			snippets++
			if !strings.Contains(body, squash(code)) {
				t.Errorf("README Go snippet is not in doc_test.go:\n%s", code)
			}
		}
	}
	if runbooks == 0 || snippets < 3 {
		t.Errorf("found %d runbooks and %d Go snippets in the README", runbooks, snippets)
	}
}

// checkReadmeFleet loads a fleet file of the README, its @FILE secrets
// written beside it and CSMPLAN_PARAM_PASSWORD set.
func checkReadmeFleet(t *testing.T, code string) {
	t.Helper()
	dir := t.TempDir()
	for _, m := range regexp.MustCompile(`"@([a-z.-]+)"`).FindAllStringSubmatch(code, -1) {
		if err := os.WriteFile(filepath.Join(dir, m[1]), []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	def, err := csmplan.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	env := func(name string) (string, bool) { return "secret", name == "CSMPLAN_PARAM_PASSWORD" }
	if _, err := fleet.Parse(filepath.Join(dir, "fleet.yaml"), []byte(code), csmplan.Registry(), fleet.WithDefaultRunbook(def), fleet.WithEnv(env)); err != nil {
		t.Errorf("README fleet does not load:\n%v", err)
	}
}

// Command embed shows a Go program that embeds csmplan: it registers an
// action of its own ("shout"), loads its own runbook, runs it, and prints
// the events as they come.
//
//	go run ./examples/embed
package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"strings"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

//go:embed runbook.yaml
var runbook []byte

// shout is an action of this program: it upper-cases its text argument.
func shout(_ context.Context, call *actions.Call) (actions.Outputs, error) {
	text, err := call.String("text")
	if err != nil {
		return nil, actions.Permanent(err)
	}
	return actions.Outputs{"loud": strings.ToUpper(text) + "!"}, nil
}

// registry returns the built-ins plus shout: registering an action is a
// spec (name, summary, argument schema, outputs) and a constructor.
func registry() (*actions.Registry, error) {
	reg := actions.NewRegistry()
	if err := actions.RegisterBuiltins(reg); err != nil {
		return nil, err
	}
	err := reg.RegisterAction(actions.Spec{
		Name:    "shout",
		Summary: "Upper-case a text",
		Args:    []byte(`{"type": "object", "required": ["text"], "additionalProperties": false, "properties": {"text": {"type": "string", "description": "What to shout"}}}`),
		Outputs: []actions.Output{{Name: "loud", Type: "string", Description: "The text, upper-cased"}},
	}, func() actions.Action { return actions.ActionFunc(shout) })
	return reg, err
}

func run(ctx context.Context, dir string) (*runner.Report, error) {
	reg, err := registry()
	if err != nil {
		return nil, err
	}
	p, err := plan.Parse("runbook.yaml", runbook, plan.WithRegistry(reg))
	if err != nil {
		return nil, err
	}
	watch := runner.ObserverFunc(func(e runner.Event) {
		if e.Kind == runner.StepEnd {
			fmt.Printf("[%d/%d] %s: %s\n", e.Index, e.Count, e.Title, e.Outcome)
		}
	})
	return runner.Run(ctx, p, runner.Options{
		Registry:  reg,
		Params:    map[string]any{"who": "csmplan", "dir": dir},
		Observers: []runner.Observer{watch},
	})
}

func main() {
	dir, err := os.MkdirTemp("", "embed-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	rep, err := run(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("outcome:", rep.Outcome, "- said:", rep.Step("greet").Outputs["loud"])
}

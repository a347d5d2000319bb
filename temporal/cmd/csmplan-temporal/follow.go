package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// queryTimeout bounds one progress query: a workflow whose worker is gone
// answers none until a worker polls its task queue again.
const queryTimeout = 5 * time.Second

// follower streams a run's progress from its workflow's queries, as
// csmplan run shows a run, and answers its manual steps.
type follower struct {
	cl             client.Client
	id             string
	run            client.WorkflowRun
	p              *plan.Plan
	stdout, stderr io.Writer
	json, yes, tty bool
	stdin          *bufio.Reader
	every          time.Duration
	attach         string // the command line that attaches again
	conn           *conn

	disp   *console.Progress
	next   int             // the index of the next event to ask for
	asked  map[string]bool // the manual steps answered or announced
	silent bool            // a query failed, and the operator was told
}

// follow follows the run to its end and returns the exit code of its
// outcome; a cancelled ctx (Ctrl-C) detaches.
func (f *follower) follow(ctx context.Context) int {
	f.asked = map[string]bool{}
	if !f.json {
		f.disp = console.New(f.stdout, console.Options{TTY: f.tty, Color: f.tty && os.Getenv("NO_COLOR") == "",
			Plan: f.p, Builtin: f.p.Filename == csmplan.DefaultRunbookName, EventTimes: true})
		if f.tty {
			defer f.disp.Ticker(time.Second)()
		}
	}
	type ended struct {
		res interpreter.Result
		err error
	}
	done := make(chan ended, 1)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var e ended
		e.err = f.run.Get(gctx, &e.res)
		done <- e
	}()
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(f.stderr, "\ndetached: workflow %s goes on in Temporal. Follow it again with the same command (%s), see it with `%s`, stop it with `%s`\n",
				f.id, f.attach, f.conn.command("status", f.id), f.conn.command("cancel", f.id))
			return exitInterrupted
		case e := <-done:
			if e.err != nil {
				return fail(f.stderr, "run", exitFailed, fmt.Errorf("workflow %s: %w", f.id, e.err))
			}
			f.drain(ctx)
			return f.end(e.res)
		case <-tick.C:
			f.poll(ctx)
		}
	}
}

// poll asks for the events that came since the last ones, shows them, and
// answers a manual step the run waits for.
func (f *follower) poll(ctx context.Context) (done bool) {
	for {
		pr, err := f.progress(ctx)
		if err != nil {
			if !f.silent && ctx.Err() == nil {
				f.silent = true
				fmt.Fprintf(f.stderr, "no answer from the workflow's worker yet (is a worker polling its task queue?): %v\n", console.FirstLine(err.Error()))
			}
			return false
		}
		if f.silent {
			f.silent = false
			fmt.Fprintf(f.stderr, "the workflow's worker answers again\n")
		}
		for _, e := range pr.Events {
			f.show(e)
		}
		f.next = pr.Next
		if pr.Waiting != nil {
			f.approve(ctx, *pr.Waiting)
		}
		if len(pr.Events) < interpreter.MaxProgressEvents {
			return pr.Done
		}
	}
}

func (f *follower) progress(ctx context.Context) (*interpreter.Progress, error) {
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, err := f.cl.QueryWorkflow(qctx, f.id, "", interpreter.ProgressQuery, f.next)
	if err != nil {
		return nil, err
	}
	var pr interpreter.Progress
	if err := v.Get(&pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// drain shows the events the run ended with, asking a while for them if
// no worker answers: the report says the rest.
func (f *follower) drain(ctx context.Context) {
	for range 6 {
		if f.poll(ctx) || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(f.every):
		}
	}
}

func (f *follower) show(e runner.Event) {
	if f.json {
		b, err := json.Marshal(e)
		if err == nil {
			fmt.Fprintf(f.stdout, "%s\n", b)
		}
		return
	}
	f.disp.Observe(e)
}

// approve answers the manual step the run waits for: --yes approves; on a
// terminal the operator is asked; otherwise it says how to answer.
func (f *follower) approve(ctx context.Context, req actions.ApprovalRequest) {
	if f.asked[req.Step] {
		return
	}
	f.asked[req.Step] = true
	answer := f.yes
	if !f.yes && !f.tty {
		fmt.Fprintf(f.stderr, "step %s waits for approval: %s\n  answer with `%s` (or --refuse)\n", req.Step, req.Prompt, f.conn.command("approve --step "+req.Step, f.id))
		return
	}
	if !f.yes {
		release := func() {}
		if f.disp != nil {
			release = f.disp.Hold()
		}
		fmt.Fprintf(f.stdout, "\n%s\nApprove step %s? Only 'yes' approves: ", req.Prompt, req.Step)
		line, _ := f.stdin.ReadString('\n')
		release()
		answer = strings.TrimSpace(line) == "yes"
	}
	if err := f.cl.SignalWorkflow(ctx, f.id, "", interpreter.ApproveSignal, interpreter.Approval{Step: req.Step, Approve: answer}); err != nil {
		f.asked[req.Step] = false
		fmt.Fprintf(f.stderr, "%s run: answer step %s: %v\n", prog, req.Step, err)
	}
}

// end prints the run's summary and returns the exit code of its outcome.
func (f *follower) end(res interpreter.Result) int {
	if res.Report == nil {
		return fail(f.stderr, "run", exitFailed, errors.New(res.Error))
	}
	if f.json {
		return exitCode(res.Report)
	}
	f.disp.Summary(res.Report, f.stderr)
	fmt.Fprintf(f.stdout, "change record: %s\n", f.conn.command("report", f.id))
	return exitCode(res.Report)
}

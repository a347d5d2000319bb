package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/record"
	"github.com/csmplan/csmplan/temporal/csmworker"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// oneID parses the flags of a command that takes one WORKFLOW-ID, runs
// check (a usage error: exit 2), and dials. ok is false when the command
// ends there, with code; the caller closes cl.
func oneID(ctx context.Context, fs *flag.FlagSet, c *conn, args []string, check func() error, stdout, stderr io.Writer) (cl client.Client, id string, code int, ok bool) {
	name := strings.TrimPrefix(fs.Name(), prog+" ")
	pos, code, ok := parse(fs, args, stdout)
	if !ok {
		return nil, "", code, false
	}
	if len(pos) != 1 {
		return nil, "", fail(stderr, name, exitUsage, errors.New("want one WORKFLOW-ID")), false
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, "", fail(stderr, name, exitUsage, err), false
		}
	}
	cl, err := c.dial(ctx, stderr)
	if err != nil {
		return nil, "", fail(stderr, name, exitFailed, err), false
	}
	return cl, pos[0], 0, true
}

// cmdStatus runs `csmplan-temporal status WORKFLOW-ID`.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", "WORKFLOW-ID", `Say where a run stands: the workflow's state, the step it is at, what it waits
for, and its outcome once it has ended.`, stderr)
	var c conn
	c.add(fs)
	cl, id, code, ok := oneID(ctx, fs, &c, args, nil, stdout, stderr)
	if !ok {
		return code
	}
	defer cl.Close()
	d, err := cl.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		if _, nf := errors.AsType[*serviceerror.NotFound](err); nf {
			return fail(stderr, "status", exitFailed, fmt.Errorf("no workflow %s in namespace %s", id, c.namespace))
		}
		return fail(stderr, "status", exitFailed, err)
	}
	info := d.GetWorkflowExecutionInfo()
	start := info.GetStartTime().AsTime()
	state := strings.ToLower(strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
	fmt.Fprintf(stdout, "workflow %s (%s): %s, started %s", id, info.GetType().GetName(), state, start.Local().Format(time.DateTime))
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		fmt.Fprintf(stdout, " (%s ago)\n", time.Since(start).Round(time.Second))
	} else {
		fmt.Fprintf(stdout, ", ended %s\n", info.GetCloseTime().AsTime().Local().Format(time.DateTime))
	}
	fmt.Fprintf(stdout, "task queue %s, namespace %s at %s\n", info.GetTaskQueue(), c.namespace, c.address)
	if info.GetType().GetName() == interpreter.FleetWorkflowName {
		return fleetStatus(ctx, &c, cl, id, stdout, stderr)
	}
	events, waiting, err := allEvents(ctx, cl, id)
	if err != nil {
		fmt.Fprintf(stdout, "where it stands: no worker answers its query (%s); start a worker of task queue %s\n", console.FirstLine(err.Error()), info.GetTaskQueue())
		return exitFailed
	}
	for _, line := range standing(events, waiting, func(verb string) string { return c.command(verb, id) }) {
		fmt.Fprintf(stdout, "%s\n", line)
	}
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		fmt.Fprintf(stdout, "change record: %s\n", c.command("report", id))
	}
	return exitOK
}

// allEvents returns every event of the run so far, and the approval it
// waits for.
func allEvents(ctx context.Context, cl client.Client, id string) ([]runner.Event, *interpreter.Progress, error) {
	var events []runner.Event
	for next := 0; ; {
		qctx, cancel := context.WithTimeout(ctx, queryTimeout)
		v, err := cl.QueryWorkflow(qctx, id, "", interpreter.ProgressQuery, next)
		cancel()
		if err != nil {
			return nil, nil, err
		}
		var pr interpreter.Progress
		if err := v.Get(&pr); err != nil {
			return nil, nil, err
		}
		events = append(events, pr.Events...)
		next = pr.Next
		if len(pr.Events) < interpreter.MaxProgressEvents {
			return events, &pr, nil
		}
	}
}

// standing says, from a run's events, where it stands.
func standing(events []runner.Event, pr *interpreter.Progress, command func(verb string) string) []string {
	var (
		runbook          string
		step, act, cond  *runner.Event
		counts           = map[runner.Outcome]int{}
		end              *runner.Event
		total, stepsDone int
	)
	for i := range events {
		e := &events[i]
		switch e.Kind {
		case runner.RunStart:
			runbook, total = e.Runbook, e.Count
		case runner.StepStart:
			step, act, cond = e, nil, nil
		case runner.AttemptStart:
			act = e
		case runner.AttemptEnd:
			act = nil
		case runner.ConditionStart:
			cond = e
		case runner.ConditionEnd:
			cond = nil
		case runner.StepEnd:
			step, act, cond = nil, nil, nil
			counts[e.Outcome]++
			stepsDone++
		case runner.RunEnd:
			end = e
		}
	}
	var lines []string
	if runbook != "" {
		lines = append(lines, fmt.Sprintf("runbook %s: %d of %d steps ended%s", runbook, stepsDone, total, outcomeCounts(counts)))
	}
	if end != nil {
		line := "outcome: " + string(end.Outcome)
		if end.Error != "" {
			line += ": " + console.FirstLine(end.Error)
		}
		return append(lines, line)
	}
	if step != nil {
		line := fmt.Sprintf("at step %d of %d %q", step.Index, step.Count, step.Title)
		switch {
		case act != nil:
			line += fmt.Sprintf(": action %s, attempt %d, running since %s", act.Message, act.Attempt, act.Time.Local().Format(time.TimeOnly))
		case cond != nil && cond.Condition != nil:
			line += fmt.Sprintf(": checking %s (%s) since %s", cond.Condition.Condition, cond.Phase, cond.Time.Local().Format(time.TimeOnly))
		}
		lines = append(lines, line)
	}
	if pr != nil && pr.Waiting != nil {
		lines = append(lines, fmt.Sprintf("waiting for approval of step %s: %s (answer: %s)", pr.Waiting.Step, pr.Waiting.Prompt, command("approve --step "+pr.Waiting.Step)))
	}
	return lines
}

func outcomeCounts(counts map[runner.Outcome]int) string {
	var parts []string
	for _, o := range []runner.Outcome{runner.Succeeded, runner.Resumed, runner.Skipped, runner.WouldRun, runner.WouldSkip, runner.Failed, runner.Blocked, runner.Cancelled} {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// cmdReport runs `csmplan-temporal report WORKFLOW-ID`.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("report", "WORKFLOW-ID", `Render the change record of a run, from the journal its workflow keeps: the
same record as csmplan report renders from a journal file (Markdown, JSON or
a self-contained HTML page).`, stderr)
	var c conn
	c.add(fs)
	format := fs.String("format", "", "md, json or html (default: from -o's extension, else md)")
	out := fs.String("o", "", "write to `FILE` (default: stdout)")
	f := record.Markdown
	cl, id, code, ok := oneID(ctx, fs, &c, args, func() (err error) {
		if *format != "" {
			f, err = record.ParseFormat(*format)
		} else if of, ok := record.FormatOf(*out); ok {
			f = of
		}
		return err
	}, stdout, stderr)
	if !ok {
		return code
	}
	defer cl.Close()
	rec, err := workflowRecord(ctx, cl, id)
	if err != nil {
		return fail(stderr, "report", exitFailed, err)
	}
	w := stdout
	if *out != "" {
		fh, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return fail(stderr, "report", exitFailed, err)
		}
		defer fh.Close()
		w = fh
	}
	if err := rec.Write(w, f); err != nil {
		return fail(stderr, "report", exitFailed, err)
	}
	return exitOK
}

// workflowRecord builds the change record of the run of workflow id from
// the journal it keeps, completed with the steps of its runbook that it
// did not reach.
func workflowRecord(ctx context.Context, cl client.Client, id string) (*record.Record, error) {
	in, err := workflowInput(ctx, cl, id)
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, err := cl.QueryWorkflow(qctx, id, "", interpreter.JournalQuery)
	if err != nil {
		return nil, fmt.Errorf("workflow %s: its journal: %w", id, err)
	}
	var lines []byte
	if err := v.Get(&lines); err != nil {
		return nil, fmt.Errorf("workflow %s: its journal: %w", id, err)
	}
	log, err := runner.ParseJournal("workflow "+id, lines)
	if err != nil {
		return nil, err
	}
	rec := record.FromJournal(log)
	if reg, err := csmworker.Registry(); err == nil {
		if p, err := interpreter.ParseInput(*in, reg); err == nil {
			rec.Complete(p)
		}
	}
	return rec, nil
}

// workflowInput returns the Input a run's workflow was started with, from
// the first event of its history.
func workflowInput(ctx context.Context, cl client.Client, id string) (*interpreter.Input, error) {
	it := cl.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, fmt.Errorf("workflow %s: no history", id)
	}
	ev, err := it.Next()
	if err != nil {
		if _, nf := errors.AsType[*serviceerror.NotFound](err); nf {
			return nil, fmt.Errorf("no workflow %s", id)
		}
		return nil, fmt.Errorf("workflow %s: %w", id, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || attrs.GetWorkflowType().GetName() != interpreter.WorkflowName {
		return nil, fmt.Errorf("workflow %s is not a csmplan run (%s)", id, attrs.GetWorkflowType().GetName())
	}
	var in interpreter.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		return nil, fmt.Errorf("workflow %s: its input: %w", id, err)
	}
	return &in, nil
}

// cmdApprove runs `csmplan-temporal approve WORKFLOW-ID`.
func cmdApprove(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("approve", "WORKFLOW-ID", `Answer the manual step a run waits for (see status): approve it, or refuse it
with --refuse, which fails the step.`, stderr)
	var c conn
	c.add(fs)
	step := fs.String("step", "", "the `ID` of the step answered (default: the one the run waits for)")
	refuse := fs.Bool("refuse", false, "refuse the step instead of approving it")
	cl, id, code, ok := oneID(ctx, fs, &c, args, nil, stdout, stderr)
	if !ok {
		return code
	}
	defer cl.Close()
	if err := cl.SignalWorkflow(ctx, id, "", interpreter.ApproveSignal, interpreter.Approval{Step: *step, Approve: !*refuse}); err != nil {
		return fail(stderr, "approve", exitFailed, fmt.Errorf("workflow %s: %w", id, err))
	}
	verb := "approved"
	if *refuse {
		verb = "refused"
	}
	fmt.Fprintf(stdout, "%s %s\n", verb, cmp.Or(*step, "the step it waits for"))
	return exitOK
}

// cmdCancel runs `csmplan-temporal cancel WORKFLOW-ID`.
func cmdCancel(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cancel", "WORKFLOW-ID", `Cancel a run: its waits end, and the call in flight is cancelled on its worker
(an installer gets SIGTERM, then SIGKILL after its kill grace). The run ends
Cancelled, with its record.`, stderr)
	var c conn
	c.add(fs)
	cl, id, code, ok := oneID(ctx, fs, &c, args, nil, stdout, stderr)
	if !ok {
		return code
	}
	defer cl.Close()
	if err := cl.CancelWorkflow(ctx, id, ""); err != nil {
		return fail(stderr, "cancel", exitFailed, fmt.Errorf("workflow %s: %w", id, err))
	}
	fmt.Fprintf(stdout, "cancel requested: %s\n", id)
	return exitOK
}

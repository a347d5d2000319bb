package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
	"github.com/csmplan/csmplan/temporal/csmworker"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// runFleet runs `csmplan-temporal run --fleet FILE`: the fleet as a parent
// workflow with a child workflow per unit.
func runFleet(ctx context.Context, f *runFlags, pos []string, stdout, stderr io.Writer) int {
	if len(pos) > 0 {
		return fail(stderr, "run", exitUsage, fmt.Errorf("--fleet %s names its runbook: no RUNBOOK argument (%q)", f.fleet, pos[0]))
	}
	if f.paramsFile != "" || len(f.params) > 0 {
		return fail(stderr, "run", exitUsage, fmt.Errorf("--fleet %s gives the params: no --params or -p", f.fleet))
	}
	reg, err := csmworker.Registry()
	if err != nil {
		return fail(stderr, "run", exitFailed, err)
	}
	def, err := plan.Parse(csmplan.DefaultRunbookName, csmplan.DefaultRunbook(), plan.WithRegistry(reg))
	if err != nil {
		return fail(stderr, "run", exitFailed, err)
	}
	fl, err := fleet.Load(f.fleet, reg, fleet.WithDefaultRunbook(def))
	if err != nil {
		return fail(stderr, "run", exitUsage, err)
	}
	queues, err := targetQueues(fl.Runbook, f.targetQueues)
	if err != nil {
		return fail(stderr, "run", exitUsage, err)
	}
	acts, probes := interpreter.SpecsOf(reg, fl.Runbook)
	host, _ := os.Hostname()
	tmpl := interpreter.Input{Filename: fl.Runbook.Filename, Runbook: fl.Runbook.Source, Actions: acts, Probes: probes,
		DryRun: f.dryRun, CallTimeout: f.callTimeout, HeartbeatTimeout: f.heartbeat, TargetQueues: queues,
		User: currentUser(), Host: host}
	opts := interpreter.FleetOptions{Limit: f.limit}
	if f.maxParallel >= 0 {
		opts.MaxParallel = &f.maxParallel
	}
	if f.maxFailures >= 0 {
		opts.MaxFailures = &f.maxFailures
	}
	in, err := interpreter.NewFleetInput(fl, tmpl, opts)
	if err != nil {
		return fail(stderr, "run", exitUsage, err)
	}
	id := f.id
	if id == "" {
		key := in // as workflowID: which run, not how it is made
		key.Run.User, key.Run.Host, key.Run.TargetQueues, key.Run.CallTimeout, key.Run.HeartbeatTimeout = "", "", nil, 0, 0
		b, _ := json.Marshal(key)
		sum := sha256.Sum256(b)
		id = "csmplan-fleet-" + strings.Trim(unsafeID.ReplaceAllString(fl.Name, "-"), "-") + "-" + hex.EncodeToString(sum[:])[:12]
	}
	cl, run, code, ok := f.launch(ctx, "fleet workflow", id, fmt.Sprintf(": %d units", len(in.Units)), interpreter.FleetWorkflowName, in,
		func() error { return nil }, stdout, stderr)
	if !ok {
		return code
	}
	defer cl.Close()
	ff := &fleetFollower{cl: cl, id: id, run: run, conn: &f.conn, stdout: stdout, stderr: stderr, yes: f.yes, every: f.every,
		seen: map[string]runner.Outcome{}}
	return ff.follow(ctx)
}

// fleetFollower prints a fleet's units as they start and end.
type fleetFollower struct {
	cl             client.Client
	id             string
	run            client.WorkflowRun
	stdout, stderr io.Writer
	yes            bool
	every          time.Duration
	seen           map[string]runner.Outcome
	conn           *conn
	asked, silent  bool
}

func (f *fleetFollower) follow(ctx context.Context) int {
	done := make(chan error, 1)
	var res interpreter.FleetResult
	go func() { done <- f.run.Get(ctx, &res) }()
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(f.stderr, "\ndetached: fleet workflow %s goes on in Temporal; see it with `%s`\n", f.id, f.conn.command("status", f.id))
			return exitInterrupted
		case err := <-done:
			if err != nil {
				return fail(f.stderr, "run", exitFailed, fmt.Errorf("fleet workflow %s: %w", f.id, err))
			}
			return f.end(res)
		case <-tick.C:
			f.poll(ctx)
		}
	}
}

func (f *fleetFollower) poll(ctx context.Context) {
	pr, err := fleetProgress(ctx, f.cl, f.id)
	if err != nil {
		if !f.silent && ctx.Err() == nil {
			f.silent = true
			fmt.Fprintf(f.stderr, "no answer from the fleet workflow's worker yet: %v\n", console.FirstLine(err.Error()))
		}
		return
	}
	f.silent = false
	for _, u := range pr.Units {
		if f.seen[u.Name] == u.Outcome || u.Outcome == runner.NotRun && u.Reason == "" {
			continue
		}
		f.seen[u.Name] = u.Outcome
		f.unitLine(u)
	}
	if pr.Waiting != "" && !f.asked {
		f.asked = true
		if f.yes {
			if err := f.cl.SignalWorkflow(ctx, f.id, "", interpreter.ApproveSignal, interpreter.Approval{Step: pr.Waiting, Approve: true}); err != nil {
				f.asked = false
				fmt.Fprintf(f.stderr, "%s run: approve: %v\n", prog, err)
				return
			}
			fmt.Fprintf(f.stdout, "approved (--yes): %s\n", pr.Prompt)
			return
		}
		fmt.Fprintf(f.stderr, "the fleet waits for approval: %s\n  answer with `%s` (or --refuse)\n", pr.Prompt, f.conn.command("approve", f.id))
	}
}

func (f *fleetFollower) unitLine(u interpreter.UnitStatus) {
	switch u.Outcome {
	case interpreter.Running:
		fmt.Fprintf(f.stdout, "[%s] wave %d: running (workflow %s)\n", u.Name, u.Wave, u.WorkflowID)
	default:
		line := fmt.Sprintf("[%s] %s", u.Name, u.Outcome)
		if u.Reason != "" {
			line += ": " + console.FirstLine(u.Reason)
		}
		fmt.Fprintf(f.stdout, "%s\n", line)
	}
}

func (f *fleetFollower) end(res interpreter.FleetResult) int {
	rep := res.Report
	if rep == nil {
		return fail(f.stderr, "run", exitFailed, errors.New(res.Error))
	}
	for _, u := range rep.Units {
		if f.seen[u.Name] != u.Outcome {
			f.unitLine(interpreter.UnitStatus{Name: u.Name, Wave: u.Wave, Outcome: u.Outcome, Reason: u.Reason})
		}
	}
	counts := map[runner.Outcome]int{}
	for _, u := range rep.Units {
		counts[u.Outcome]++
	}
	fmt.Fprintf(f.stdout, "fleet %s: %s in %s: %d units%s\n", rep.Fleet, rep.Outcome, rep.Duration.Round(time.Second), len(rep.Units), outcomeCounts(counts))
	if res.Error != "" {
		fmt.Fprintf(f.stderr, "%s\n", res.Error)
	}
	if rep.Outcome == runner.Succeeded {
		return exitOK
	}
	if rep.Outcome == runner.Cancelled {
		return exitInterrupted
	}
	return exitFailed
}

func fleetProgress(ctx context.Context, cl client.Client, id string) (*interpreter.FleetProgress, error) {
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, err := cl.QueryWorkflow(qctx, id, "", interpreter.FleetProgressQuery)
	if err != nil {
		return nil, err
	}
	var pr interpreter.FleetProgress
	if err := v.Get(&pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// fleetStatus prints the units of the fleet workflow id.
func fleetStatus(ctx context.Context, c *conn, cl client.Client, id string, stdout, stderr io.Writer) int {
	pr, err := fleetProgress(ctx, cl, id)
	if err != nil {
		return fail(stderr, "status", exitFailed, fmt.Errorf("no worker answers its query: %w", err))
	}
	counts := map[runner.Outcome]int{}
	for _, u := range pr.Units {
		counts[u.Outcome]++
	}
	fmt.Fprintf(stdout, "%d units%s\n", len(pr.Units), outcomeCounts(counts))
	for _, u := range pr.Units {
		line := fmt.Sprintf("  %-20s wave %d  %s", u.Name, u.Wave, u.Outcome)
		if u.Outcome == runner.NotRun && u.Reason == "" {
			line = fmt.Sprintf("  %-20s wave %d  waiting for its turn", u.Name, u.Wave)
		}
		if u.Reason != "" {
			line += ": " + console.FirstLine(u.Reason)
		}
		if u.WorkflowID != "" {
			line += "  (" + u.WorkflowID + ")"
		}
		fmt.Fprintf(stdout, "%s\n", line)
	}
	if pr.Waiting != "" {
		fmt.Fprintf(stdout, "waiting for approval: %s (answer: %s)\n", pr.Prompt, c.command("approve", id))
	}
	return exitOK
}

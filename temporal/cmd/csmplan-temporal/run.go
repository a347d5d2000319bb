package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"regexp"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/temporal/csmworker"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// runFlags are the flags of run.
type runFlags struct {
	conn
	queue, id, paramsFile, fleet  string
	params, targetQueues, limit   multiFlag
	maxParallel, maxFailures      int
	dryRun, yes, json, detach     bool
	heartbeat, callTimeout, every time.Duration
}

// cmdRun runs `csmplan-temporal run`.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "[RUNBOOK]", `Start the workflow of a runbook (default: the built-in CSM HA upgrade) with its
params, or attach to it if it exists, and stream its progress as csmplan run
does, to its end. The workflow id comes from the runbook and its params (or
--id): the same command attaches again to the same run, after a Ctrl-C here
or the loss of this machine, and shows the outcome of a run that has ended;
give another --id to run again.

Secret params never enter workflow history: they go by reference, and the
workers read them: -p NAME=@FILE (the same path on the workers), the
environment variable CSMPLAN_PARAM_<NAME> (set on the workers too), or the
--params file (the same path on the workers).

Ctrl-C detaches: the run goes on in Temporal.`, stderr)
	var f runFlags
	f.conn.add(fs)
	fs.StringVar(&f.queue, "task-queue", csmworker.DefaultTaskQueue, "the workflow's task `QUEUE`, polled by a worker; also the calls' on targets without a queue")
	fs.StringVar(&f.id, "id", "", "the workflow `ID` (default: csmplan-<runbook>-<hash of the runbook and its params>)")
	fs.StringVar(&f.paramsFile, "params", "", "a YAML `FILE` of params (NAME: VALUE), as for csmplan run")
	fs.Var(&f.params, "p", "a param `NAME=VALUE` (repeatable; wins over --params); a secret as NAME=@FILE")
	fs.Var(&f.targetQueues, "target-queue", "`TARGET=QUEUE`: the calls on TARGET go to QUEUE, polled by a worker near it (repeatable)")
	fs.StringVar(&f.fleet, "fleet", "", "run the fleet of `FILE` (csmplan's fleet file) as a parent workflow with a child per unit")
	fs.Var(&f.limit, "limit", "with --fleet: run only the units of `NAME|LABEL=VALUE` (repeatable)")
	fs.IntVar(&f.maxParallel, "max-parallel", -1, "with --fleet: how many units run at once (default: the fleet file's)")
	fs.IntVar(&f.maxFailures, "max-failures", -1, "with --fleet: how many failed units are tolerated (default: the fleet file's)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "check, change nothing: probes run, mutating actions are only preflighted")
	fs.BoolVar(&f.yes, "yes", false, "do not ask before starting, and approve every manual step")
	fs.BoolVar(&f.json, "json", false, "print the run's events as JSON lines (csmplan schema --events)")
	fs.BoolVar(&f.detach, "detach", false, "start the workflow (or find it) and exit, without following it")
	fs.DurationVar(&f.heartbeat, "heartbeat-timeout", interpreter.DefaultHeartbeatTimeout, "how long a worker making a call may stay silent before the call is lost (an action's lost attempt is inspected, never blindly run again)")
	fs.DurationVar(&f.callTimeout, "call-timeout", interpreter.DefaultCallTimeout, "the bound of a call whose step sets no timeout")
	fs.DurationVar(&f.every, "poll", 500*time.Millisecond, "how often the progress is asked for")
	pos, code, ok := parse(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		return fail(stderr, "run", exitUsage, fmt.Errorf("one runbook at most, got %q", pos))
	}
	if f.fleet != "" {
		return runFleet(ctx, &f, pos, stdout, stderr)
	}
	reg, err := csmworker.Registry()
	if err != nil {
		return fail(stderr, "run", exitFailed, err)
	}
	name, src := csmplan.DefaultRunbookName, csmplan.DefaultRunbook()
	if len(pos) == 1 {
		name = pos[0]
		if src, err = os.ReadFile(name); err != nil {
			if pe, ok := errors.AsType[*os.PathError](err); ok {
				err = fmt.Errorf("%s: %w", pe.Path, pe.Err) // "open" is Go's word, not the user's
			}
			return fail(stderr, "run", exitUsage, err)
		}
	}
	p, err := plan.Parse(name, src, plan.WithRegistry(reg))
	if err != nil {
		return fail(stderr, "run", exitUsage, err)
	}
	ps, err := readParams(p, f.paramsFile, f.params)
	if err != nil {
		return fail(stderr, "run", exitUsage, err)
	}
	in, err := f.input(p, src, reg, ps)
	if err == nil {
		_, err = interpreter.ParseInput(in, reg) // as the workflow will
	}
	if err != nil {
		return fail(stderr, "run", exitUsage, err)
	}
	id := f.id
	if id == "" {
		id = workflowID(p.Name, in)
	}
	stdin := bufio.NewReader(os.Stdin)
	tty := isTerminal(os.Stdout) && isTerminal(os.Stdin)
	cl, run, code, ok := f.launch(ctx, "workflow", id, "", interpreter.WorkflowName, in, func() error {
		if f.yes || f.dryRun || !tty {
			return nil
		}
		return confirm(p, reg, stdin, stdout)
	}, stdout, stderr)
	if !ok {
		return code
	}
	defer cl.Close()
	fl := &follower{cl: cl, id: id, run: run, p: p, conn: &f.conn, stdout: stdout, stderr: stderr, json: f.json, yes: f.yes, tty: tty,
		stdin: stdin, every: f.every, attach: fmt.Sprintf("%s run %s", prog, strings.Join(args, " "))}
	return fl.follow(ctx)
}

// launch dials, starts the workflow id (after ask) or attaches to it, and
// says which on stderr. ok is false when the command ends there, with
// code: an error, or --detach (the id on stdout). The caller closes cl.
func (f *runFlags) launch(ctx context.Context, kind, id, more, workflow string, in any, ask func() error, stdout, stderr io.Writer) (cl client.Client, run client.WorkflowRun, code int, ok bool) {
	cl, err := f.dial(ctx, stderr)
	if err != nil {
		return nil, nil, fail(stderr, "run", exitFailed, err), false
	}
	run, started, err := startOrAttach(ctx, cl, id, f.queue, workflow, in, ask)
	if err != nil {
		cl.Close()
		if ctx.Err() != nil {
			return nil, nil, exitInterrupted, false
		}
		return nil, nil, fail(stderr, "run", exitFailed, err), false
	}
	verb := "attached to"
	if started {
		verb = "started"
	}
	fmt.Fprintf(stderr, "%s %s %s%s (task queue %s, namespace %s at %s)\n", verb, kind, id, more, f.queue, f.namespace, f.address)
	if f.detach {
		cl.Close()
		fmt.Fprintf(stdout, "%s\n", id)
		return nil, nil, exitOK, false
	}
	return cl, run, 0, true
}

// input makes the workflow's Input.
func (f *runFlags) input(p *plan.Plan, src []byte, reg *actions.Registry, ps *params) (interpreter.Input, error) {
	values, err := ps.values()
	if err != nil {
		return interpreter.Input{}, err
	}
	queues, err := targetQueues(p, f.targetQueues)
	if err != nil {
		return interpreter.Input{}, err
	}
	acts, probes := interpreter.SpecsOf(reg, p)
	host, _ := os.Hostname()
	return interpreter.Input{Filename: p.Filename, Runbook: src, Params: values, Actions: acts, Probes: probes,
		DryRun: f.dryRun, CallTimeout: f.callTimeout, HeartbeatTimeout: f.heartbeat, TargetQueues: queues,
		User: currentUser(), Host: host}, nil
}

// targetQueues reads the --target-queue flags: each names a target of p.
func targetQueues(p *plan.Plan, flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range flags {
		t, q, ok := strings.Cut(kv, "=")
		t, q = strings.TrimSpace(t), strings.TrimSpace(q)
		if !ok || t == "" || q == "" {
			return nil, fmt.Errorf("--target-queue %q: want TARGET=QUEUE", kv)
		}
		names := make([]string, 0, len(p.Targets))
		for _, tg := range p.Targets {
			names = append(names, tg.Name)
		}
		if !slices.Contains(names, t) {
			return nil, fmt.Errorf("--target-queue %s: the runbook has no target %q (its targets: %s)", kv, t, strings.Join(names, ", "))
		}
		out[t] = q
	}
	return out, nil
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// workflowID is the default id of a run: the same runbook and params give
// the same id, so that the same command attaches again, and so does one
// with other queues or timeouts: they are how a run is made, not which
// run it is (a second upgrade of the same pair is not started beside it).
func workflowID(name string, in interpreter.Input) string {
	key := struct {
		Runbook []byte
		Params  map[string]interpreter.Value
		DryRun  bool
	}{in.Runbook, in.Params, in.DryRun}
	b, _ := json.Marshal(key) // maps encode sorted
	sum := sha256.Sum256(b)
	name = strings.Trim(unsafeID.ReplaceAllString(name, "-"), "-")
	return "csmplan-" + name + "-" + hex.EncodeToString(sum[:])[:12]
}

// startOrAttach starts the workflow id, asking ask first, or attaches to
// the one of that id, running or ended.
func startOrAttach(ctx context.Context, cl client.Client, id, queue, workflow string, in any, ask func() error) (client.WorkflowRun, bool, error) {
	if _, err := cl.DescribeWorkflowExecution(ctx, id, ""); err == nil {
		return cl.GetWorkflow(ctx, id, ""), false, nil
	} else if _, notFound := errors.AsType[*serviceerror.NotFound](err); !notFound {
		return nil, false, fmt.Errorf("workflow %s: %w", id, err)
	}
	if err := ask(); err != nil {
		return nil, false, err
	}
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE}, workflow, in)
	if _, exists := errors.AsType[*serviceerror.WorkflowExecutionAlreadyStarted](err); exists {
		return cl.GetWorkflow(ctx, id, ""), false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("start workflow %s: %w", id, err)
	}
	return run, true, nil
}

// confirm lists the steps that change something and asks once.
func confirm(p *plan.Plan, reg *actions.Registry, in *bufio.Reader, out io.Writer) error {
	var lines []string
	for i, s := range p.Steps {
		if spec, _ := reg.Spec(actions.KindAction, s.Action); s.Action != "" && spec.Mutates {
			lines = append(lines, fmt.Sprintf("  %2d. %s (%s)", i+1, s.Name(), s.Action))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	fmt.Fprintf(out, "This run changes things in these steps (a step whose `when` does not hold is skipped):\n%s\nStart the workflow? Only 'yes' is accepted: ", strings.Join(lines, "\n"))
	answer, err := in.ReadString('\n')
	if strings.TrimSpace(answer) != "yes" {
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("not started: %w", err)
		}
		return errors.New("not started: the answer was not 'yes'")
	}
	return nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// exitCode is the exit code of a run's outcome.
func exitCode(rep *runner.Report) int {
	switch {
	case rep == nil:
		return exitFailed
	case rep.Outcome == runner.Succeeded || rep.Outcome == runner.WouldRun:
		return exitOK
	case rep.Outcome == runner.Cancelled:
		return exitInterrupted
	}
	return exitFailed
}

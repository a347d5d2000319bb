package interpreter_test

import (
	stdcmp "cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// fleetBook is the runbook of the fleet tests: one mutating step per
// unit, whose host argument names the unit (runner/fleet's tests' own).
const fleetBook = `apiVersion: csmplan/v1
kind: Runbook
name: up
params:
  host: {type: string, required: true, pattern: "^[a-z0-9.-]+$"}
  port: {type: integer, default: 9559}
  password: {type: string, secret: true}
steps:
  - id: install
    action: up.install
    with: {host: "${params.host}"}
`

// slowBook pauses ten minutes (a durable timer) before its install.
const slowBook = `apiVersion: csmplan/v1
kind: Runbook
name: slow
params:
  host: {type: string, required: true}
steps:
  - id: pause
    action: sleep
    with: {duration: 10m}
  - id: install
    action: up.install
    with: {host: "${params.host}"}
`

// secretBook gives the unit's password to its install.
const secretFleetBook = `apiVersion: csmplan/v1
kind: Runbook
name: login
params:
  host: {type: string, required: true}
  password: {type: string, secret: true, required: true}
steps:
  - id: install
    action: up.install
    with: {host: "${params.host}", password: "${params.password}"}
`

var errInstall = errors.New("IWNR1234E install failed")

// fleetFile returns a fleet file of the units (each with host: its name
// and the labels given) and the rollout (lines indented by two spaces).
func fleetFile(units []string, labels map[string]string, rollout string) string {
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Fleet\nname: test-fleet\nrunbook: rb.yaml\nunits:\n")
	for _, u := range units {
		fmt.Fprintf(&b, "  - name: %s\n    params: {host: %s}\n", u, u)
		if l := labels[u]; l != "" {
			fmt.Fprintf(&b, "    labels: {%s}\n", l)
		}
	}
	if rollout != "" {
		b.WriteString("rollout:\n" + rollout)
	}
	return b.String()
}

func unitNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%02d", i+1)
	}
	return out
}

// fleetCase is a fleet, its fakes, and how it is run: the same under
// fleet.Run and under the fleet workflow.
type fleetCase struct {
	name  string
	book  string            // the runbook; "" is fleetBook
	fleet string            // the fleet file
	files map[string]string // more files beside it
	env   map[string]string // the environment of fleet.Load (and the worker's)
	kit   func(k *actionstest.Kit, h *hooks)
	limit []string
	// maxParallel, maxFailures override the rollout's.
	maxParallel, maxFailures *int
	// approve answers the approval after the canaries: a signal one
	// minute into the workflow; nil: no answer (fleet.Run: no approver).
	approve *bool
}

// hooks let a fake wait, in both runs alike, for a unit to have ended.
type hooks struct {
	mu    sync.Mutex
	ended map[string]chan struct{}
}

func newHooks() *hooks { return &hooks{ended: map[string]chan struct{}{}} }

func (h *hooks) ch(unit string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.ended[unit]
	if c == nil {
		c = make(chan struct{})
		h.ended[unit] = c
	}
	return c
}

// end notes that the unit has ended.
func (h *hooks) end(unit string) {
	c := h.ch(unit)
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
}

// after returns a result that waits for the unit to have ended, then
// succeeds.
func (h *hooks) after(unit string) actionstest.Result {
	return actionstest.Answers(func(*actions.Call) (any, error) {
		select {
		case <-h.ch(unit):
			return nil, nil
		case <-time.After(2 * time.Minute): // a failure guard, never reached when the code works
			return nil, fmt.Errorf("unit %s never ended", unit)
		}
	})
}

// load writes the case's files into dir and loads its fleet with the
// kit's registry: both runs of a case load it from the same directory, so
// that the messages that name the runbook's file are the same.
func (c fleetCase) load(t *testing.T, kit *actionstest.Kit, dir string) *fleet.Fleet {
	t.Helper()
	book := c.book
	if book == "" {
		book = fleetBook
	}
	files := map[string]string{"rb.yaml": book, "fleet.yaml": c.fleet}
	for k, v := range c.files {
		files[k] = v
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
	f, err := fleet.Load(filepath.Join(dir, "fleet.yaml"), kit.Registry(), fleet.WithEnv(env))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return f
}

// fleetRun is the outcome of one run of a case.
type fleetRun struct {
	rep    *fleet.Report
	err    string
	hosts  []string // the hosts the install was called for, sorted
	prompt string   // the approval's question
	calls  []actionstest.Call
}

func hostsOf(calls []actionstest.Call) []string {
	var out []string
	for _, c := range calls {
		if h, ok := c.Args["host"].(string); ok {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// direct runs the case with fleet.Run.
func (c fleetCase) direct(t *testing.T, dir string) fleetRun {
	t.Helper()
	kit, h := actionstest.NewKit(), newHooks()
	c.kit(kit, h)
	f := c.load(t, kit, dir)
	var run fleetRun
	opts := fleet.Options{Clock: kit.Clock, Limit: c.limit, MaxParallel: c.maxParallel, MaxFailures: c.maxFailures,
		Observers: []fleet.Observer{fleet.ObserverFunc(func(e fleet.Event) {
			if e.Kind == fleet.UnitEnd {
				h.end(e.Unit)
			}
		})}}
	if c.approve != nil {
		ok := *c.approve
		opts.Approver = actions.ApproverFunc(func(_ context.Context, req actions.ApprovalRequest) (bool, error) {
			run.prompt = req.Prompt
			return ok, nil
		})
	}
	rep, err := fleet.Run(context.Background(), f, opts)
	run.rep = rep
	if err != nil {
		run.err = err.Error()
	}
	run.calls = kit.Calls()
	run.hosts = hostsOf(run.calls)
	return run
}

// fleetEnv is a test environment with the fleet and interpreter
// workflows and the activities on the kit's registry.
type fleetEnv struct {
	*testsuite.TestWorkflowEnvironment
	rec *recorder
}

func newFleetEnv(kit *actionstest.Kit, h *hooks, resolve func(string) (string, error)) fleetEnv {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quiet)
	env := suite.NewTestWorkflowEnvironment()
	rec := &recorder{DataConverter: converter.GetDefaultDataConverter()}
	env.SetDataConverter(rec)
	reg := kit.Registry()
	ip := &interpreter.Interpreter{Local: reg}
	env.RegisterWorkflowWithOptions(ip.Fleet, workflow.RegisterOptions{Name: interpreter.FleetWorkflowName})
	env.RegisterWorkflowWithOptions(ip.Run, workflow.RegisterOptions{Name: interpreter.WorkflowName})
	acts := &interpreter.Activities{Registry: reg, Clock: kit.Clock, Resolve: resolve}
	acts.Register(env)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "fleet-1", TaskQueue: "fleets"})
	if h != nil {
		env.SetOnChildWorkflowCompletedListener(func(info *workflow.Info, _ converter.EncodedValue, _ error) {
			_, unit, _ := strings.Cut(info.WorkflowExecution.ID, "/")
			h.end(unit)
		})
	}
	return fleetEnv{TestWorkflowEnvironment: env, rec: rec}
}

// input returns the fleet workflow's input of a loaded fleet.
func fleetInput(t *testing.T, f *fleet.Fleet, kit *actionstest.Kit, book string, opts interpreter.FleetOptions) interpreter.FleetInput {
	t.Helper()
	acts, probes := interpreter.Specs(kit.Registry())
	in, err := interpreter.NewFleetInput(f, interpreter.Input{Runbook: []byte(book), Actions: acts, Probes: probes}, opts)
	if err != nil {
		t.Fatalf("NewFleetInput: %v", err)
	}
	return in
}

// result returns the fleet workflow's result.
func (env fleetEnv) result(t *testing.T) interpreter.FleetResult {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("the fleet workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var res interpreter.FleetResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func (env fleetEnv) progress(t *testing.T) interpreter.FleetProgress {
	t.Helper()
	v, err := env.QueryWorkflow(interpreter.FleetProgressQuery)
	if err != nil {
		t.Fatalf("progress query: %v", err)
	}
	var p interpreter.FleetProgress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// viaFleetWorkflow runs the case with the fleet workflow under the test
// suite.
func (c fleetCase) viaWorkflow(t *testing.T, dir string) fleetRun {
	t.Helper()
	kit, h := actionstest.NewKit(), newHooks()
	c.kit(kit, h)
	f := c.load(t, kit, dir)
	book := stdcmp.Or(c.book, fleetBook)
	in := fleetInput(t, f, kit, book, interpreter.FleetOptions{Limit: c.limit, MaxParallel: c.maxParallel, MaxFailures: c.maxFailures})
	env := newFleetEnv(kit, h, nil)
	var run fleetRun
	if c.approve != nil {
		env.RegisterDelayedCallback(func() {
			p := env.progress(t)
			if p.Waiting != interpreter.FleetApprovalStep {
				t.Errorf("progress before the approval: Waiting %q, want %q", p.Waiting, interpreter.FleetApprovalStep)
			}
			run.prompt = p.Prompt
			env.SignalWorkflow(interpreter.ApproveSignal, interpreter.Approval{Step: interpreter.FleetApprovalStep, Approve: *c.approve})
		}, time.Minute)
	}
	env.ExecuteWorkflow(interpreter.FleetWorkflowName, in)
	res := env.result(t)
	run.rep, run.err = res.Report, res.Error
	run.calls = kit.Calls()
	run.hosts = hostsOf(run.calls)
	if p := env.progress(t); !p.Done || p.Waiting != "" {
		t.Errorf("progress after the end: done %v, waiting %q", p.Done, p.Waiting)
	}
	return run
}

// clockTimes are what cannot be the same: the durations, measured on
// the kit's virtual clock by fleet.Run and on the workflows' by Temporal.
var clockTimes = cmp.Options{
	cmpopts.IgnoreFields(fleet.Report{}, "Duration"),
	cmpopts.IgnoreFields(fleet.UnitReport{}, "Report"), // the units' workflows have them
	cmpopts.IgnoreFields(runner.Report{}, "Duration"),
	cmpopts.IgnoreFields(runner.StepReport{}, "Duration"),
	cmpopts.IgnoreFields(runner.Attempt{}, "Duration"),
}

func ptr[T any](v T) *T { return &v }

var fleetCases = []struct {
	fleetCase
	outcomes string // name=outcome of every row, as fleet.Run gives them
	err      error
}{
	{fleetCase: fleetCase{name: "all succeed",
		fleet: fleetFile(unitNames(3), map[string]string{"u01": "site: a"}, "  waves: {size: 2}\n  max_parallel: 2\n"),
		kit: func(k *actionstest.Kit, _ *hooks) {
			// An output that JSON alone would turn into a float64.
			k.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "up.install", Mutates: true, Outputs: []actions.Output{{Name: "level"}}},
				actionstest.Succeeds(actions.Outputs{"level": int64(7)})))
		}},
		outcomes: "u01=succeeded u02=succeeded u03=succeeded"},
	{fleetCase: fleetCase{name: "a failing canary stops the rollout",
		fleet: fleetFile(unitNames(5), nil, "  canary: {units: [u02, u03]}\n  max_failures: 3\n  max_parallel: 2\n"),
		kit: func(k *actionstest.Kit, _ *hooks) {
			k.Action("up.install", actionstest.Succeeds(nil)).On(actionstest.Args{"host": "u03"}, actionstest.Fails(errInstall))
		}},
		outcomes: "u02=succeeded u03=failed u01=not run u04=not run u05=not run", err: fleet.ErrCanary},
	{fleetCase: fleetCase{name: "approval accepted",
		fleet: fleetFile(unitNames(3), nil, "  canary: {units: [u01], approve: true}\n"),
		kit:   func(k *actionstest.Kit, _ *hooks) { k.Action("up.install") }, approve: ptr(true)},
		outcomes: "u01=succeeded u02=succeeded u03=succeeded"},
	{fleetCase: fleetCase{name: "approval refused",
		fleet: fleetFile(unitNames(3), nil, "  canary: {units: [u01], approve: true}\n"),
		kit:   func(k *actionstest.Kit, _ *hooks) { k.Action("up.install") }, approve: ptr(false)},
		outcomes: "u01=succeeded u02=not run u03=not run", err: fleet.ErrNotApproved},
	{fleetCase: fleetCase{name: "max_parallel 2, max_failures 0: the running one finishes, no new one starts",
		fleet: fleetFile(unitNames(5), nil, "  max_parallel: 2\n  max_failures: 0\n"),
		kit: func(k *actionstest.Kit, h *hooks) {
			// u02 is still running when u01 fails: it ends after u01.
			k.Action("up.install", actionstest.Succeeds(nil)).
				On(actionstest.Args{"host": "u01"}, actionstest.Fails(errInstall)).
				On(actionstest.Args{"host": "u02"}, h.after("u01"))
		}},
		outcomes: "u01=failed u02=succeeded u03=not run u04=not run u05=not run", err: fleet.ErrFailureBudget},
	{fleetCase: fleetCase{name: "waves by label, a failure within the budget",
		fleet: fleetFile(unitNames(5), map[string]string{"u01": "site: east", "u02": "site: west", "u03": "site: east", "u04": "site: west", "u05": "site: north"},
			"  waves: {by: site}\n  max_parallel: 2\n  max_failures: 1\n"),
		kit: func(k *actionstest.Kit, _ *hooks) {
			k.Action("up.install", actionstest.Succeeds(nil)).On(actionstest.Args{"host": "u03"}, actionstest.Fails(errInstall))
		}},
		outcomes: "u01=succeeded u03=failed u02=succeeded u04=succeeded u05=succeeded", err: fleet.ErrUnitFailed},
	{fleetCase: fleetCase{name: "--limit, and the overrides of max_parallel and max_failures",
		fleet: fleetFile(unitNames(5), map[string]string{"u01": "site: east", "u02": "site: west", "u03": "site: east"}, "  max_failures: 3\n"),
		kit: func(k *actionstest.Kit, _ *hooks) {
			k.Action("up.install", actionstest.Succeeds(nil)).On(actionstest.Args{"host": "u03"}, actionstest.Fails(errInstall))
		},
		limit: []string{"site=east", "u04"}, maxParallel: ptr(1), maxFailures: ptr(0)},
		outcomes: "u01=succeeded u02=skipped u03=failed u04=not run u05=skipped", err: fleet.ErrFailureBudget},
}

// TestFleetGivesTheReportOfFleetRun: the same fleet files and fakes give,
// under the fleet workflow, the report and error of fleet.Run, the units'
// run reports included (durations aside), and call the same units.
func TestFleetGivesTheReportOfFleetRun(t *testing.T) {
	t.Parallel()
	for _, tc := range fleetCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			want := tc.direct(t, dir)
			if got := rowOutcomes(want.rep); got != tc.outcomes {
				t.Fatalf("fleet.Run: outcomes %s, want %s (%s)", got, tc.outcomes, want.err)
			}
			if (tc.err == nil) != (want.err == "") || tc.err != nil && !strings.Contains(want.err, tc.err.Error()) {
				t.Fatalf("fleet.Run: error %q, want %v", want.err, tc.err)
			}
			got := tc.viaWorkflow(t, dir)
			if d := cmp.Diff(want.rep, got.rep, clockTimes); d != "" {
				t.Errorf("report (-fleet.Run +workflow):\n%s", d)
			}
			if got.err != want.err {
				t.Errorf("error = %q, want %q", got.err, want.err)
			}
			if d := cmp.Diff(want.hosts, got.hosts); d != "" {
				t.Errorf("units called (-fleet.Run +workflow):\n%s", d)
			}
			if got.prompt != want.prompt {
				t.Errorf("approval prompt = %q, want %q", got.prompt, want.prompt)
			}
		})
	}
}

func rowOutcomes(rep *fleet.Report) string {
	var parts []string
	for _, u := range rep.Units {
		parts = append(parts, u.Name+"="+string(u.Outcome))
	}
	return strings.Join(parts, " ")
}

// TestFleetHistoryHoldsNoSecret: secrets that fleet.Load read from the
// environment and from @FILEs travel as references, which the worker
// resolves: no payload that Temporal records (the fleet's input, the
// units' inputs and results, activity inputs and results, queries, the
// fleet's result) holds a secret, and every unit's install got its own.
func TestFleetHistoryHoldsNoSecret(t *testing.T) {
	t.Parallel()
	const envSecret, fileSecret = "env-S3cret-9", "file-S3cret-7"
	c := fleetCase{book: secretFleetBook,
		fleet: fleetFile([]string{"a", "b"}, nil, "") + "  - name: c\n    params: {host: c, password: \"@c.pw\"}\nrollout: {max_parallel: 2}\n",
		files: map[string]string{"c.pw": fileSecret + "\r\n"},
		env:   map[string]string{"CSMPLAN_PARAM_PASSWORD": envSecret},
		kit: func(k *actionstest.Kit, _ *hooks) {
			k.Action("up.install", actionstest.Answers(func(call *actions.Call) (any, error) {
				want := envSecret
				if call.Args["host"] == "c" {
					want = fileSecret
				}
				if call.Args["password"] != want {
					return nil, fmt.Errorf("host %v: wrong password", call.Args["host"])
				}
				call.Logf("logged in with %s", call.Args["password"]) // a call that echoes its secret
				return nil, nil
			}))
		}}
	dir := t.TempDir()
	kit := actionstest.NewKit()
	c.kit(kit, nil)
	f := c.load(t, kit, dir)
	in := fleetInput(t, f, kit, c.book, interpreter.FleetOptions{})
	// The worker's environment: only the variable the reference names.
	resolve := func(ref string) (string, error) {
		if ref == "env:CSMPLAN_PARAM_PASSWORD" {
			return envSecret, nil
		}
		if strings.HasPrefix(ref, "env:") {
			return "", fmt.Errorf("no %s", ref)
		}
		return interpreter.ResolveSecret(ref)
	}
	env := newFleetEnv(kit, nil, resolve)
	env.ExecuteWorkflow(interpreter.FleetWorkflowName, in)
	res := env.result(t)
	if res.Report.Outcome != runner.Succeeded {
		t.Fatalf("outcome %s: %s", res.Report.Outcome, res.Error)
	}
	if got := hostsOf(kit.Calls()); !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("installs of %v", got)
	}
	env.progress(t) // a query's payload, recorded too
	all := env.rec.all()
	if len(all) < 10 {
		t.Fatalf("only %d payloads recorded", len(all))
	}
	for _, p := range all {
		if strings.Contains(p, envSecret) || strings.Contains(p, fileSecret) {
			t.Errorf("a payload holds a secret: %s", p)
		}
	}
	joined := strings.Join(all, "\n")
	for _, ref := range []string{"env:CSMPLAN_PARAM_PASSWORD", "file:" + filepath.Join(dir, "c.pw")} {
		if !strings.Contains(joined, ref) {
			t.Errorf("no payload holds the reference %s: did the secret travel at all?", ref)
		}
	}
}

// TestFleetProgress queries the fleet mid-run: the canary running (a
// ten-minute pause, a durable timer), then the fleet waiting for the
// approval, then the other units running at once, then the end.
func TestFleetProgress(t *testing.T) {
	t.Parallel()
	c := fleetCase{book: slowBook, fleet: fleetFile(unitNames(3), nil, "  canary: {units: [u02], approve: true}\n  max_parallel: 2\n"),
		kit: func(k *actionstest.Kit, _ *hooks) { k.Action("up.install") }}
	kit := actionstest.NewKit()
	c.kit(kit, nil)
	f := c.load(t, kit, t.TempDir())
	in := fleetInput(t, f, kit, c.book, interpreter.FleetOptions{})
	env := newFleetEnv(kit, nil, nil)
	status := func(name string, wave int, outcome runner.Outcome) interpreter.UnitStatus {
		st := interpreter.UnitStatus{Name: name, Wave: wave, Outcome: outcome}
		if outcome != runner.NotRun {
			st.WorkflowID = "fleet-1/" + name
		}
		return st
	}
	prompt := "The canaries of fleet test-fleet succeeded (u02). Go on with the other 2 units?"
	checks := []struct {
		at   time.Duration
		want interpreter.FleetProgress
	}{
		{time.Minute, interpreter.FleetProgress{Units: []interpreter.UnitStatus{
			status("u02", 1, interpreter.Running), status("u01", 2, runner.NotRun), status("u03", 2, runner.NotRun)}}},
		{15 * time.Minute, interpreter.FleetProgress{Waiting: interpreter.FleetApprovalStep, Prompt: prompt, Units: []interpreter.UnitStatus{
			status("u02", 1, runner.Succeeded), status("u01", 2, runner.NotRun), status("u03", 2, runner.NotRun)}}},
		{20 * time.Minute, interpreter.FleetProgress{Units: []interpreter.UnitStatus{
			status("u02", 1, runner.Succeeded), status("u01", 2, interpreter.Running), status("u03", 2, interpreter.Running)}}},
	}
	for i, ck := range checks {
		env.RegisterDelayedCallback(func() {
			if d := cmp.Diff(ck.want, env.progress(t)); d != "" {
				t.Errorf("progress at %s (-want +got):\n%s", ck.at, d)
			}
			if i == 1 {
				// An approval of another step is not this one's.
				env.SignalWorkflow(interpreter.ApproveSignal, interpreter.Approval{Step: "gate", Approve: false})
				env.SignalWorkflow(interpreter.ApproveSignal, interpreter.Approval{Approve: true})
			}
		}, ck.at)
	}
	var started []string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		started = append(started, info.WorkflowExecution.ID+"@"+info.TaskQueueName)
	})
	env.ExecuteWorkflow(interpreter.FleetWorkflowName, in)
	res := env.result(t)
	if res.Report.Outcome != runner.Succeeded || rowOutcomes(res.Report) != "u02=succeeded u01=succeeded u03=succeeded" {
		t.Fatalf("outcome %s (%s): %s", res.Report.Outcome, rowOutcomes(res.Report), res.Error)
	}
	want := interpreter.FleetProgress{Done: true, Units: []interpreter.UnitStatus{
		status("u02", 1, runner.Succeeded), status("u01", 2, runner.Succeeded), status("u03", 2, runner.Succeeded)}}
	if d := cmp.Diff(want, env.progress(t)); d != "" {
		t.Errorf("progress at the end (-want +got):\n%s", d)
	}
	slices.Sort(started)
	if d := cmp.Diff([]string{"fleet-1/u01@fleets", "fleet-1/u02@fleets", "fleet-1/u03@fleets"}, started); d != "" {
		t.Errorf("units' workflows (ID@task queue) (-want +got):\n%s", d)
	}
}

// TestFleetCancel: cancelling the fleet's workflow starts no new unit,
// asks the running unit's workflow to cancel and waits for it to end.
func TestFleetCancel(t *testing.T) {
	t.Parallel()
	c := fleetCase{book: slowBook, fleet: fleetFile(unitNames(3), nil, ""),
		kit: func(k *actionstest.Kit, _ *hooks) { k.Action("up.install") }}
	kit := actionstest.NewKit()
	c.kit(kit, nil)
	f := c.load(t, kit, t.TempDir())
	in := fleetInput(t, f, kit, c.book, interpreter.FleetOptions{})
	env := newFleetEnv(kit, nil, nil)
	var cancelled []string
	env.SetOnChildWorkflowCanceledListener(func(info *workflow.Info) {
		cancelled = append(cancelled, info.WorkflowExecution.ID)
	})
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Minute)
	env.ExecuteWorkflow(interpreter.FleetWorkflowName, in)
	res := env.result(t)
	if d := cmp.Diff([]string{"fleet-1/u01"}, cancelled); d != "" {
		t.Errorf("cancelled units' workflows (-want +got):\n%s", d)
	}
	if n := len(kit.Calls()); n != 0 {
		t.Errorf("%d installs ran", n)
	}
	u01 := res.Report.Unit("u01")
	for _, name := range []string{"u02", "u03"} {
		if u := res.Report.Unit(name); u.Outcome != runner.NotRun || u.Reason != "the fleet was stopped" {
			t.Errorf("%s: %s, %q", name, u.Outcome, u.Reason)
		}
	}
	// The unit's run is cancelled, not failed, and so is the fleet, as
	// with fleet.Run.
	if u01.Outcome != runner.Cancelled || u01.Report != nil || res.Report.Outcome != runner.Cancelled {
		t.Errorf("u01 %s (%s); fleet %s: %s", u01.Outcome, u01.Reason, res.Report.Outcome, res.Error)
	}
}

// TestNewFleetInput: the rollout resolved (waves, the limit, the
// overrides), each unit's params encoded, its secret as the reference of
// where fleet.Load read it, or of where SecretRef says.
func TestNewFleetInput(t *testing.T) {
	t.Parallel()
	c := fleetCase{fleet: fleetFile([]string{"a", "b"}, map[string]string{"a": "site: east", "b": "site: west"}, "") +
		"  - name: c\n    labels: {site: east}\n    params: {host: c, port: 9000, password: \"@c.pw\"}\n" +
		"rollout:\n  canary: {units: [b], approve: true}\n  waves: {by: site}\n  max_parallel: 3\n  max_failures: 2\n",
		files: map[string]string{"c.pw": "c-secret"},
		env:   map[string]string{"CSMPLAN_PARAM_PASSWORD": "env-secret"}}
	kit := actionstest.NewKit()
	kit.Action("up.install")
	dir := t.TempDir()
	f := c.load(t, kit, dir)
	acts, probes := interpreter.Specs(kit.Registry())
	run := interpreter.Input{Runbook: []byte(fleetBook), Actions: acts, Probes: probes, DryRun: true}
	in, err := interpreter.NewFleetInput(f, run, interpreter.FleetOptions{Limit: []string{"site=east"}, MaxFailures: ptr(0)})
	if err != nil {
		t.Fatal(err)
	}
	run.Filename = filepath.Join(dir, "rb.yaml")
	if run, err = run.Pack(); err != nil {
		t.Fatal(err)
	}
	host := func(h string) interpreter.Value { return interpreter.Value{K: "s", S: h} }
	envRef := interpreter.SecretRef("env:CSMPLAN_PARAM_PASSWORD")
	want := interpreter.FleetInput{Name: "test-fleet", Filename: filepath.Join(dir, "fleet.yaml"), Run: run,
		Units: []interpreter.FleetUnit{
			{Name: "a", Labels: map[string]string{"site": "east"}, Params: map[string]interpreter.Value{"host": host("a"), "password": envRef}, Wave: 2, Selected: true},
			{Name: "b", Labels: map[string]string{"site": "west"}, Params: map[string]interpreter.Value{"host": host("b"), "password": envRef}, Wave: 1},
			{Name: "c", Labels: map[string]string{"site": "east"}, Wave: 2, Selected: true, Params: map[string]interpreter.Value{
				"host": host("c"), "port": {K: "i", I: 9000}, "password": interpreter.SecretRef("file:" + filepath.Join(dir, "c.pw"))}},
		},
		Canary: []string{"b"}, Approve: true, Waves: [][]string{{"b"}, {"a", "c"}}, MaxParallel: 3, MaxFailures: 0}
	if d := cmp.Diff(want, in); d != "" {
		t.Errorf("input (-want +got):\n%s", d)
	}
	// SecretRef names the file on the workers' machines.
	in, err = interpreter.NewFleetInput(f, interpreter.Input{}, interpreter.FleetOptions{MaxParallel: ptr(0),
		SecretRef: func(u *fleet.Unit, param string) (string, error) {
			return strings.Replace(u.SecretFrom[param], dir, "/etc/csm", 1), nil
		}})
	if err != nil || in.MaxParallel != 1 || in.MaxFailures != 2 {
		t.Fatalf("%v; max_parallel %d, max_failures %d", err, in.MaxParallel, in.MaxFailures)
	}
	if got := in.Units[2].Params["password"]; !cmp.Equal(got, interpreter.SecretRef("file:/etc/csm/c.pw")) {
		t.Errorf("password of c: %+v", got)
	}
}

func TestNewFleetInputErrors(t *testing.T) {
	t.Parallel()
	c := fleetCase{fleet: fleetFile([]string{"a"}, nil, "") + "  - name: lit\n    params: {host: lit, password: \"@@at-sign-secret\"}\n"}
	kit := actionstest.NewKit()
	kit.Action("up.install")
	f := c.load(t, kit, t.TempDir())
	_, err := interpreter.NewFleetInput(f, interpreter.Input{}, interpreter.FleetOptions{})
	if !errors.Is(err, fleet.ErrSecret) || !strings.Contains(err.Error(), "unit lit: param password is secret") || strings.Contains(err.Error(), "at-sign-secret") {
		t.Errorf("a secret from nowhere: %v", err)
	}
	bad := func(*fleet.Unit, string) (string, error) { return "vault:x", nil }
	if _, err := interpreter.NewFleetInput(f, interpreter.Input{}, interpreter.FleetOptions{SecretRef: bad}); !errors.Is(err, fleet.ErrSecret) || !strings.Contains(err.Error(), `"vault:x": want env:NAME or file:PATH`) {
		t.Errorf("a bad reference: %v", err)
	}
	failing := func(*fleet.Unit, string) (string, error) { return "", errors.New("no such unit in the vault") }
	if _, err := interpreter.NewFleetInput(f, interpreter.Input{}, interpreter.FleetOptions{SecretRef: failing}); !errors.Is(err, fleet.ErrSecret) || !strings.Contains(err.Error(), "no such unit in the vault") {
		t.Errorf("SecretRef fails: %v", err)
	}
	if _, err := interpreter.NewFleetInput(f, interpreter.Input{}, interpreter.FleetOptions{Limit: []string{"aa"}}); !errors.Is(err, fleet.ErrLimit) || !strings.Contains(err.Error(), `did you mean "a"?`) {
		t.Errorf("a limit of no unit: %v", err)
	}
	if _, err := interpreter.NewFleetInput(f, interpreter.Input{Params: map[string]interpreter.Value{}}, interpreter.FleetOptions{}); err == nil {
		t.Error("a template with params was taken")
	}
	if _, err := interpreter.NewFleetInput(nil, interpreter.Input{}, interpreter.FleetOptions{}); err == nil {
		t.Error("no fleet was taken")
	}
	f.Units[0].Params["port"] = struct{}{}
	if _, err := interpreter.NewFleetInput(f, interpreter.Input{}, interpreter.FleetOptions{SecretRef: func(*fleet.Unit, string) (string, error) { return "env:X", nil }}); err == nil || !strings.Contains(err.Error(), "unit a: param port: ") {
		t.Errorf("a param that is no value: %v", err)
	}
}

// TestFleetRefusesBadInput: waves that name no unit, or a unit twice,
// fail the fleet before any unit starts.
func TestFleetRefusesBadInput(t *testing.T) {
	t.Parallel()
	for _, waves := range [][][]string{{{"a", "ghost"}}, {{"a"}, {"a"}}} {
		kit := actionstest.NewKit()
		kit.Action("up.install")
		env := newFleetEnv(kit, nil, nil)
		env.ExecuteWorkflow(interpreter.FleetWorkflowName, interpreter.FleetInput{Name: "f", Units: []interpreter.FleetUnit{{Name: "a", Selected: true}}, Waves: waves})
		res := env.result(t)
		if res.Report.Outcome != runner.Failed || res.Error == "" || len(kit.Calls()) != 0 {
			t.Errorf("waves %v: outcome %s, error %q, %d calls", waves, res.Report.Outcome, res.Error, len(kit.Calls()))
		}
	}
}

// TestFleetUnitWorkflowFails: a unit whose workflow fails (Temporal's
// failure, not its run's) is a failed unit that names it; the canary's
// failure stops the rollout.
func TestFleetUnitWorkflowFails(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install")
	env := newFleetEnv(kit, nil, nil)
	env.OnWorkflow(interpreter.WorkflowName, mock.Anything, mock.Anything).Return(interpreter.Result{}, errors.New("the worker lost its runbook"))
	units := []interpreter.FleetUnit{{Name: "a", Wave: 1, Selected: true}, {Name: "b", Wave: 2, Selected: true}}
	env.ExecuteWorkflow(interpreter.FleetWorkflowName, interpreter.FleetInput{Name: "f", Units: units, Canary: []string{"a"}, Waves: [][]string{{"a"}, {"b"}}})
	res := env.result(t)
	a, b := res.Report.Unit("a"), res.Report.Unit("b")
	if a.Outcome != runner.Failed || !strings.HasPrefix(a.Reason, "unit a: ") || !strings.Contains(a.Reason, "the worker lost its runbook") || a.Report != nil {
		t.Errorf("a: %+v", a)
	}
	if b.Outcome != runner.NotRun || b.Reason != "canary a failed" || !strings.Contains(res.Error, fleet.ErrCanary.Error()) {
		t.Errorf("b: %+v; error %q", b, res.Error)
	}
}

// TestFleetCancelWhileWaitingForApproval: a cancel ends the wait for the
// approval as fleet.Run's context does its Approver's: not approved.
func TestFleetCancelWhileWaitingForApproval(t *testing.T) {
	t.Parallel()
	c := fleetCase{fleet: fleetFile(unitNames(2), nil, "  canary: {units: [u01], approve: true}\n"),
		kit: func(k *actionstest.Kit, _ *hooks) { k.Action("up.install") }}
	kit := actionstest.NewKit()
	c.kit(kit, nil)
	f := c.load(t, kit, t.TempDir())
	env := newFleetEnv(kit, nil, nil)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Minute)
	env.ExecuteWorkflow(interpreter.FleetWorkflowName, fleetInput(t, f, kit, fleetBook, interpreter.FleetOptions{}))
	res := env.result(t)
	if got := rowOutcomes(res.Report); got != "u01=succeeded u02=not run" {
		t.Errorf("outcomes %s", got)
	}
	if r := res.Report.Unit("u02").Reason; !strings.HasPrefix(r, "rollout not approved after the canaries: ") || !strings.Contains(res.Error, fleet.ErrNotApproved.Error()) {
		t.Errorf("reason %q, error %q", r, res.Error)
	}
}

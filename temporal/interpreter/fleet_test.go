package interpreter_test

import (
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
	book := cmpOr(c.book, fleetBook)
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

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// clockTimes are what cannot be the same: the durations, measured on
// the kit's virtual clock by fleet.Run and on the workflows' by Temporal.
var clockTimes = cmp.Options{
	cmpopts.IgnoreFields(fleet.Report{}, "Duration"),
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
		limit: []string{"site=east", "u04", "u05"}, maxParallel: ptr(1), maxFailures: ptr(0)},
		outcomes: "u01=succeeded u02=skipped u03=failed u04=not run u05=not run", err: fleet.ErrFailureBudget},
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

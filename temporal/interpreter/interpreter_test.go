package interpreter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

const header = "apiVersion: csmplan/v1\nkind: Runbook\nname: t\n"

var errBoom = errors.New("boom")

// scenario is a runbook and how to script its fakes; both runs get a kit
// of their own, scripted alike.
type scenario struct {
	name    string
	body    string
	kit     func(*actionstest.Kit)
	params  map[string]any
	dryRun  bool
	approve *interpreter.Approval   // sent one minute into the workflow
	reg     func(*actions.Registry) // registers more, after the kit
	outcome runner.Outcome
}

var scenarios = []scenario{
	{
		name: "success",
		body: `
steps:
  - id: takeover
    pre:
      - probe: ha
        expect: {path: role, equals: Standby}
    action: takeover
    post:
      - value: ${steps.takeover.outputs.msg}
        expect: {matches: "^IWNR"}
  - id: count
    action: count
    post:
      - value: ${steps.count.outputs.n}
        expect: {equals: 3}
`,
		kit: func(k *actionstest.Kit) {
			k.Probe("ha", actionstest.Returns(map[string]any{"role": "Standby", "level": int64(7), "load": 0.5}))
			k.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "takeover", Mutates: true, Outputs: []actions.Output{{Name: "msg"}}},
				actionstest.Succeeds(actions.Outputs{"msg": "IWNR3063I"})))
			k.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "count", Outputs: []actions.Output{{Name: "n"}}},
				actionstest.Succeeds(actions.Outputs{"n": int64(3)})))
		},
		outcome: runner.Succeeded,
	},
	{
		name: "failing precondition",
		body: `
steps:
  - id: takeover
    pre:
      - probe: ha
        expect: {path: role, equals: Standby}
    action: takeover
  - id: after
    action: takeover
`,
		kit: func(k *actionstest.Kit) {
			k.Probe("ha", actionstest.Returns(map[string]any{"role": "Active"}))
			k.Action("takeover")
		},
		outcome: runner.Failed,
	},
	{
		name: "wait times out",
		body: `
steps:
  - id: wait
    pre:
      - probe: ha
        expect: {path: role, equals: Active}
        wait: {timeout: 1m, interval: 10s}
`,
		kit: func(k *actionstest.Kit) {
			k.Probe("ha", actionstest.Returns(map[string]any{"role": "Standby"}))
		},
		outcome: runner.Failed,
	},
	{
		name: "wait succeeds after polls",
		body: `
steps:
  - id: wait
    pre:
      - probe: ha
        expect: {path: role, equals: Active}
        wait: {timeout: 5m, interval: 10s}
`,
		kit: func(k *actionstest.Kit) {
			k.Probe("ha", actionstest.Returns(map[string]any{"role": "Standby"}).Times(3), actionstest.Fails(errBoom), actionstest.Returns(map[string]any{"role": "Active"}))
		},
		outcome: runner.Succeeded,
	},
	{
		name: "retries with backoff",
		body: `
steps:
  - id: flaky
    action: flaky
    retry: {attempts: 4, interval: 5s, backoff: 2, max_interval: 15s}
`,
		kit: func(k *actionstest.Kit) {
			k.Action("flaky", actionstest.Fails(errBoom).Times(3), actionstest.Succeeds(nil))
		},
		outcome: runner.Succeeded,
	},
	{
		name: "retries exhausted and a permanent error",
		body: `
steps:
  - id: flaky
    action: flaky
    retry: {attempts: 2, interval: 5s}
    on_failure: continue
  - id: fatal
    action: fatal
    retry: {attempts: 5, interval: 5s}
`,
		kit: func(k *actionstest.Kit) {
			k.Action("flaky", actionstest.Fails(errBoom).Times(3))
			k.Action("fatal", actionstest.Fails(actions.Permanent(errors.New("refused"))))
		},
		outcome: runner.Failed,
	},
	{
		name: "on_failure continue",
		body: `
steps:
  - id: one
    action: bad
    on_failure: continue
  - id: two
    action: do
`,
		kit: func(k *actionstest.Kit) {
			k.Action("bad", actionstest.Fails(errBoom))
			k.Action("do")
		},
		outcome: runner.Failed,
	},
	{
		name: "rollback",
		body: `
defaults: {on_failure: rollback}
steps:
  - id: one
    pre: [{value: true}]
    action: do
    with: {n: 1}
    undo: {action: undo, with: {n: 1}}
  - id: two
    action: do
    with: {n: 2}
    undo: {action: undo, with: {n: 2}}
  - id: three
    action: bad
  - id: four
    action: do
`,
		kit: func(k *actionstest.Kit) {
			k.Action("do")
			k.Action("undo")
			k.Action("bad", actionstest.Fails(errBoom))
		},
		outcome: runner.Failed,
	},
	{
		name: "manual approval",
		body: `
steps:
  - id: gate
    action: manual
    with: {prompt: "Is the window open?"}
  - id: go
    action: do
`,
		kit:     func(k *actionstest.Kit) { k.Action("do") },
		approve: &interpreter.Approval{Step: "gate", Approve: true},
		outcome: runner.Succeeded,
	},
	{
		name: "manual refusal",
		body: `
steps:
  - id: gate
    action: manual
    with: {prompt: "Is the window open?"}
  - id: go
    action: do
`,
		kit:     func(k *actionstest.Kit) { k.Action("do") },
		approve: &interpreter.Approval{Step: "gate", Approve: false},
		outcome: runner.Failed,
	},
	{
		name: "dry run",
		body: `
steps:
  - id: takeover
    pre:
      - probe: ha
        expect: {path: role, equals: Standby}
    action: takeover
    post:
      - probe: ha
        expect: {path: role, equals: Active}
`,
		kit: func(k *actionstest.Kit) {
			k.Probe("ha", actionstest.Returns(map[string]any{"role": "Standby"}))
			k.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "takeover", Mutates: true}))
		},
		dryRun:  true,
		outcome: runner.WouldRun,
	},
	{
		name: "sleep and params",
		body: `
params:
  version: {type: string}
  pause: {type: duration, default: 2m}
steps:
  - id: pause
    action: sleep
    with: {duration: "${params.pause}"}
  - id: check
    pre:
      - probe: ha
        expect: {path: version, equals: "${params.version}"}
`,
		kit: func(k *actionstest.Kit) {
			k.Probe("ha", actionstest.Returns(map[string]any{"version": "6.3"}))
		},
		params:  map[string]any{"version": "6.3"},
		outcome: runner.Succeeded,
	},
}

// direct runs the scenario with runner.Run.
func direct(t *testing.T, sc scenario) (*runner.Report, []actionstest.Call) {
	t.Helper()
	kit := actionstest.NewKit()
	if sc.kit != nil {
		sc.kit(kit)
	}
	reg := kit.Registry()
	if sc.reg != nil {
		sc.reg(reg)
	}
	p, err := plan.Parse("t.yaml", []byte(header+sc.body), plan.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	var approver actions.Approver
	if sc.approve != nil {
		ok := sc.approve.Approve
		approver = actions.ApproverFunc(func(context.Context, actions.ApprovalRequest) (bool, error) { return ok, nil })
	}
	rep, _ := runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: kit.Clock, Params: sc.params, DryRun: sc.dryRun, Approver: approver})
	return rep, kit.Calls()
}

// workflowRun is one run of the interpreter under the test suite.
type workflowRun struct {
	res      interpreter.Result
	calls    []actionstest.Call
	queues   []string // the task queue of each activity, in order
	payloads *recorder
	progress *interpreter.Progress
}

type runOpts struct {
	params  map[string]interpreter.Value
	resolve func(string) (string, error)
}

func viaWorkflow(t *testing.T, sc scenario, o runOpts) workflowRun {
	t.Helper()
	kit := actionstest.NewKit()
	if sc.kit != nil {
		sc.kit(kit)
	}
	reg := kit.Registry()
	if sc.reg != nil {
		sc.reg(reg)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quiet)
	env := suite.NewTestWorkflowEnvironment()
	rec := &recorder{DataConverter: converter.GetDefaultDataConverter()}
	env.SetDataConverter(rec)
	ip := &interpreter.Interpreter{Local: reg}
	env.RegisterWorkflowWithOptions(ip.Run, workflow.RegisterOptions{Name: interpreter.WorkflowName})
	acts := &interpreter.Activities{Registry: reg, Clock: kit.Clock, Resolve: o.resolve}
	acts.Register(env)
	var wr workflowRun
	var mu sync.Mutex
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		wr.queues = append(wr.queues, info.TaskQueue)
		mu.Unlock()
	})
	if sc.approve != nil {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(interpreter.ProgressQuery)
			if err != nil {
				t.Errorf("progress query: %v", err)
			} else {
				var pr interpreter.Progress
				if err := v.Get(&pr); err != nil {
					t.Errorf("progress: %v", err)
				}
				if pr.Waiting == nil || pr.Waiting.Step != sc.approve.Step {
					t.Errorf("progress while waiting: Waiting = %+v, want step %s", pr.Waiting, sc.approve.Step)
				}
			}
			env.SignalWorkflow(interpreter.ApproveSignal, *sc.approve)
		}, time.Minute)
	}
	acts0, probes := interpreter.Specs(reg)
	params := o.params
	if params == nil {
		var err error
		if params, err = interpreter.EncodeMap(sc.params); err != nil {
			t.Fatal(err)
		}
	}
	in := interpreter.Input{Filename: "t.yaml", Runbook: []byte(header + sc.body), Params: params, Actions: acts0, Probes: probes, DryRun: sc.dryRun}
	env.ExecuteWorkflow(interpreter.WorkflowName, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("the workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	if err := env.GetWorkflowResult(&wr.res); err != nil {
		t.Fatal(err)
	}
	v, err := env.QueryWorkflow(interpreter.ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	wr.progress = &interpreter.Progress{}
	if err := v.Get(wr.progress); err != nil {
		t.Fatal(err)
	}
	var q interpreter.Result
	v, err = env.QueryWorkflow(interpreter.ReportQuery)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&q); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wr.res, q); d != "" {
		t.Errorf("the report query after the end differs from the result (-result +query):\n%s", d)
	}
	wr.calls, wr.payloads = kit.Calls(), rec
	return wr
}

// wallTimes are what must differ: the clocks differ (the kit's virtual
// clock, the test suite's), and so do the durations measured on them.
// Waits are compared: both are the sums of their timers.
var wallTimes = cmp.Options{
	cmpopts.IgnoreFields(runner.Report{}, "Duration"),
	cmpopts.IgnoreFields(runner.StepReport{}, "Duration"),
	cmpopts.IgnoreFields(runner.Attempt{}, "Duration"),
}

func TestScenariosGiveTheReportsOfRunnerRun(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			want, wantCalls := direct(t, sc)
			if want.Outcome != sc.outcome {
				t.Fatalf("runner.Run: outcome %s, want %s (%s)", want.Outcome, sc.outcome, want.Error)
			}
			got := viaWorkflow(t, sc, runOpts{})
			if d := cmp.Diff(want, got.res.Report, wallTimes); d != "" {
				t.Errorf("report (-runner.Run +workflow):\n%s", d)
			}
			if got.res.Error != want.Error {
				t.Errorf("error = %q, want %q", got.res.Error, want.Error)
			}
			ignoreClock := cmpopts.IgnoreFields(actionstest.Call{}, "At")
			if d := cmp.Diff(wantCalls, got.calls, ignoreClock, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("calls of the fakes (-runner.Run +workflow):\n%s", d)
			}
			if !got.progress.Done || len(got.progress.Events) == 0 || got.progress.Events[len(got.progress.Events)-1].Kind != runner.RunEnd {
				t.Errorf("progress after the end: done %v, %d events", got.progress.Done, len(got.progress.Events))
			}
		})
	}
}

func TestCallsGoToTheTargetsTaskQueue(t *testing.T) {
	t.Parallel()
	sc := scenario{body: `
targets:
  east: {task_queue: site-east}
  west: {}
steps:
  - id: a
    pre: [{probe: ha, with: {target: east}}]
    action: do
    with: {target: west}
  - id: b
    action: do
    with: {target: east}
`, kit: func(k *actionstest.Kit) {
		k.Probe("ha", actionstest.Returns(true))
		k.Action("do")
	}}
	got := viaWorkflow(t, sc, runOpts{})
	if got.res.Report.Outcome != runner.Succeeded {
		t.Fatalf("outcome %s: %s", got.res.Report.Outcome, got.res.Error)
	}
	if d := cmp.Diff([]string{"site-east", "default-test-taskqueue", "site-east"}, got.queues); d != "" {
		t.Errorf("task queues (-want +got):\n%s", d)
	}
}

const secretBook = `
params:
  password: {type: string, secret: true}
targets:
  hmc: {host: hmc.example}
steps:
  - id: login
    action: login
    with: {user: admin, password: "${params.password}", note: "pw=${params.password}"}
  - id: check
    pre:
      - probe: echo
        with: {password: "${params.password}"}
        expect: {path: said, equals: "ok"}
`

func secretKit(k *actionstest.Kit) {
	k.AddAction(actionstest.NewFakeAction(actions.Spec{Name: "login", Mutates: true, Outputs: []actions.Output{{Name: "echo"}}},
		actionstest.Answers(func(call *actions.Call) (any, error) {
			if call.Args["password"] != "s3cr3t-Pa55" {
				return nil, fmt.Errorf("wrong password %v", call.Args["password"])
			}
			// An action that echoes its secret, in outputs and logs.
			call.Logf("logged in with %s", call.Args["password"])
			return actions.Outputs{"echo": "pw " + call.Args["password"].(string)}, nil
		})))
	k.Probe("echo", actionstest.Answers(func(call *actions.Call) (any, error) {
		return map[string]any{"said": "ok", "pw": call.Args["password"]}, nil
	}))
}

// The secret is resolved by the worker, in the activities; nothing that
// Temporal records (every payload through the data converter: the
// input, activity inputs and results, queries, the result) holds it.
func TestHistoryHoldsNoSecret(t *testing.T) {
	t.Parallel()
	sc := scenario{body: secretBook, kit: secretKit}
	const secret = "s3cr3t-Pa55"
	resolve := func(ref string) (string, error) {
		if ref != "env:CSMPLAN_PARAM_PASSWORD" {
			return "", fmt.Errorf("unknown ref %s", ref)
		}
		return secret, nil
	}
	got := viaWorkflow(t, sc, runOpts{params: map[string]interpreter.Value{"password": interpreter.SecretRef("env:CSMPLAN_PARAM_PASSWORD")}, resolve: resolve})
	if got.res.Report.Outcome != runner.Succeeded {
		t.Fatalf("outcome %s: %s", got.res.Report.Outcome, got.res.Error)
	}
	all := got.payloads.all()
	if len(all) < 5 {
		t.Fatalf("only %d payloads recorded", len(all))
	}
	for _, p := range all {
		if strings.Contains(p, secret) {
			t.Errorf("a payload holds the secret: %s", p)
		}
	}
	if !strings.Contains(strings.Join(all, "\n"), "env:CSMPLAN_PARAM_PASSWORD") {
		t.Error("no payload holds the reference: did the secret travel at all?")
	}
	// The calls did get the secret (the fake refuses another password).
	if c := got.calls[0]; c.Args["password"] != secret {
		t.Errorf("the action got password %v", c.Args["password"])
	}
}

func TestSecretInClearIsRefused(t *testing.T) {
	t.Parallel()
	sc := scenario{body: secretBook, kit: secretKit}
	got := viaWorkflow(t, sc, runOpts{params: map[string]interpreter.Value{"password": {K: "s", S: "s3cr3t-Pa55"}}})
	if got.res.Report.Outcome != runner.Failed || !strings.Contains(got.res.Error, `param "password" is secret`) || strings.Contains(got.res.Error, "s3cr3t") {
		t.Errorf("outcome %s, error %q: want the secret refused, unsaid", got.res.Report.Outcome, got.res.Error)
	}
	if len(got.calls) != 0 {
		t.Errorf("calls were made: %v", got.calls)
	}
}

func TestUnresolvableSecretFailsTheCall(t *testing.T) {
	t.Parallel()
	sc := scenario{body: secretBook, kit: secretKit}
	got := viaWorkflow(t, sc, runOpts{params: map[string]interpreter.Value{"password": interpreter.SecretRef("env:CSMPLAN_NO_SUCH_VARIABLE")}})
	if got.res.Report.Outcome != runner.Failed || !strings.Contains(got.res.Error, "has no CSMPLAN_NO_SUCH_VARIABLE") {
		t.Errorf("outcome %s, error %q", got.res.Report.Outcome, got.res.Error)
	}
}

func TestBadRunbookFailsTheRun(t *testing.T) {
	t.Parallel()
	got := viaWorkflow(t, scenario{body: "steps: [{id: a, action: nosuch}]"}, runOpts{})
	if got.res.Report.Outcome != runner.Failed || !strings.Contains(got.res.Error, "nosuch") {
		t.Errorf("outcome %s, error %q", got.res.Report.Outcome, got.res.Error)
	}
}

// quiet drops the test suite's debug lines.
var quiet = log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// recorder is a data converter that notes every payload it makes.
type recorder struct {
	converter.DataConverter
	mu       sync.Mutex
	payloads []string
}

func (r *recorder) note(ps ...*commonpb.Payload) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range ps {
		r.payloads = append(r.payloads, string(p.GetData()))
	}
}

func (r *recorder) ToPayload(v any) (*commonpb.Payload, error) {
	p, err := r.DataConverter.ToPayload(v)
	if err == nil {
		r.note(p)
	}
	return p, err
}

func (r *recorder) ToPayloads(vs ...any) (*commonpb.Payloads, error) {
	ps, err := r.DataConverter.ToPayloads(vs...)
	if err == nil {
		r.note(ps.GetPayloads()...)
	}
	return ps, err
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.payloads...)
}

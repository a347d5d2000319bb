package interpreter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// Names of the workflow, its activities, signal and queries.
const (
	WorkflowName    = "csmplan.Run"
	ActActivity     = "csmplan.Act"
	ObserveActivity = "csmplan.Observe"
	ApproveSignal   = "csmplan.approve"
	ProgressQuery   = "csmplan.progress"
	ReportQuery     = "csmplan.report"
)

// TaskQueueField is the target field that names the task queue of the
// calls on the target: the queue that a worker near it polls.
const TaskQueueField = "task_queue"

// DefaultCallTimeout bounds the calls that have no timeout of their own
// (probes, actions of steps without a timeout): an activity must have
// one, so that a call lost with its worker ends.
const DefaultCallTimeout = time.Hour

// Input is what the workflow is started with. It holds no secret.
type Input struct {
	// Filename names the runbook in messages.
	Filename string
	// Runbook is the runbook's YAML.
	Runbook []byte
	// Params are the given params, by name. A secret param is a
	// reference (see SecretRef): a secret given in clear is refused.
	Params map[string]Value
	// Actions and Probes are the specs of the registry the runbook is
	// run with (see Specs).
	Actions []actions.Spec
	Probes  []actions.Spec
	// DryRun runs no mutating action.
	DryRun bool
	// CallTimeout bounds the calls without a timeout of their own. Zero:
	// DefaultCallTimeout.
	CallTimeout time.Duration
}

// Approval is the payload of ApproveSignal: the answer to the manual
// step Step.
type Approval struct {
	Step    string
	Approve bool
}

// Progress is the answer of ProgressQuery.
type Progress struct {
	// Events are the run's events so far, secrets redacted.
	Events []runner.Event
	// Waiting, when not nil, is the approval the run waits for.
	Waiting *actions.ApprovalRequest
	// Done: the run has ended.
	Done bool
}

// QueueSpec is the spec that declares the target field task_queue: a
// probe that observes the task queue of the target its "target" argument
// names ("" for the workflow's own). Specs adds it; a worker registers it.
var QueueSpec = actions.Spec{
	Name:    "temporal.task_queue",
	Summary: "The Temporal task queue that a target's calls go to",
	Args: json.RawMessage(`{"type":"object","additionalProperties":false,"required":["target"],` +
		`"properties":{"target":{"type":"string","description":"The target's name."}}}`),
	TargetFields: json.RawMessage(`{"task_queue":{"type":"string","description":"The Temporal task queue of the calls on this target: the one a worker near it polls. Default: the workflow's."}}`),
}

// queueProbe is QueueSpec's probe.
var queueProbe = actions.ProbeFunc(func(_ context.Context, call *actions.Call) (any, error) {
	_, t, err := call.Target("target")
	if err != nil {
		return nil, actions.Permanent(err)
	}
	q, _ := t[TaskQueueField].(string)
	return q, nil
})

// RegisterQueueProbe registers QueueSpec's probe in r, unless r has it.
func RegisterQueueProbe(r *actions.Registry) error {
	if _, ok := r.Spec(actions.KindProbe, QueueSpec.Name); ok {
		return nil
	}
	return r.RegisterProbe(QueueSpec, func() actions.Probe { return queueProbe })
}

// Specs returns the specs of reg's actions and probes, QueueSpec among
// them: the name set a workflow's Input carries.
func Specs(reg *actions.Registry) (acts, probes []actions.Spec) {
	probes = reg.Specs(actions.KindProbe)
	if _, ok := reg.Spec(actions.KindProbe, QueueSpec.Name); !ok {
		probes = append(probes, QueueSpec)
	}
	return reg.Specs(actions.KindAction), probes
}

// inWorkflow are the built-in actions that run in the workflow itself:
// manual waits for a signal, sleep for a durable timer.
var inWorkflow = []string{"manual", "sleep"}

// Interpreter is the workflow. Local, when set, is the worker's own
// registry: the Validators of its actions and probes check arguments in
// the workflow as runner.Run does (they must not touch the world), and its
// manual and sleep actions run in the workflow. Nil: arguments are
// checked by their JSON Schema only, and manual and sleep come from
// actions.Default().
type Interpreter struct {
	Local *actions.Registry
}

// Run is the workflow: it runs the runbook of in and returns its report.
// The workflow itself fails only when Temporal does; a run that fails
// returns its report with Error set.
func (ip *Interpreter) Run(ctx workflow.Context, in Input) (Result, error) {
	st := &state{ctx: ctx, in: in, progress: &Progress{}}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (*Progress, error) { return st.progress, nil }); err != nil {
		return Result{}, err
	}
	if err := workflow.SetQueryHandler(ctx, ReportQuery, func() (Result, error) { return st.partial(), nil }); err != nil {
		return Result{}, err
	}
	res := st.run(ip.local())
	st.final = &res
	st.progress.Done = true
	return res, nil
}

func (ip *Interpreter) local() *actions.Registry {
	if ip.Local != nil {
		return ip.Local
	}
	return actions.Default()
}

// state is one workflow execution.
type state struct {
	ctx      workflow.Context
	in       Input
	p        *plan.Plan
	progress *Progress
	report   *runner.Report // partial, from the events
	final    *Result
}

func failed(name string, err error) Result {
	return Result{Report: &runner.Report{Runbook: name, Outcome: runner.Failed, Error: err.Error()}, Error: err.Error()}
}

func (st *state) run(local *actions.Registry) Result {
	in := st.in
	reg, err := registry(in, local)
	if err != nil {
		return failed("", err)
	}
	p, err := plan.Parse(cmpOr(in.Filename, "runbook.yaml"), in.Runbook, plan.WithRegistry(reg))
	if err != nil {
		return failed("", err)
	}
	st.p = p
	st.report = &runner.Report{Runbook: p.Name, DryRun: in.DryRun, Steps: make([]runner.StepReport, len(p.Steps))}
	for i, s := range p.Steps {
		st.report.Steps[i] = runner.StepReport{ID: s.ID, Title: s.Title, Line: s.Pos.Line, Outcome: runner.NotRun}
	}
	params, err := st.params(p)
	if err != nil {
		return failed(p.Name, err)
	}
	x := &wfExec{st: st, timeout: cmpOr(in.CallTimeout, DefaultCallTimeout)}
	rep, err := runner.Run(context.Background(), p, runner.Options{
		Registry:  reg,
		Params:    params,
		Clock:     wfClock{ctx: st.ctx},
		DryRun:    in.DryRun,
		Approver:  signalApprover{st: st},
		Exec:      x,
		Observers: []runner.Observer{runner.ObserverFunc(st.observe)},
	})
	res := Result{Report: rep}
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// params decodes the input's params; a secret param must be a
// reference, which becomes its token.
func (st *state) params(p *plan.Plan) (map[string]any, error) {
	out := make(map[string]any, len(st.in.Params))
	secret := map[string]bool{}
	for _, prm := range p.Params {
		secret[prm.Name] = prm.Secret
	}
	for name, v := range st.in.Params {
		if ref, ok := refOf(v); ok {
			out[name] = token(ref)
			continue
		}
		if secret[name] {
			return nil, fmt.Errorf("%w: param %q is secret: pass it as {\"secret_ref\": \"env:NAME\"} or {\"secret_ref\": \"file:PATH\"}, never in clear", runner.ErrParams, name)
		}
		out[name] = v.Decode()
	}
	return out, nil
}

// observe keeps the events for ProgressQuery and the partial report.
func (st *state) observe(e runner.Event) {
	st.progress.Events = append(st.progress.Events, e)
	if e.Kind == runner.StepEnd && e.Index >= 1 && e.Index <= len(st.report.Steps) {
		s := &st.report.Steps[e.Index-1]
		s.Outcome, s.Reason, s.Duration = e.Outcome, e.Message, e.Elapsed
	}
}

// partial is the report so far: the steps ended have their outcome,
// reason and duration; the whole report once the run has ended.
func (st *state) partial() Result {
	if st.final != nil {
		return *st.final
	}
	if st.report == nil {
		return Result{}
	}
	rep := *st.report
	rep.Steps = slices.Clone(rep.Steps)
	return Result{Report: &rep}
}

// registry builds the workflow's registry from the input's specs: each
// action and probe is a stand-in that the run never calls (wfExec
// performs the calls), with the Validator of local's when it has one.
func registry(in Input, local *actions.Registry) (*actions.Registry, error) {
	reg := actions.NewRegistry()
	for _, spec := range in.Actions {
		spec = unnull(spec)
		name := spec.Name
		var err error
		if slices.Contains(inWorkflow, name) {
			if _, ok := local.Spec(actions.KindAction, name); ok {
				err = reg.RegisterAction(spec, func() actions.Action { a, _ := local.NewAction(name); return a })
			}
		}
		if _, ok := reg.Spec(actions.KindAction, name); !ok && err == nil {
			err = reg.RegisterAction(spec, func() actions.Action { return standIn{name: name, local: local, kind: actions.KindAction} })
		}
		if err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
	}
	for _, spec := range in.Probes {
		spec = unnull(spec)
		name := spec.Name
		if err := reg.RegisterProbe(spec, func() actions.Probe { return standIn{name: name, local: local, kind: actions.KindProbe} }); err != nil {
			return nil, fmt.Errorf("probe %s: %w", name, err)
		}
	}
	return reg, nil
}

// unnull undoes what JSON does to a spec's empty schemas: they come back
// as null.
func unnull(s actions.Spec) actions.Spec {
	if string(s.Args) == "null" {
		s.Args = nil
	}
	if string(s.TargetFields) == "null" {
		s.TargetFields = nil
	}
	return s
}

// errStandIn is the error of a stand-in called without the executor.
var errStandIn = errors.New("interpreter: a stand-in was called directly")

// standIn stands for an action or probe of the workers in the
// workflow's registry.
type standIn struct {
	name  string
	kind  actions.Kind
	local *actions.Registry
}

func (s standIn) Run(context.Context, *actions.Call) (actions.Outputs, error) {
	return nil, actions.Permanent(errStandIn)
}

func (s standIn) Observe(context.Context, *actions.Call) (any, error) {
	return nil, actions.Permanent(errStandIn)
}

// Validate runs the Validator of the local action or probe of the name.
func (s standIn) Validate(args map[string]any) error {
	var v any
	if s.kind == actions.KindAction {
		if _, ok := s.local.Spec(actions.KindAction, s.name); ok {
			v, _ = s.local.NewAction(s.name)
		}
	} else if _, ok := s.local.Spec(actions.KindProbe, s.name); ok {
		v, _ = s.local.NewProbe(s.name)
	}
	if val, ok := v.(actions.Validator); ok {
		return val.Validate(args)
	}
	return nil
}

// wfClock is the workflow's clock: its sleeps are durable timers.
type wfClock struct{ ctx workflow.Context }

func (c wfClock) Now() time.Time { return workflow.Now(c.ctx) }

func (c wfClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	return workflow.Sleep(c.ctx, d)
}

// WithTimeout returns a context that the workflow's clock never cancels:
// the run uses it only for what it performs itself, which it does not
// when Options.Exec is set (timeouts are the activities').
func (c wfClock) WithTimeout(ctx context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
	return context.WithCancel(ctx)
}

// signalApprover waits for ApproveSignal.
type signalApprover struct{ st *state }

func (a signalApprover) Approve(_ context.Context, req actions.ApprovalRequest) (bool, error) {
	a.st.progress.Waiting = &req
	defer func() { a.st.progress.Waiting = nil }()
	ch := workflow.GetSignalChannel(a.st.ctx, ApproveSignal)
	for {
		var ap Approval
		ch.Receive(a.st.ctx, &ap)
		if ap.Step == "" || ap.Step == req.Step {
			return ap.Approve, nil
		}
		workflow.GetLogger(a.st.ctx).Warn("approval for another step ignored", "step", ap.Step, "waiting", req.Step)
	}
}

// wfExec performs the calls as activities.
type wfExec struct {
	st      *state
	timeout time.Duration
}

// CallRequest is the input of the activities.
type CallRequest struct {
	Step          string
	Name          string
	Attempt       int
	Args          map[string]Value
	Targets       map[string]map[string]Value
	TargetSources map[string]map[string]Value
}

// CallResult is what the activities return: the call's answer, its
// error as text and whether it is permanent, and its messages.
type CallResult struct {
	Outputs   map[string]Value `json:",omitempty"`
	Value     Value
	Error     string   `json:",omitempty"`
	Permanent bool     `json:",omitempty"`
	Logs      []string `json:",omitempty"`
}

func (x *wfExec) Act(ctx context.Context, act actions.Action, call *actions.Call, timeout time.Duration) (actions.Outputs, error) {
	if slices.Contains(inWorkflow, call.Name) {
		if _, stand := act.(standIn); !stand {
			return act.Run(ctx, call)
		}
	}
	res, err := x.activity(ActActivity, call, timeout)
	if err != nil {
		return nil, err
	}
	return DecodeMap(res.Outputs), nil
}

func (x *wfExec) Observe(_ context.Context, _ actions.Probe, call *actions.Call) (any, error) {
	res, err := x.activity(ObserveActivity, call, 0)
	if err != nil {
		return nil, err
	}
	return res.Value.Decode(), nil
}

func (x *wfExec) activity(name string, call *actions.Call, timeout time.Duration) (CallResult, error) {
	req, err := request(call)
	if err != nil {
		return CallResult{}, actions.Permanent(err)
	}
	ao := workflow.ActivityOptions{
		TaskQueue:           queueOf(call),
		StartToCloseTimeout: cmpOr(timeout, x.timeout),
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	var res CallResult
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(x.st.ctx, ao), name, req).Get(x.st.ctx, &res)
	if err != nil {
		if te, ok := errors.AsType[*temporal.TimeoutError](err); ok && timeout > 0 {
			return CallResult{}, fmt.Errorf("%w", context.DeadlineExceeded) // the step's timeout
		} else if ok {
			return CallResult{}, fmt.Errorf("no answer within %s (the bound of a call without a timeout): %w", x.timeout, te)
		}
		return CallResult{}, err
	}
	for _, msg := range res.Logs {
		if call.Log != nil {
			call.Log(msg)
		}
	}
	if res.Error != "" {
		err := errors.New(res.Error)
		if res.Permanent {
			err = actions.Permanent(err)
		}
		return res, err
	}
	return res, nil
}

// queueOf returns the task queue of the target the call's "target"
// argument names, "" (the workflow's) when none.
func queueOf(call *actions.Call) string {
	name, _ := call.Args["target"].(string)
	q, _ := call.Targets[name][TaskQueueField].(string)
	return strings.TrimSpace(q)
}

func request(call *actions.Call) (CallRequest, error) {
	req := CallRequest{Step: call.Step, Name: call.Name, Attempt: call.Attempt}
	var err error
	if req.Args, err = EncodeMap(call.Args); err != nil {
		return req, fmt.Errorf("arguments: %w", err)
	}
	enc := func(ts map[string]map[string]any) (map[string]map[string]Value, error) {
		if ts == nil {
			return nil, nil
		}
		out := make(map[string]map[string]Value, len(ts))
		for name, t := range ts {
			m, err := EncodeMap(t)
			if err != nil {
				return nil, fmt.Errorf("target %s: %w", name, err)
			}
			out[name] = m
		}
		return out, nil
	}
	if req.Targets, err = enc(call.Targets); err != nil {
		return req, err
	}
	if req.TargetSources, err = enc(call.TargetSources); err != nil {
		return req, err
	}
	return req, nil
}

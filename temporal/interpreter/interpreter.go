package interpreter

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// Names of the workflow, its activities, signal and queries.
const (
	WorkflowName      = "csmplan.Run"
	ActActivity       = "csmplan.Act"
	ObserveActivity   = "csmplan.Observe"
	InspectActivity   = "csmplan.Inspect"
	PreflightActivity = "csmplan.Preflight"
	ApproveSignal     = "csmplan.approve"
	ProgressQuery     = "csmplan.progress"
	ReportQuery       = "csmplan.report"
	JournalQuery      = "csmplan.journal"
)

// TaskQueueField is the target field that names the task queue of the
// calls on the target: the queue that a worker near it polls.
const TaskQueueField = "task_queue"

// DefaultCallTimeout bounds the calls that have no timeout of their own
// (probes, actions of steps without a timeout): an activity must have
// one, so that a call lost with its worker ends.
const DefaultCallTimeout = time.Hour

// DefaultHeartbeatTimeout is how long a call's worker may stay silent
// before the call counts as lost with its worker (see Input).
const DefaultHeartbeatTimeout = 30 * time.Second

// MaxProgressEvents bounds the events one ProgressQuery returns.
const MaxProgressEvents = 500

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
	// HeartbeatTimeout is how long the worker making a call may go
	// without a heartbeat (the activities send one every third of it)
	// before the call counts as lost: a probe's observation is then an
	// error, which a wait retries, and an action's attempt is lost
	// (runner.ErrActionLost): its Inspector is asked and its
	// postconditions waited for before it may run again. Zero:
	// DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// Packed, when set, holds Runbook, Actions and Probes (see Pack).
	Packed []byte `json:",omitempty"`
	// User and Host say who started the run, and where, in its journal
	// (JournalQuery). Empty: "unknown".
	User, Host string
	// TargetQueues names the task queue of a target's calls, by target
	// name; it wins over the target's task_queue field. A target in
	// neither has its calls on the workflow's own task queue.
	TargetQueues map[string]string
}

// Approval is the payload of ApproveSignal: the answer to the manual
// step Step.
type Approval struct {
	Step    string
	Approve bool
}

// Progress is the answer of ProgressQuery, whose argument is the index
// of the first event wanted (0: from the run's start).
type Progress struct {
	// Events are the run's events from the one asked for, at most
	// MaxProgressEvents of them, secrets redacted.
	Events []runner.Event
	// Next is the index of the event after the last one in Events: the
	// argument of the next query.
	Next int
	// Waiting, when not nil, is the approval the run waits for.
	Waiting *actions.ApprovalRequest
	// Done: the run has ended, and Events holds its last events when
	// Next is the number of them all.
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
	st := &state{ctx: ctx, in: in}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, st.progressFrom); err != nil {
		return Result{}, err
	}
	if err := workflow.SetQueryHandler(ctx, ReportQuery, func() (Result, error) { return st.partial(), nil }); err != nil {
		return Result{}, err
	}
	st.journal = runner.NewMemoryJournal("workflow "+workflow.GetInfo(ctx).WorkflowExecution.ID, cmp.Or(in.User, "unknown"), cmp.Or(in.Host, "unknown"))
	if err := workflow.SetQueryHandler(ctx, JournalQuery, func() ([]byte, error) { return st.journal.Bytes(), nil }); err != nil {
		return Result{}, err
	}
	res := st.run(ip.local())
	st.final = &res
	return res, nil
}

// ParseInput parses the runbook of in as the workflow does: with the
// specs that in carries, and the Validators of local's actions and probes
// (nil: actions.Default()'s). A starter checks with it, before it starts
// the workflow, that the workflow will accept its input.
func ParseInput(in Input, local *actions.Registry) (*plan.Plan, error) {
	if local == nil {
		local = actions.Default()
	}
	p, _, err := parse(in, local)
	return p, err
}

func parse(in Input, local *actions.Registry) (*plan.Plan, *actions.Registry, error) {
	in, err := in.unpack()
	if err != nil {
		return nil, nil, err
	}
	reg, err := registry(in, local)
	if err != nil {
		return nil, nil, err
	}
	p, err := plan.Parse(cmp.Or(in.Filename, "runbook.yaml"), in.Runbook, plan.WithRegistry(reg))
	return p, reg, err
}

// progressFrom answers ProgressQuery.
func (st *state) progressFrom(since int) (*Progress, error) {
	if since < 0 || since > len(st.events) {
		return nil, fmt.Errorf("%s: event %d does not exist: the run has %d", ProgressQuery, since, len(st.events))
	}
	end := min(len(st.events), since+MaxProgressEvents)
	return &Progress{Events: st.events[since:end], Next: end, Waiting: st.waiting, Done: st.final != nil}, nil
}

func (ip *Interpreter) local() *actions.Registry {
	if ip.Local != nil {
		return ip.Local
	}
	return actions.Default()
}

// state is one workflow execution.
type state struct {
	ctx workflow.Context
	in  Input
	p   *plan.Plan
	// cancel cancels the run's context: called once the workflow is
	// cancelled, by whatever of the run's waits (a timer, an activity, a
	// signal) ends because of it, before it returns (see cancelled).
	cancel  context.CancelFunc
	journal *runner.Journal // in memory: the run's change record
	events  []runner.Event
	waiting *actions.ApprovalRequest
	report  *runner.Report // partial, from the events
	final   *Result
}

func failed(name string, err error) Result {
	return Result{Report: &runner.Report{Runbook: name, Outcome: runner.Failed, Error: err.Error()}, Error: err.Error()}
}

func (st *state) run(local *actions.Registry) Result {
	in := st.in
	p, reg, err := parse(in, local)
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
	x := &wfExec{st: st, timeout: cmp.Or(in.CallTimeout, DefaultCallTimeout), heartbeat: cmp.Or(in.HeartbeatTimeout, DefaultHeartbeatTimeout)}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st.cancel = cancel
	rep, err := runner.Run(runCtx, p, runner.Options{
		Registry:  reg,
		Params:    params,
		Clock:     wfClock{st: st},
		DryRun:    in.DryRun,
		Approver:  signalApprover{st: st},
		Exec:      x,
		Journal:   st.journal,
		Observers: []runner.Observer{runner.ObserverFunc(st.observe)},
	})
	res := Result{Report: rep}
	if err != nil {
		res.Error = err.Error()
	}
	return res
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
	st.events = append(st.events, e)
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
type wfClock struct{ st *state }

func (c wfClock) Now() time.Time { return workflow.Now(c.st.ctx) }

func (c wfClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	err := workflow.Sleep(c.st.ctx, d)
	if c.st.cancelled() {
		return context.Canceled
	}
	return err
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
	a.st.waiting = &req
	defer func() { a.st.waiting = nil }()
	ch := workflow.GetSignalChannel(a.st.ctx, ApproveSignal)
	for {
		var ap Approval
		sel := workflow.NewSelector(a.st.ctx)
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(a.st.ctx, &ap) })
		sel.AddReceive(a.st.ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(a.st.ctx)
		if a.st.cancelled() {
			return false, fmt.Errorf("no answer: the workflow was cancelled: %w", context.Canceled)
		}
		if ap.Step == "" || ap.Step == req.Step {
			return ap.Approve, nil
		}
		workflow.GetLogger(a.st.ctx).Warn("approval for another step ignored", "step", ap.Step, "waiting", req.Step)
	}
}

// cancelled reports whether the workflow is cancelled, and then cancels
// the run's context, so that the run sees what ended its wait: an
// interruption, not a failure.
func (st *state) cancelled() bool {
	if st.ctx.Err() == nil {
		return false
	}
	if st.cancel != nil {
		st.cancel()
	}
	return true
}

// wfExec performs the calls as activities.
type wfExec struct {
	st        *state
	timeout   time.Duration
	heartbeat time.Duration
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

// Inspect asks the worker's action (see runner.ExecChecks).
func (x *wfExec) Inspect(_ context.Context, _ actions.Action, call *actions.Call, timeout time.Duration) (actions.Inspection, error) {
	res, err := x.activity(InspectActivity, call, timeout)
	if err != nil {
		return actions.Unknown, err
	}
	n, _ := res.Value.Decode().(int64)
	return actions.Inspection(n), nil
}

// Preflight runs the worker's action's preflight (see runner.ExecChecks).
func (x *wfExec) Preflight(_ context.Context, _ actions.Action, call *actions.Call, timeout time.Duration) (bool, error) {
	res, err := x.activity(PreflightActivity, call, timeout)
	checked, _ := res.Value.Decode().(bool)
	return checked, err
}

func (x *wfExec) activity(name string, call *actions.Call, timeout time.Duration) (CallResult, error) {
	req, err := request(call)
	if err != nil {
		return CallResult{}, actions.Permanent(err)
	}
	queue := queueOf(call, x.st.in.TargetQueues)
	ao := workflow.ActivityOptions{
		TaskQueue:           queue,
		StartToCloseTimeout: cmp.Or(timeout, x.timeout),
		HeartbeatTimeout:    x.heartbeat,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		// A cancelled call is waited for: its end (an installer stopped)
		// is the run's to report.
		WaitForCancellation: true,
	}
	var res CallResult
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(x.st.ctx, ao), name, req).Get(x.st.ctx, &res)
	if x.st.cancelled() && err != nil {
		return CallResult{}, fmt.Errorf("the workflow was cancelled: %w", context.Canceled)
	}
	if err != nil {
		te, ok := errors.AsType[*temporal.TimeoutError](err)
		if ok && te.TimeoutType() == enumspb.TIMEOUT_TYPE_HEARTBEAT {
			where := "the workflow's task queue"
			if queue != "" {
				where = "task queue " + queue
			}
			lost := fmt.Errorf("the worker making the call (on %s) went silent for %s, its heartbeat timeout", where, x.heartbeat)
			if name == ActActivity {
				return CallResult{}, fmt.Errorf("%w: %w", runner.ErrActionLost, lost)
			}
			return CallResult{}, lost
		}
		if ok && timeout > 0 {
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
// argument names: the one byTarget gives, else its task_queue field, else
// "" (the workflow's).
func queueOf(call *actions.Call, byTarget map[string]string) string {
	name, _ := call.Args["target"].(string)
	if q, ok := byTarget[name]; ok && name != "" {
		return strings.TrimSpace(q)
	}
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

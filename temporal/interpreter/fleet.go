package interpreter

import (
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
)

// Names of the fleet workflow and its query. The approval after the
// canaries is ApproveSignal, sent to the fleet's workflow, with the
// Approval's Step FleetApprovalStep (or ""): one signal, and one answer
// shape, for every approval a client is asked; the units' own manual
// steps are signalled to the units' workflows.
const (
	FleetWorkflowName  = "csmplan.Fleet"
	FleetProgressQuery = "csmplan.fleet.progress"
	// FleetApprovalStep is the Step of the approval the fleet asks after
	// its canaries: the one fleet.Run asks its Approver ("canary").
	FleetApprovalStep = "canary"
)

// Running is the outcome that FleetProgress gives a unit whose workflow
// runs. It is never in a fleet.Report: a unit not started yet is
// runner.NotRun with no Reason; once it has ended, its outcome is its
// run's.
const Running runner.Outcome = "running"

// FleetInput is what the fleet workflow is started with: the fleet, its
// rollout resolved by the starter (NewFleetInput), and the template of
// every unit's run. It holds no secret.
type FleetInput struct {
	// Name, Title and Filename are the fleet's.
	Name, Title string
	Filename    string
	// Run is the template of each unit's Input: the runbook, the specs,
	// DryRun, CallTimeout. Its Params are nil: each unit's are its own.
	Run Input
	// Units are the units as the fleet file gives them.
	Units []FleetUnit
	// Canary are the canaries' names, in order (fleet.Rollout.Canary);
	// Approve asks for ApproveSignal after they succeed.
	Canary  []string
	Approve bool
	// Waves are the units' names by wave, canaries first, as
	// (*fleet.Fleet).Waves gives them.
	Waves [][]string
	// MaxParallel is how many units run at once (0 means 1); once more
	// than MaxFailures units have failed, no new unit starts.
	MaxParallel, MaxFailures int
}

// FleetUnit is one unit of a FleetInput.
type FleetUnit struct {
	Name   string
	Labels map[string]string
	// Params are the unit's params; a secret one is a SecretRef.
	Params map[string]Value
	// Wave is the 1-based number of the unit's wave in FleetInput.Waves.
	Wave int
	// Selected: the --limit selects the unit (fleet.Options.Limit); one
	// that is not ends runner.Skipped.
	Selected bool
}

// FleetOptions are the starter's choices of NewFleetInput. The zero
// value: every unit, the fleet's rollout, and each secret param by the
// reference of where fleet.Load read it (fleet.Unit.SecretFrom).
type FleetOptions struct {
	// Limit selects the units that run, as fleet.Options.Limit.
	Limit []string
	// MaxParallel and MaxFailures, when set, override the rollout's.
	MaxParallel, MaxFailures *int
	// SecretRef, when set, gives the reference ("env:NAME" or
	// "file:PATH", read by the worker) of the unit's secret param, such as
	// the path of the file on the workers' machines. Nil:
	// u.SecretFrom[param].
	SecretRef func(u *fleet.Unit, param string) (string, error)
}

// FleetResult is what the fleet workflow returns: the report that
// fleet.Run would give, and its error message, but for the units' run
// reports: a unit's row has none (its Report is nil), for the result of a
// fleet of hundreds of units would pass Temporal's size limits. A unit's
// report is the result of its own workflow, "<fleet ID>/<unit>".
type FleetResult struct {
	Report *fleet.Report
	// Error is the message of the error fleet.Run would return, "" when
	// every unit succeeded.
	Error string
}

// FleetProgress is the answer of FleetProgressQuery.
type FleetProgress struct {
	// Units has a row per unit, in the order of the rollout plan.
	Units []UnitStatus
	// Waiting is the Step of the approval the fleet waits for
	// (FleetApprovalStep), "" when it waits for none; Prompt is its
	// question.
	Waiting string
	Prompt  string `json:",omitempty"`
	// Done: the fleet has ended.
	Done bool
}

// UnitStatus is a unit's row in FleetProgress.
type UnitStatus struct {
	Name string
	// Wave is the 1-based number of the unit's wave.
	Wave int
	// WorkflowID is the unit's workflow's (the fleet's ID, "/", the
	// unit's name), "" until it starts.
	WorkflowID string
	// Outcome is runner.NotRun while the unit waits for its turn (Reason
	// ""), Running while its workflow runs, then its row's outcome in the
	// report, with its Reason.
	Outcome runner.Outcome
	Reason  string `json:",omitempty"`
}

// NewFleetInput returns the input of the fleet workflow that runs f as
// fleet.Run(ctx, f, fleet.Options{Limit, MaxParallel, MaxFailures})
// would, each unit's run from the template run (whose Params must be
// nil; an empty Filename is the runbook's, f.Runbook.Filename). Each secret param becomes a SecretRef of where it was read, never
// its value: a secret with no known source (written as @@X, or set by
// hand) is an error wrapping fleet.ErrSecret that names the unit and the
// param. A --limit that selects no unit is fleet.Run's error (ErrLimit).
func NewFleetInput(f *fleet.Fleet, run Input, opts FleetOptions) (FleetInput, error) {
	if f == nil || f.Runbook == nil {
		return FleetInput{}, errors.New("fleet input: no fleet, or a fleet without its runbook")
	}
	if run.Params != nil {
		return FleetInput{}, fmt.Errorf("fleet %s: the run template has params: each unit's come from the fleet", f.Name)
	}
	run, err := run.Pack()
	if err != nil {
		return FleetInput{}, fmt.Errorf("fleet %s: %w", f.Name, err)
	}
	if run.Filename == "" {
		run.Filename = f.Runbook.Filename
	}
	sel, err := f.Selected(opts.Limit)
	if err != nil {
		return FleetInput{}, fmt.Errorf("fleet %s: %w", f.Name, err)
	}
	in := FleetInput{Name: f.Name, Title: f.Title, Filename: f.Filename, Run: run,
		Canary: f.Rollout.Canary, Approve: f.Rollout.Approve, Waves: f.Waves(),
		MaxParallel: max(f.Rollout.MaxParallel, 1), MaxFailures: f.Rollout.MaxFailures}
	if p := opts.MaxParallel; p != nil {
		in.MaxParallel = max(*p, 1)
	}
	if m := opts.MaxFailures; m != nil {
		in.MaxFailures = max(*m, 0)
	}
	wave := map[string]int{}
	for wi, w := range in.Waves {
		for _, name := range w {
			wave[name] = wi + 1
		}
	}
	var errs []error
	for i := range f.Units {
		u := &f.Units[i]
		params, err := unitParams(f, u, opts.SecretRef)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in.Units = append(in.Units, FleetUnit{Name: u.Name, Labels: u.Labels, Params: params, Wave: wave[u.Name], Selected: sel[i]})
	}
	if err := errors.Join(errs...); err != nil {
		return FleetInput{}, err
	}
	return in, nil
}

// unitParams encodes a unit's params, each secret one as its reference.
func unitParams(f *fleet.Fleet, u *fleet.Unit, secretRef func(*fleet.Unit, string) (string, error)) (map[string]Value, error) {
	out := make(map[string]Value, len(u.Params))
	for name, v := range u.Params {
		if prm := f.Runbook.Param(name); prm == nil || !prm.Secret {
			ev, err := Encode(v)
			if err != nil {
				return nil, fmt.Errorf("fleet %s: unit %s: param %s: %w", f.Name, u.Name, name, err)
			}
			out[name] = ev
			continue
		}
		ref := u.SecretFrom[name]
		if secretRef != nil {
			var err error
			if ref, err = secretRef(u, name); err != nil {
				return nil, fmt.Errorf("%w: fleet %s: unit %s: param %s: %w", fleet.ErrSecret, f.Name, u.Name, name, err)
			}
		}
		if ref == "" {
			return nil, fmt.Errorf("%w: fleet %s: unit %s: param %s is secret and was not read from %s or an @FILE, which a worker can read: give it so",
				fleet.ErrSecret, f.Name, u.Name, name, fleet.SecretEnv(name))
		}
		if kind, rest, _ := strings.Cut(ref, ":"); rest == "" || kind != "env" && kind != "file" {
			return nil, fmt.Errorf("%w: fleet %s: unit %s: param %s: reference %q: want env:NAME or file:PATH", fleet.ErrSecret, f.Name, u.Name, name, ref)
		}
		out[name] = SecretRef(ref)
	}
	return out, nil
}

// Fleet is the fleet workflow: it runs each unit of in as a child
// workflow (WorkflowName, ID the fleet's ID + "/" + the unit's name, on
// the fleet's task queue) by fleet.Run's rules, and returns the report
// fleet.Run would give:
//
//   - the canaries first, in order; a canary that fails stops the
//     rollout;
//   - then, when in.Approve, ApproveSignal (Step FleetApprovalStep or
//     ""): a refusal stops the rollout;
//   - the waves in order, each starting when the one before has ended,
//     at most MaxParallel units at once; once more than MaxFailures units
//     have failed, no new unit starts and the running ones finish;
//   - units that did not start are runner.NotRun with the reason, those
//     the --limit left out runner.Skipped.
//
// Cancelling the fleet's workflow starts no new unit (their reason: "the
// fleet was stopped", as fleet.Run's) and asks the running units'
// workflows to cancel, waiting for them to end: their rows are their
// runs' reports (runner.Cancelled, as fleet.Run's), and the fleet then
// completes with its report, Cancelled. Should the fleet's workflow close
// otherwise (terminated, timed out) with units running, their workflows
// are asked to cancel (ParentClosePolicy REQUEST_CANCEL), not
// terminated: a terminated unit would leave its current call (an
// installer on a server) running unobserved, and its record unfinished;
// a cancel lets the unit's workflow end the call and record how it
// ended.
//
// The workflow itself fails only when Temporal does; a fleet that fails
// returns its report with Error set.
func (ip *Interpreter) Fleet(ctx workflow.Context, in FleetInput) (FleetResult, error) {
	fs := newFleetState(ctx, in)
	if err := workflow.SetQueryHandler(ctx, FleetProgressQuery, func() (FleetProgress, error) { return fs.progress(), nil }); err != nil {
		return FleetResult{}, err
	}
	start := workflow.Now(ctx)
	if err := fs.check(); err != nil {
		fs.rep.Outcome = runner.Failed
		fs.done = true
		return FleetResult{Report: fs.rep, Error: err.Error()}, nil
	}
	canaryWave := len(in.Canary) > 0
	for wi, w := range in.Waves {
		if reason := fs.halted(); reason != "" {
			fs.notRun(w, reason)
			continue
		}
		fs.wave(wi+1, w)
		if wi == 0 && canaryWave {
			fs.afterCanaries(w, len(in.Waves) > 1)
		}
	}
	fs.rep.Duration = workflow.Now(ctx).Sub(start)
	res := FleetResult{Report: fs.rep}
	if err := fs.result(); err != nil {
		res.Error = err.Error()
	}
	fs.done = true
	return res, nil
}

// fleetState is one execution of the fleet workflow.
type fleetState struct {
	ctx  workflow.Context
	disc workflow.Context // not cancelled with ctx: to wait for the units
	in   FleetInput
	rep  *fleet.Report

	units   map[string]*FleetUnit
	rows    map[string]int    // unit name -> row in rep.Units
	ids     map[string]string // unit name -> its workflow's ID, once started
	running map[string]bool

	maxParallel     int
	failed          int
	canary          string // the first canary that failed
	refused         error  // the approval's refusal
	waiting, prompt string
	done            bool
}

func newFleetState(ctx workflow.Context, in FleetInput) *fleetState {
	disc, _ := workflow.NewDisconnectedContext(ctx)
	fs := &fleetState{ctx: ctx, disc: disc, in: in, rep: &fleet.Report{Fleet: in.Name},
		units: make(map[string]*FleetUnit, len(in.Units)), rows: map[string]int{}, ids: map[string]string{},
		running: map[string]bool{}, maxParallel: max(in.MaxParallel, 1)}
	for i := range in.Units {
		fs.units[in.Units[i].Name] = &in.Units[i]
	}
	for wi, w := range in.Waves {
		for _, name := range w {
			var labels map[string]string
			if u := fs.units[name]; u != nil {
				labels = u.Labels
			}
			fs.rows[name] = len(fs.rep.Units)
			fs.rep.Units = append(fs.rep.Units, fleet.UnitReport{Name: name, Labels: labels, Wave: wi + 1, Outcome: runner.NotRun})
		}
	}
	return fs
}

// check refuses an input whose waves name no unit, or a unit twice.
func (fs *fleetState) check() error {
	if len(fs.rows) != len(fs.rep.Units) {
		return fmt.Errorf("fleet %s: a unit is in the waves twice", fs.in.Name)
	}
	for _, row := range fs.rep.Units {
		if fs.units[row.Name] == nil {
			return fmt.Errorf("fleet %s: the waves name %s, which is no unit", fs.in.Name, row.Name)
		}
	}
	return nil
}

func (fs *fleetState) row(name string) *fleet.UnitReport { return &fs.rep.Units[fs.rows[name]] }

// halted returns why no new unit may start, or "": fleet.Run's reasons.
func (fs *fleetState) halted() string {
	switch {
	case fs.canary != "":
		return "canary " + fs.canary + " failed"
	case fs.refused != nil:
		return fs.refused.Error()
	case fs.failed > fs.in.MaxFailures:
		return fmt.Sprintf("failed units: %d, more than max_failures (%d)", fs.failed, fs.in.MaxFailures)
	case fs.ctx.Err() != nil:
		return "the fleet was stopped"
	}
	return ""
}

func (fs *fleetState) notRun(w []string, reason string) {
	for _, name := range w {
		row := fs.row(name)
		if !fs.units[name].Selected {
			row.Outcome, row.Reason = runner.Skipped, "not selected (--limit)"
			continue
		}
		row.Reason = reason
	}
}

// wave runs the units of wave n, at most maxParallel at once, each a
// child workflow whose end a coroutine of its own records.
func (fs *fleetState) wave(n int, w []string) {
	running := 0
	info := workflow.GetInfo(fs.ctx)
	for k, name := range w {
		u, row := fs.units[name], fs.row(name)
		if !u.Selected {
			row.Outcome, row.Reason = runner.Skipped, "not selected (--limit)"
			continue
		}
		// A cancel ends the wait: halted then says so.
		_ = workflow.Await(fs.ctx, func() bool { return running < fs.maxParallel })
		if reason := fs.halted(); reason != "" {
			fs.notRun(w[k:], reason)
			break
		}
		id := info.WorkflowExecution.ID + "/" + name
		cctx := workflow.WithChildOptions(fs.ctx, workflow.ChildWorkflowOptions{
			WorkflowID:          id,
			TaskQueue:           info.TaskQueueName,
			ParentClosePolicy:   enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			WaitForCancellation: true,
		})
		run := fs.in.Run
		run.Params = u.Params
		fut := workflow.ExecuteChildWorkflow(cctx, WorkflowName, run)
		// One start per workflow task: each carries the runbook and its
		// specs, and a task of many would pass Temporal's size limits.
		_ = fut.GetChildWorkflowExecution().Get(fs.ctx, nil)
		running++
		fs.ids[name], fs.running[name] = id, true
		workflow.Go(fs.disc, func(gctx workflow.Context) {
			var res Result
			err := fut.Get(gctx, &res)
			fs.ended(n, name, res, err) // counts its failure
			delete(fs.running, name)
			running-- // after the failure is counted: the next start sees it
		})
	}
	_ = workflow.Await(fs.disc, func() bool { return running == 0 })
}

// ended records the end of a unit's workflow in its row, and counts its
// failure as fleet.Run does.
func (fs *fleetState) ended(wave int, name string, res Result, err error) {
	row := fs.row(name)
	switch {
	case err == nil && res.Report != nil:
		row.Outcome = res.Report.Outcome // its report is its workflow's: the fleet's result stays small
		if res.Error != "" {
			row.Reason = res.Error
			if row.Outcome == runner.Succeeded {
				row.Outcome = runner.Failed
			}
		}
	case temporal.IsCanceledError(err):
		row.Outcome, row.Reason = runner.Cancelled, fmt.Sprintf("unit %s: its workflow was cancelled: %v", name, err)
	default:
		if err == nil {
			err = errors.New("its workflow returned no report")
		}
		row.Outcome, row.Reason = runner.Failed, fmt.Sprintf("unit %s: %v", name, err)
	}
	if row.Outcome == runner.Failed {
		fs.failed++
		if wave == 1 && len(fs.in.Canary) > 0 && fs.canary == "" {
			fs.canary = name
		}
	}
}

// afterCanaries waits for the approval of the rollout, when it wants one.
func (fs *fleetState) afterCanaries(w []string, more bool) {
	if !fs.in.Approve || !more || fs.halted() != "" {
		return
	}
	fs.waiting = FleetApprovalStep
	fs.prompt = fmt.Sprintf("The canaries of fleet %s succeeded (%s). Go on with the other %d units?", fs.in.Name, strings.Join(w, ", "), len(fs.in.Units)-len(w))
	defer func() { fs.waiting, fs.prompt = "", "" }()
	ch := workflow.GetSignalChannel(fs.ctx, ApproveSignal)
	var ap Approval
	var err error
	for answered := false; !answered; {
		sel := workflow.NewSelector(fs.ctx)
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(fs.ctx, &ap)
			if answered = ap.Step == "" || ap.Step == FleetApprovalStep; !answered {
				workflow.GetLogger(fs.ctx).Warn("approval for another step ignored", "step", ap.Step, "waiting", FleetApprovalStep)
			}
		})
		sel.AddReceive(fs.ctx.Done(), func(workflow.ReceiveChannel, bool) { err, answered = fs.ctx.Err(), true })
		sel.Select(fs.ctx)
	}
	if err == nil && ap.Approve {
		return
	}
	fs.refused = fmt.Errorf("%w after the canaries", fleet.ErrNotApproved)
	if err != nil {
		fs.refused = fmt.Errorf("%w after the canaries: %w", fleet.ErrNotApproved, err)
	}
}

// result sets the fleet's outcome and returns fleet.Run's error.
func (fs *fleetState) result() error {
	return fleet.Settle(fs.in.Name, fs.rep, fleet.Verdict{Canary: fs.canary, Refused: fs.refused, Failed: fs.failed,
		MaxFailures: fs.in.MaxFailures, Stopped: fs.ctx.Err() != nil})
}

// progress is the answer of FleetProgressQuery.
func (fs *fleetState) progress() FleetProgress {
	p := FleetProgress{Units: make([]UnitStatus, len(fs.rep.Units)), Waiting: fs.waiting, Prompt: fs.prompt, Done: fs.done}
	for i, row := range fs.rep.Units {
		st := UnitStatus{Name: row.Name, Wave: row.Wave, WorkflowID: fs.ids[row.Name], Outcome: row.Outcome, Reason: row.Reason}
		if fs.running[row.Name] {
			st.Outcome = Running
		}
		p.Units[i] = st
	}
	return p
}

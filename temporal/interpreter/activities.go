package interpreter

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/runner"
)

// Activities perform the calls on a worker, with the worker's registry.
type Activities struct {
	// Registry holds the actions and probes.
	Registry *actions.Registry
	// Clock is the clock of the calls. Nil: the wall clock.
	Clock actions.Clock
	// Approver answers a manual action run as an activity (the workflow
	// runs the built-in one itself). Nil: none.
	Approver actions.Approver
	// Resolve resolves a secret reference. Nil: ResolveSecret.
	Resolve func(ref string) (string, error)
}

// Registrar is what Activities register with: a worker.Worker.
type Registrar interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Register registers the activities under their names.
func (a *Activities) Register(w Registrar) {
	w.RegisterActivityWithOptions(a.Act, activity.RegisterOptions{Name: ActActivity})
	w.RegisterActivityWithOptions(a.Observe, activity.RegisterOptions{Name: ObserveActivity})
	w.RegisterActivityWithOptions(a.Inspect, activity.RegisterOptions{Name: InspectActivity})
	w.RegisterActivityWithOptions(a.Preflight, activity.RegisterOptions{Name: PreflightActivity})
}

// Act runs one attempt of an action.
func (a *Activities) Act(ctx context.Context, req CallRequest) (CallResult, error) {
	return a.perform(ctx, req, func(ctx context.Context, call *actions.Call) (CallResult, error) {
		act, err := a.Registry.NewAction(req.Name)
		if err != nil {
			return CallResult{}, actions.Permanent(err)
		}
		out, err := act.Run(ctx, call)
		m, eerr := EncodeMap(out)
		if eerr != nil && err == nil {
			err = actions.Permanent(fmt.Errorf("outputs: %w", eerr))
		}
		return CallResult{Outputs: m}, err
	})
}

// Observe makes one observation of a probe.
func (a *Activities) Observe(ctx context.Context, req CallRequest) (CallResult, error) {
	return a.perform(ctx, req, func(ctx context.Context, call *actions.Call) (CallResult, error) {
		p, err := a.Registry.NewProbe(req.Name)
		if err != nil {
			return CallResult{}, actions.Permanent(err)
		}
		v, err := p.Observe(ctx, call)
		ev, eerr := Encode(v)
		if eerr != nil && err == nil {
			err = actions.Permanent(fmt.Errorf("observation: %w", eerr))
		}
		return CallResult{Value: ev}, err
	})
}

// Inspect asks an action that is an actions.Inspector what an attempt
// left behind; any other answers actions.Unknown.
func (a *Activities) Inspect(ctx context.Context, req CallRequest) (CallResult, error) {
	return a.perform(ctx, req, func(ctx context.Context, call *actions.Call) (CallResult, error) {
		act, err := a.Registry.NewAction(req.Name)
		if err != nil {
			return CallResult{}, actions.Permanent(err)
		}
		ins := actions.Unknown
		if insp, ok := act.(actions.Inspector); ok {
			ins, err = insp.Inspect(ctx, call)
		}
		return CallResult{Value: Value{K: "i", I: int64(ins)}}, err
	})
}

// Preflight runs the preflight check of an action that is an
// actions.Preflighter; its Value says whether there was one.
func (a *Activities) Preflight(ctx context.Context, req CallRequest) (CallResult, error) {
	return a.perform(ctx, req, func(ctx context.Context, call *actions.Call) (CallResult, error) {
		act, err := a.Registry.NewAction(req.Name)
		if err != nil {
			return CallResult{}, actions.Permanent(err)
		}
		pf, ok := act.(actions.Preflighter)
		if ok {
			err = pf.Preflight(ctx, call)
		}
		return CallResult{Value: Value{K: "b", B: ok}}, err
	})
}

// perform reveals the call's secrets, makes it, recovering a panic, and
// hides the secrets in what it returns.
func (a *Activities) perform(ctx context.Context, req CallRequest, f func(context.Context, *actions.Call) (CallResult, error)) (res CallResult, _ error) {
	sc := &secrets{resolve: a.Resolve, byToken: map[string]string{}}
	if sc.resolve == nil {
		sc.resolve = ResolveSecret
	}
	args, err := walkMap(req.Args, sc.reveal)
	if err != nil {
		return CallResult{Error: err.Error(), Permanent: true}, nil
	}
	targets := map[string]map[string]any{}
	for name, t := range req.Targets {
		m, err := walkMap(t, sc.reveal)
		if err != nil {
			return CallResult{Error: err.Error(), Permanent: true}, nil
		}
		targets[name] = DecodeMap(m)
	}
	sources := map[string]map[string]any{}
	for name, t := range req.TargetSources {
		sources[name] = DecodeMap(t)
	}
	clock := a.Clock
	if clock == nil {
		clock = actions.RealClock{}
	}
	var logs []string
	call := &actions.Call{Step: req.Step, Name: req.Name, Args: DecodeMap(args), Targets: targets, TargetSources: sources,
		Clock: clock, Attempt: req.Attempt, Approver: a.Approver,
		Log: func(msg string) { logs = append(logs, msg) }}
	if activity.IsActivity(ctx) {
		defer heartbeat(ctx)()
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = actions.Permanent(fmt.Errorf("%w: %v\n%s", runner.ErrPanic, p, debug.Stack()))
			}
		}()
		res, err = f(ctx, call)
	}()
	hide := func(s string) (string, error) { return sc.hide(s), nil }
	res.Outputs, _ = walkMap(res.Outputs, hide)
	res.Value, _ = walk(res.Value, hide)
	for _, l := range logs {
		res.Logs = append(res.Logs, sc.hide(l))
	}
	if err != nil {
		res.Error, res.Permanent = sc.hide(err.Error()), actions.IsPermanent(err)
	}
	return res, nil
}

// heartbeat sends the activity's heartbeats, every third of its heartbeat
// timeout, until stop is called: a worker that dies stops them, and the
// workflow learns that the call is lost; a cancellation of the call
// reaches ctx through them.
func heartbeat(ctx context.Context) (stop func()) {
	every := activity.GetInfo(ctx).HeartbeatTimeout / 3
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

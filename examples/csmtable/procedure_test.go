package csmtable

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// procedure is a fake CSM pair written from the procedure's notes alone,
// independently of the simulator in csmtest: the probes and actions of the
// default runbook, with their real specs, answer by their target argument
// from this small state. Two servers at different levels never connect
// (steps 8 and 9 of the procedure), unless acrossLevels (the other
// reading, where the old-level server reconnects as standby).
type procedure struct {
	mu           sync.Mutex
	acrossLevels bool
	noReconnect  bool   // the old active does not reconnect by itself after a takeover
	partner      string // what the primary reports as its partner; "" means the secondary
	servers      map[string]*fakeServer
	synced       bool
	log          []string // mutating calls and session reads, in order
}

type fakeServer struct {
	host  string
	role  string
	level string
	tasks bool // has an enabled scheduled task
}

func newProcedure() *procedure {
	return &procedure{synced: true, servers: map[string]*fakeServer{
		"primary":   {host: "csm1.example.com", role: "Active", level: "6.3.10.0", tasks: true},
		"secondary": {host: "csm2.example.com", role: "Standby", level: "6.3.10.0", tasks: true},
	}}
}

func (p *procedure) other(name string) *fakeServer {
	if name == "primary" {
		return p.servers["secondary"]
	}
	return p.servers["primary"]
}

// connect makes the two servers a pair when they can: the one that became
// active last stays active, and a synchronized standby takes the active
// server's configuration.
func (p *procedure) connect(newest string) {
	a, b := p.servers[newest], p.other(newest)
	if a.level != b.level && !p.acrossLevels {
		p.synced = false
		return
	}
	b.role = "Standby"
	b.tasks = a.tasks
	p.synced = true
}

func targetOf(call *actions.Call) string { s, _ := call.String("target"); return s }

func (p *procedure) registry(t *testing.T) *actions.Registry {
	reg := actions.NewRegistry()
	probe := func(name string, f func(call *actions.Call, s *fakeServer) any) {
		spec, ok := csmplan.Registry().Spec(actions.KindProbe, name)
		if !ok {
			t.Fatalf("no probe %s", name)
		}
		must(t, reg.RegisterProbe(spec, func() actions.Probe {
			return actions.ProbeFunc(func(_ context.Context, call *actions.Call) (any, error) {
				p.mu.Lock()
				defer p.mu.Unlock()
				return f(call, p.servers[targetOf(call)]), nil
			})
		}))
	}
	action := func(name string, f func(call *actions.Call, s *fakeServer) (actions.Outputs, error)) {
		spec, ok := csmplan.Registry().Spec(actions.KindAction, name)
		if !ok {
			t.Fatalf("no action %s", name)
		}
		must(t, reg.RegisterAction(spec, func() actions.Action {
			return actions.ActionFunc(func(_ context.Context, call *actions.Call) (actions.Outputs, error) {
				p.mu.Lock()
				defer p.mu.Unlock()
				p.log = append(p.log, name+" "+targetOf(call))
				return f(call, p.servers[targetOf(call)])
			})
		}))
	}
	probe("csm.ha", func(call *actions.Call, s *fakeServer) any {
		o := p.other(targetOf(call))
		partner := o.host
		if p.partner != "" && targetOf(call) == "primary" {
			partner = p.partner
		}
		status := "Synchronized"
		if !p.synced {
			status = "Disconnected"
		}
		check := ""
		if want, _ := actions.OptStringArg(call.Args, "expected_partner", ""); want != "" {
			check = "ok"
			if !strings.HasPrefix(want, partner) {
				check = "the partner is " + partner + ", not " + want
			}
		}
		return map[string]any{"role": s.role, "partner": partner, "partner_check": check, "status": status, "ha_port": int64(9561)}
	})
	probe("csm.sessions", func(call *actions.Call, s *fakeServer) any {
		p.log = append(p.log, "sessions "+targetOf(call))
		return slices.Clone(sessionsSorted)
	})
	probe("csm.version", func(_ *actions.Call, s *fakeServer) any { return map[string]any{"version": s.level} })
	probe("csm.tasks", func(_ *actions.Call, s *fakeServer) any {
		if !s.tasks {
			return []any{}
		}
		return []any{map[string]any{"id": int64(1), "name": "hourly", "enabled": true, "running": false}}
	})
	action("csm.backup", func(*actions.Call, *fakeServer) (actions.Outputs, error) {
		return actions.Outputs{"file": "b.zip", "size": int64(2048), "sha256": "ab"}, nil
	})
	action("csm.takeover", func(call *actions.Call, s *fakeServer) (actions.Outputs, error) {
		if s.role != "Standby" {
			return nil, actions.Permanent(errors.New("takeover on the active server"))
		}
		s.role = "Active"
		p.synced = false
		if !p.noReconnect {
			p.connect(targetOf(call)) // the old active reconnects, when it can
		}
		return actions.Outputs{"msg": "IWNR3063I", "text": "takeover"}, nil
	})
	action("csm.reconnect", func(call *actions.Call, s *fakeServer) (actions.Outputs, error) {
		if role, _ := actions.OptStringArg(call.Args, "unless_role", ""); role == s.role {
			return actions.Outputs{"sent": false, "msg": "", "text": ""}, nil
		}
		p.connect(p.newest(targetOf(call)))
		return actions.Outputs{"sent": true, "msg": "IWNR3052I", "text": "reconnected"}, nil
	})
	action("csm.install", func(call *actions.Call, s *fakeServer) (actions.Outputs, error) {
		// The procedure's rule, which csm.install's guard enforces: the
		// manager is another server, and it is active.
		manager, _ := actions.OptStringArg(call.Args, "manager", "")
		if manager == targetOf(call) || p.servers[manager].role != "Active" {
			return nil, actions.Permanent(fmt.Errorf("installer on %s while %s is %s", targetOf(call), manager, p.servers[manager].role))
		}
		s.level, _ = actions.OptStringArg(call.Args, "version", "")
		// It comes back and reconnects to the manager, when it can.
		p.connect(manager)
		return actions.Outputs{"exit_code": int64(0), "version": s.level, "stdout_tail": ""}, nil
	})
	action("csm.disable_tasks", func(_ *actions.Call, s *fakeServer) (actions.Outputs, error) {
		if s.role == "Standby" {
			return actions.Outputs{"disabled": []any{}, "names": []any{}, "standby": true}, nil
		}
		s.tasks = false
		return actions.Outputs{"disabled": []any{int64(1)}, "names": []any{"hourly"}, "standby": false}, nil
	})
	action("csm.set_standby", func(call *actions.Call, s *fakeServer) (actions.Outputs, error) {
		active, _ := actions.OptStringArg(call.Args, "active_target", "")
		if p.servers[active].level != s.level && !p.acrossLevels {
			return nil, actions.Permanent(errors.New("IWNR9025E the servers are at different levels"))
		}
		p.connect(active)
		return actions.Outputs{"msg": "IWNR3020I", "text": "standby"}, nil
	})
	action("csm.server", func(*actions.Call, *fakeServer) (actions.Outputs, error) {
		return nil, errors.New("csm.server must not run unless stop_secondary_during_validation")
	})
	return reg
}

// newest returns the name of the server that stays active when the pair
// connects after name's reconnect: the one that is active and did not
// just ask.
func (p *procedure) newest(name string) string {
	if p.servers[name].role == "Active" && p.other(name).role == "Active" {
		if name == "primary" {
			return "secondary"
		}
		return "primary"
	}
	if p.servers[name].role == "Active" {
		return name
	}
	if name == "primary" {
		return "secondary"
	}
	return "primary"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var sessionsSorted = []any{
	map[string]any{"name": "FC_BKP", "state": "Target Available", "status": "Normal", "type": "FlashCopy"},
	map[string]any{"name": "MM_DB", "state": "Prepared", "status": "Normal", "type": "Metro Mirror"},
}

// TestUpgradeFollowsTheProcedure runs the default runbook with DR against
// fakes that follow the procedure's reading step by step (and the other
// reading of what two levels do): the mutating calls come in the
// procedure's order, the both-active window is closed before the sessions
// are validated, and the run stops before harm when the pair is not the
// pair.
func TestUpgradeFollowsTheProcedure(t *testing.T) {
	t.Parallel()
	procedureOrder := []string{
		"csm.backup primary", "csm.backup secondary", "csm.takeover secondary", "csm.reconnect primary",
		"csm.install primary", "csm.takeover primary", "csm.disable_tasks secondary",
		"csm.install secondary", "csm.set_standby secondary",
	}
	tests := []struct {
		name      string
		setup     func(*procedure)
		wantErr   error
		wantStep  string // the failing step
		wantCalls []string
		why       string // in the failing step's reason
	}{
		{name: "the procedure's reading", wantCalls: procedureOrder},
		{name: "an old-level server reconnects as standby", setup: func(p *procedure) { p.acrossLevels = true }, wantCalls: procedureOrder},
		{name: "the old active does not reconnect by itself", setup: func(p *procedure) { p.noReconnect = true }, wantCalls: procedureOrder},
		{
			name: "the primary's partner is another server", setup: func(p *procedure) { p.partner = "csm9.example.com" },
			wantErr: runner.ErrPrecondition, wantStep: "check-standby", why: "the partner is csm9.example.com",
		},
		{
			name: "the standby is not synchronized", setup: func(p *procedure) { p.synced = false },
			wantErr: runner.ErrPrecondition, wantStep: "check-standby", why: `observed "Disconnected"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProcedure()
			if tt.setup != nil {
				tt.setup(p)
			}
			reg := p.registry(t)
			pl, err := plan.Parse(csmplan.DefaultRunbookName, csmplan.DefaultRunbook(), plan.WithRegistry(reg))
			if err != nil {
				t.Fatal(err)
			}
			clk := actionstest.NewClock(actionstest.Epoch)
			rep, err := runner.Run(context.Background(), pl, runner.Options{Registry: reg, Clock: clk, Params: map[string]any{
				"primary": "csm1.example.com", "secondary": "csm2.example.com:9559", "password": "pw", "ca_file": "ca.pem",
				"target_version": "6.3.11.0", "installer": []any{"/opt/setup.bin", "-i", "silent"},
			}})
			if tt.wantErr == nil && err != nil {
				t.Fatalf("run: %v", err)
			}
			if tt.wantErr != nil {
				var se *runner.StepError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &se) || se.Step != tt.wantStep {
					t.Fatalf("err = %v, want %v at %s", err, tt.wantErr, tt.wantStep)
				}
				if r := rep.Step(tt.wantStep).Reason; !strings.Contains(r, tt.why) {
					t.Errorf("reason %q, want %q in it", r, tt.why)
				}
			}
			var mutating []string
			for _, l := range p.log {
				if !strings.HasPrefix(l, "sessions ") {
					mutating = append(mutating, l)
				}
			}
			if diff := cmp.Diff(tt.wantCalls, mutating); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
			if tt.wantErr != nil {
				return
			}
			// The sessions are validated on the primary only after the
			// secondary's tasks were disabled.
			closed := slices.Index(p.log, "csm.disable_tasks secondary")
			back := slices.Index(p.log, "csm.takeover primary")
			for i, l := range p.log {
				if i > back && l == "sessions primary" && i < closed {
					t.Errorf("the sessions were read on the primary (call %d) before the window was closed (call %d): %v", i, closed, p.log)
				}
			}
			for name, s := range p.servers {
				if s.level != "6.3.11.0" {
					t.Errorf("%s at %s, want 6.3.11.0", name, s.level)
				}
			}
			if p.servers["primary"].role != "Active" || p.servers["secondary"].role != "Standby" || !p.synced {
				t.Errorf("end state: primary %s, secondary %s, synchronized %v", p.servers["primary"].role, p.servers["secondary"].role, p.synced)
			}
		})
	}
}

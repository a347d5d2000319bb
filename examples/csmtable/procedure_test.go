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
// default runbook, with their real specs, answer each target (matched by
// its argument) from this small state. Two servers at different levels
// never connect (steps 8 and 9 of the procedure), unless acrossLevels (the
// other reading, where the old-level server reconnects as standby).
type procedure struct {
	mu           sync.Mutex
	acrossLevels bool
	noReconnect  bool   // the old active does not reconnect by itself after a takeover
	partner      string // what the primary reports as its partner; "" means the secondary
	servers      map[string]*fakeServer
	synced       bool
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

func otherName(name string) string {
	if name == "primary" {
		return "secondary"
	}
	return "primary"
}

// connect makes the two servers a pair when they can: the one that became
// active last stays active, and a synchronized standby takes the active
// server's configuration.
func (p *procedure) connect(newest string) {
	a, b := p.servers[newest], p.servers[otherName(newest)]
	if a.level != b.level && !p.acrossLevels {
		p.synced = false
		return
	}
	b.role = "Standby"
	b.tasks = a.tasks
	p.synced = true
}

// kit returns the fakes of the default runbook's probes and actions: each
// carries the real spec (the runbook's arguments are checked on every
// call) and answers a call on a target from that server's state. A call on
// any other target, or with arguments the real one refuses, fails t.
func (p *procedure) kit(t *testing.T) *actionstest.Kit {
	kit := actionstest.NewKit(actionstest.WithTest(t), actionstest.WithSpecs(csmplan.Registry()))
	kit.Probe("csm.sessions", actionstest.Returns(sessionsSorted))
	kit.Action("csm.backup", actionstest.Succeeds(actions.Outputs{"file": "b.zip", "size": int64(2048), "sha256": "ab"}))
	kit.Action("csm.server", actionstest.Fails(errors.New("csm.server must not run unless stop_secondary_during_validation")))
	ha, version, tasks := kit.Probe("csm.ha"), kit.Probe("csm.version"), kit.Probe("csm.tasks")
	takeover, reconnect, install := kit.Action("csm.takeover"), kit.Action("csm.reconnect"), kit.Action("csm.install")
	disableTasks, setStandby := kit.Action("csm.disable_tasks"), kit.Action("csm.set_standby")
	for name := range p.servers {
		on := actionstest.Args{"target": name}
		ha.On(on, p.answer(name, p.ha))
		version.On(on, p.answer(name, p.version))
		tasks.On(on, p.answer(name, p.tasks))
		takeover.On(on, p.answer(name, p.takeover))
		reconnect.On(on, p.answer(name, p.reconnect))
		install.On(on, p.answer(name, p.install))
		disableTasks.On(on, p.answer(name, p.disableTasks))
		setStandby.On(on, p.answer(name, p.setStandby))
	}
	return kit
}

// answer answers the calls on the server name with f, under the lock of
// the procedure's state.
func (p *procedure) answer(name string, f func(name string, call *actions.Call) (any, error)) actionstest.Result {
	return actionstest.Answers(func(call *actions.Call) (any, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return f(name, call)
	})
}

func (p *procedure) ha(name string, call *actions.Call) (any, error) {
	s, o := p.servers[name], p.servers[otherName(name)]
	partner := o.host
	if p.partner != "" && name == "primary" {
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
	return map[string]any{"role": s.role, "partner": partner, "partner_check": check, "status": status, "ha_port": int64(9561)}, nil
}

func (p *procedure) version(name string, _ *actions.Call) (any, error) {
	return map[string]any{"version": p.servers[name].level}, nil
}

func (p *procedure) tasks(name string, _ *actions.Call) (any, error) {
	if !p.servers[name].tasks {
		return []any{}, nil
	}
	return []any{map[string]any{"id": int64(1), "name": "hourly", "enabled": true, "running": false}}, nil
}

func (p *procedure) takeover(name string, _ *actions.Call) (any, error) {
	s := p.servers[name]
	if s.role != "Standby" {
		return nil, actions.Permanent(errors.New("takeover on the active server"))
	}
	s.role = "Active"
	p.synced = false
	if !p.noReconnect {
		p.connect(name) // the old active reconnects, when it can
	}
	return actions.Outputs{"msg": "IWNR3063I", "text": "takeover"}, nil
}

func (p *procedure) reconnect(name string, call *actions.Call) (any, error) {
	if role, _ := actions.OptStringArg(call.Args, "unless_role", ""); role == p.servers[name].role {
		return actions.Outputs{"sent": false, "msg": "", "text": ""}, nil
	}
	p.connect(p.newest(name))
	return actions.Outputs{"sent": true, "msg": "IWNR3052I", "text": "reconnected"}, nil
}

func (p *procedure) install(name string, call *actions.Call) (any, error) {
	// The procedure's rule, which csm.install's guard enforces: the
	// manager is another server, and it is active.
	manager, _ := actions.OptStringArg(call.Args, "manager", "")
	if manager == name || p.servers[manager].role != "Active" {
		return nil, actions.Permanent(fmt.Errorf("installer on %s while %s is %s", name, manager, p.servers[manager].role))
	}
	s := p.servers[name]
	s.level, _ = actions.OptStringArg(call.Args, "version", "")
	// It comes back and reconnects to the manager, when it can.
	p.connect(manager)
	return actions.Outputs{"exit_code": int64(0), "version": s.level, "stdout_tail": ""}, nil
}

func (p *procedure) disableTasks(name string, _ *actions.Call) (any, error) {
	s := p.servers[name]
	if s.role == "Standby" {
		return actions.Outputs{"disabled": []any{}, "names": []any{}, "standby": true}, nil
	}
	s.tasks = false
	return actions.Outputs{"disabled": []any{int64(1)}, "names": []any{"hourly"}, "standby": false}, nil
}

func (p *procedure) setStandby(name string, call *actions.Call) (any, error) {
	active, _ := actions.OptStringArg(call.Args, "active_target", "")
	if p.servers[active].level != p.servers[name].level && !p.acrossLevels {
		return nil, actions.Permanent(errors.New("IWNR9025E the servers are at different levels"))
	}
	p.connect(active)
	return actions.Outputs{"msg": "IWNR3020I", "text": "standby"}, nil
}

// newest returns the name of the server that stays active when the pair
// connects after name's reconnect: the one that is active and did not
// just ask.
func (p *procedure) newest(name string) string {
	if p.servers[name].role == "Active" && p.servers[otherName(name)].role != "Active" {
		return name
	}
	return otherName(name)
}

// callLog shows the calls that change a server, and the reads of the sessions,
// in order, as "csm.install primary" or "sessions primary".
func callLog(kit *actionstest.Kit) []string {
	var out []string
	for _, c := range kit.Calls() {
		target, _ := c.Args["target"].(string)
		switch {
		case c.Kind == actions.KindAction:
			out = append(out, c.Name+" "+target)
		case c.Name == "csm.sessions":
			out = append(out, "sessions "+target)
		}
	}
	return out
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
			kit := p.kit(t)
			reg := kit.Registry()
			pl, err := plan.Parse(csmplan.DefaultRunbookName, csmplan.DefaultRunbook(), plan.WithRegistry(reg))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := runner.Run(context.Background(), pl, runner.Options{Registry: reg, Clock: kit.Clock, Params: map[string]any{
				"primary": "csm1.example.com", "secondary": "csm2.example.com:9559", "password": "s3cret-pw", "ca_file": "ca.pem",
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
			calls := callLog(kit)
			var mutating []string
			for _, l := range calls {
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
			closed := slices.Index(calls, "csm.disable_tasks secondary")
			back := slices.Index(calls, "csm.takeover primary")
			for i, l := range calls {
				if i > back && l == "sessions primary" && i < closed {
					t.Errorf("the sessions were read on the primary (call %d) before the window was closed (call %d): %v", i, closed, calls)
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

package csm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

// inspectors tell, for the actions whose effect the servers show, what an
// interrupted attempt left behind (see [actions.Inspector]).
var inspectors = map[string]func(ctx context.Context, call *actions.Call, s *session) (actions.Inspection, error){
	"csm.install":       inspectInstall,
	"csm.takeover":      inspectRole(RoleActive),
	"csm.reconnect":     inspectReconnect,
	"csm.set_standby":   inspectRole(RoleStandby),
	"csm.disable_tasks": inspectDisableTasks,
	"csm.task":          inspectTask,
	"csm.server":        inspectServer,
	// A backup is taken again: a partial file of the interrupted attempt
	// is removed by the next one.
	"csm.backup": func(context.Context, *actions.Call, *session) (actions.Inspection, error) {
		return actions.NotDone, nil
	},
}

// inspectInstall: the server down means the install is in progress; up at
// the target level, done; up at another level with the installer still
// running on the host, in progress; with none running, not done.
func inspectInstall(ctx context.Context, call *actions.Call, s *session) (actions.Inspection, error) {
	c, err := parseCommand(call.Args, DefaultInstallWait, DefaultInstallPoll)
	if err != nil {
		return actions.Unknown, err
	}
	version, _ := actions.OptStringArg(call.Args, "version", "")
	v, err := s.client.Version(withoutRetries(ctx))
	switch {
	case errors.Is(err, ErrUnavailable):
		call.Logf("csm.install on %s: the server does not answer: the interrupted install is taken to be in progress", s.t.server())
		return actions.InProgress, nil
	case err != nil:
		return actions.Unknown, err
	case version != "" && actions.SameLevel(v.Version, version):
		call.Logf("csm.install on %s: the server answers at %s: the interrupted install took effect", s.t.server(), v.Version)
		return actions.Done, nil
	}
	pid, running, err := s.installerRunning(ctx, c.argv)
	switch {
	case err != nil:
		call.Logf("csm.install on %s: cannot tell whether an installer still runs on the host: %v", s.t.server(), err)
		return actions.Unknown, nil
	case running:
		call.Logf("csm.install on %s: the server answers at %s and an installer still runs on the host (pid %s): waiting for it", s.t.server(), v.Version, pid)
		return actions.InProgress, nil
	}
	call.Logf("csm.install on %s: the server answers at %s and no installer runs on the host: the interrupted install never took effect", s.t.server(), v.Version)
	return actions.NotDone, nil
}

// installerRunning looks in the process table of the target's host (ps,
// locally or over SSH; -ww so that no ps cuts a long command line to the
// width of a terminal) for a process running argv, and returns its pid.
func (s *session) installerRunning(ctx context.Context, argv []string) (pid string, running bool, err error) {
	ex, done, err := s.executor()
	if err != nil {
		return "", false, err
	}
	defer done()
	var out, errOut bytes.Buffer
	code, err := ex.Run(ctx, remote.Command{Argv: []string{"ps", "-ww", "-eo", "pid=,args="}, Stdout: &out, Stderr: &errOut})
	if err != nil {
		return "", false, fmt.Errorf("ps: %w", err)
	}
	if code != 0 {
		return "", false, fmt.Errorf("ps exited with code %d: %s", code, strings.TrimSpace(errOut.String()))
	}
	return findProcess(out.String(), argv)
}

// findProcess finds, in the output of `ps -eo pid=,args=`, a process whose
// command line is argv (or starts with it, as a shell-less argv joined by
// spaces does).
func findProcess(ps string, argv []string) (pid string, running bool, err error) {
	want := strings.Join(argv, " ")
	for _, line := range strings.Split(ps, "\n") {
		p, args, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		args = strings.TrimSpace(args)
		if args == want || strings.HasPrefix(args, want+" ") {
			return p, true, nil
		}
	}
	return "", false, nil
}

// inspectRole: the target in role is done; in the other role, not done.
func inspectRole(role string) func(context.Context, *actions.Call, *session) (actions.Inspection, error) {
	return func(ctx context.Context, call *actions.Call, s *session) (actions.Inspection, error) {
		ha, err := s.client.HA(ctx)
		if err != nil {
			return actions.Unknown, err
		}
		if (role == RoleActive) == ha.IsLocalActive {
			return actions.Done, nil
		}
		return actions.NotDone, nil
	}
}

// inspectReconnect: with unless_role, the target in that role is done.
func inspectReconnect(ctx context.Context, call *actions.Call, s *session) (actions.Inspection, error) {
	o, err := reconnectArgs(call.Args)
	if err != nil || o.unlessRole == "" {
		return actions.Unknown, err
	}
	return inspectRole(o.unlessRole)(ctx, call, s)
}

// inspectDisableTasks: a standby, or an active server without an enabled
// task, is done; otherwise disabling again is safe.
func inspectDisableTasks(ctx context.Context, _ *actions.Call, s *session) (actions.Inspection, error) {
	ha, err := s.client.HA(ctx)
	if err != nil {
		return actions.Unknown, err
	}
	if !ha.IsLocalActive {
		return actions.Done, nil
	}
	tasks, err := s.client.Tasks(ctx)
	if err != nil {
		return actions.Unknown, err
	}
	for _, t := range tasks {
		if t.Enabled {
			return actions.NotDone, nil
		}
	}
	return actions.Done, nil
}

// inspectTask: the task in the state asked is done.
func inspectTask(ctx context.Context, call *actions.Call, s *session) (actions.Inspection, error) {
	id, err := actions.IntArg(call.Args, "id")
	if err != nil {
		return actions.Unknown, err
	}
	enabled, err := actions.BoolArg(call.Args, "enabled")
	if err != nil {
		return actions.Unknown, err
	}
	t, err := s.client.Task(ctx, id)
	if err != nil {
		return actions.Unknown, err
	}
	if t.Enabled == enabled {
		return actions.Done, nil
	}
	return actions.NotDone, nil
}

// inspectServer: stopped (not answering) after stop, answering after
// start, is done.
func inspectServer(ctx context.Context, call *actions.Call, s *session) (actions.Inspection, error) {
	op, err := serverOp(call.Args)
	if err != nil {
		return actions.Unknown, err
	}
	up, err := reachable(ctx, s.client)
	if err != nil {
		return actions.Unknown, err
	}
	if up == (op == "start") {
		return actions.Done, nil
	}
	return actions.NotDone, nil
}

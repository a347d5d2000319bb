package csm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

// Defaults of the arguments of csm.install and csm.server.
const (
	DefaultInstallWait   = 60 * time.Minute
	DefaultInstallPoll   = 30 * time.Second
	DefaultServerWait    = 15 * time.Minute
	DefaultReconnectWait = 10 * time.Minute
	// DefaultBackupMaxSize is the largest backup csm.backup accepts unless
	// max_size says otherwise.
	DefaultBackupMaxSize  = 1 << 30
	DefaultServerPoll     = 10 * time.Second
	tailLines             = 20
	tailBytes             = 64 << 10
	envHost, envPort      = "CSM_HOST", "CSM_PORT"
	envTargetVersion      = "CSM_TARGET_VERSION"
	envServerOp           = "CSM_SERVER_OP"
	backupFilePerm        = 0o600
	backupDirPerm         = 0o700
	backupTimeStampLayout = "20060102T150405Z"
)

var replyOutputs = []actions.Output{
	{Name: "msg", Type: "string", Description: "The message id of the server's reply, such as IWNR3063I."},
	{Name: "text", Type: "string", Description: "The message text of the server's reply."},
}

func replyOut(r *Reply) actions.Outputs {
	text := r.MsgTranslated
	if text == "" {
		text = r.ResultText
	}
	return actions.Outputs{"msg": r.Msg, "text": text}
}

func (p *plugin) actionDefs() []*actionDef {
	targetOnly := func(what string) []byte {
		return schemaObject("Arguments of "+what+".", []string{"target"}, schemaTarget)
	}
	return []*actionDef{
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.takeover",
				Summary: "Issue an HA takeover on the standby CSM server, which becomes active (PUT /system/ha/takeover); a retry first checks whether an earlier attempt took effect",
				Args:    targetOnly("the csm.takeover action; target is the standby server"),
				Outputs: replyOutputs,
				Mutates: true,
			},
			run: func(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
				if call.Attempt > 1 {
					// An earlier attempt may have been applied by the server
					// with its reply lost (a connection reset): a second
					// takeover on the now active server would be refused.
					ha, err := s.client.HA(ctx)
					if err != nil {
						return nil, fmt.Errorf("checking the HA role before retrying the takeover: %w", err)
					}
					if ha.IsLocalActive {
						call.Logf("csm.takeover on %s: the server is already active: the takeover of an earlier attempt took effect; not issuing it again", s.t.server())
						return actions.Outputs{"msg": ha.Msg, "text": "The server is already the active server: the takeover of an earlier attempt took effect."}, nil
					}
				}
				r, err := s.client.Takeover(ctx)
				if err != nil {
					return nil, err
				}
				return replyOut(r), nil
			},
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.reconnect",
				Summary: "Reconnect the HA relationship of a CSM server (PUT /system/ha/reconnect); with unless_role, first wait for the server to reach that role by itself and reconnect only when it does not",
				Args: schemaObject("Arguments of the csm.reconnect action.", []string{"target"}, schemaTarget,
					prop("unless_role", `{"type": "string", "enum": ["Active", "Standby"], "description": "Wait up to wait_timeout for the target to reach this role by itself (as the old active does when it reconnects after a takeover, procedure step 3), and send the reconnect only when it does not. Without it, the reconnect is sent at once."}`),
					prop("wait_timeout", schemaDuration("With unless_role: how long to wait for the role before sending the reconnect.", "10m")),
					prop("poll_interval", schemaDuration("With unless_role: how often to ask the server its role.", "30s"))),
				Outputs: append([]actions.Output{
					{Name: "sent", Type: "boolean", Description: "Whether the reconnect was sent (false: the target reached unless_role by itself)."},
				}, replyOutputs...),
				Mutates: true,
			},
			validate: func(args map[string]any) error {
				_, err := reconnectArgs(args)
				return err
			},
			run: runReconnect,
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.set_standby",
				Summary: "Make a CSM server the standby of an active server, named by host (PUT /system/ha/setServerAsStandby/{active}[/{ha_port}])",
				Args: schemaObject("Arguments of the csm.set_standby action; target is the server that becomes standby. Give active or active_target.",
					[]string{"target"}, schemaTarget,
					prop("active", `{"type": "string", "minLength": 1, "description": "Host name or IP address of the active server, as that server knows itself; never host:port (the REST port is not the HA port: give ha_port)."}`),
					prop("active_target", `{"type": "string", "minLength": 1, "description": "The runbook target that is the active server: its host is sent, without the REST port."}`),
					prop("ha_port", `{"type": "integer", "minimum": 1, "maximum": 65535, "description": "The active server's HA port (its localhaport, 9561 by default), sent as one more path segment as IBM's REXX framework does. Left out when not given."}`)),
				Outputs: replyOutputs,
				Mutates: true,
			},
			validate: func(args map[string]any) error {
				_, _, err := standbyArgs(args)
				return err
			},
			run: func(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
				active, port, err := standbyArgs(call.Args)
				if err != nil {
					return nil, err
				}
				if active == "" {
					name, _ := actions.NonBlankStringArg(call.Args, "active_target")
					t, err := resolveNamedTarget(call, name, 0)
					if err != nil {
						return nil, err
					}
					active, _ = t.hostPort()
				}
				r, err := s.client.SetServerAsStandby(ctx, active, port)
				if err != nil {
					return nil, err
				}
				return replyOut(r), nil
			},
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.add_standby",
				Summary: "Add a standby server to the active CSM server (PUT /system/ha/setStandbyServer/{standby}/{user}/{password})",
				Args: schemaObject("Arguments of the csm.add_standby action; target is the active server.",
					[]string{"target", "standby", "username", "password"}, schemaTarget,
					prop("standby", `{"type": "string", "minLength": 1, "description": "Host name or address of the server that becomes standby."}`),
					prop("username", `{"type": "string", "minLength": 1, "description": "A CSM user on the standby server."}`),
					prop("password", `{"type": "string", "minLength": 1, "writeOnly": true, "description": "The password of that user: pass a reference to a secret parameter, such as ${params.standby_password}. It travels in the request path (the API's design, over TLS) and is redacted from every error and log."}`)),
				Outputs: replyOutputs,
				Mutates: true,
			},
			validate: func(args map[string]any) error {
				for _, n := range []string{"standby", "username", "password"} {
					if _, err := actions.NonBlankStringArg(args, n); err != nil {
						return err
					}
				}
				return nil
			},
			run: func(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
				standby, _ := actions.NonBlankStringArg(call.Args, "standby")
				user, _ := actions.NonBlankStringArg(call.Args, "username")
				pass, _ := actions.NonBlankStringArg(call.Args, "password")
				r, err := s.client.SetStandbyServer(ctx, standby, user, pass)
				if err != nil {
					return nil, err
				}
				return replyOut(r), nil
			},
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.backup",
				Summary: "Create a configuration backup on a CSM server and download it into a local directory (GET /system/backupserver/download)",
				Args: schemaObject("Arguments of the csm.backup action.", []string{"target", "dir"}, schemaTarget,
					prop("dir", `{"type": "string", "minLength": 1, "description": "Local directory the backup zip is written to (created with mode 0700 when missing). The file is written atomically with mode 0600 and never replaces an existing one; a partial download never has the final name, and one left by a killed run is removed by the next."}`),
					prop("max_size", `{"type": ["integer", "string"], "description": "The largest backup accepted: bytes, or a size such as 512MiB or 2GB. Larger is refused before anything is written when the server gives the size, else as soon as the limit is passed. Default 1GiB."}`)),
				Outputs: []actions.Output{
					{Name: "file", Type: "string", Description: "Path of the backup file written: DIR/NAME.zip, NAME from the server or csm-backup-HOST-TIME."},
					{Name: "size", Type: "integer", Description: "Size of the file in bytes."},
					{Name: "sha256", Type: "string", Description: "SHA-256 of the file, lower-case hex."},
				},
				Mutates: true,
			},
			validate: func(args map[string]any) error {
				if _, err := actions.NonBlankStringArg(args, "dir"); err != nil {
					return err
				}
				_, err := sizeArg(args, "max_size", DefaultBackupMaxSize)
				return err
			},
			run: runBackup,
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.task",
				Summary: "Enable or disable a scheduled task of a CSM server (POST /sessions/scheduledtasks/enable/{id} or /disable/{id})",
				Args: schemaObject("Arguments of the csm.task action.", []string{"target", "id", "enabled"}, schemaTarget,
					prop("id", `{"type": "integer", "minimum": 0, "description": "The scheduled task id (see the csm.tasks probe)."}`),
					prop("enabled", `{"type": "boolean", "description": "true to enable the task, false to disable it."}`)),
				Outputs: append([]actions.Output{
					{Name: "id", Type: "integer", Description: "The task id."},
					{Name: "enabled", Type: "boolean", Description: "Whether the task was enabled (true) or disabled (false)."},
				}, replyOutputs...),
				Mutates: true,
			},
			validate: func(args map[string]any) error {
				if _, err := actions.IntArg(args, "id"); err != nil {
					return err
				}
				_, err := actions.BoolArg(args, "enabled")
				return err
			},
			run: func(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
				id, err := actions.IntArg(call.Args, "id")
				if err != nil {
					return nil, err
				}
				enabled, err := actions.BoolArg(call.Args, "enabled")
				if err != nil {
					return nil, err
				}
				var r *Reply
				if enabled {
					r, err = s.client.EnableTask(ctx, id)
				} else {
					r, err = s.client.DisableTask(ctx, id)
				}
				if err != nil {
					return nil, err
				}
				out := replyOut(r)
				out["id"] = int64(id)
				out["enabled"] = enabled
				return out, nil
			},
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.disable_tasks",
				Summary: "Disable every enabled scheduled task of an active CSM server, so that it runs none (closing the window in which two active servers both run them); on a standby there is nothing to do",
				Args:    targetOnly("the csm.disable_tasks action"),
				Outputs: []actions.Output{
					{Name: "disabled", Type: "array", Description: "The ids of the tasks this call disabled, to enable again later if needed (csm.task)."},
					{Name: "names", Type: "array", Description: "Their names, in the same order."},
					{Name: "standby", Type: "boolean", Description: "True when the server was a standby: it runs no scheduled tasks, and nothing was disabled."},
				},
				Mutates: true,
			},
			run: runDisableTasks,
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.install",
				Summary: "Run the CSM installer (the site's command line) on a server's host, then wait until the server answers again",
				Args: schemaObject("Arguments of the csm.install action. The installer's file name and unattended options are not public: the runbook gives the whole command line.",
					[]string{"target", "argv"}, schemaTarget,
					prop("argv", fmt.Sprintf(schemaArgv, strconv.Quote("The installer command line, program first, run on the target's host (over SSH when the target has ssh.user, else locally); never a shell string. It gets CSM_HOST and CSM_PORT (the server's host and REST port) and CSM_TARGET_VERSION (when version is given) in its environment. A non-zero exit fails the action."))),
					prop("env", fmt.Sprintf(schemaEnv, strconv.Quote("Variables added to the installer's environment; CSM_HOST, CSM_PORT and CSM_TARGET_VERSION are set by the action and win."))),
					prop("version", `{"type": "string", "minLength": 1, "description": "The target version, passed to the installer as CSM_TARGET_VERSION."}`),
					prop("manager", `{"type": "string", "minLength": 1, "description": "The runbook target that manages the sessions while the installer runs (the procedure's steps 4-7: the secondary; step 10: the primary). Consulted when the target has an HA partner: the installer runs only when the manager is another server and answers as active, so it never runs on the only active server nor on the one that manages the sessions. Without it, an active target with a partner is refused."}`),
					prop("allow_active", `{"type": "boolean", "default": false, "description": "Skip the guard: run the installer whatever the HA roles. By default the action asks the target (and the manager) their HA status first."}`),
					prop("wait_timeout", schemaDuration("How long to wait, after the installer exited 0, for the server to answer again.", "60m")),
					prop("poll_interval", schemaDuration("How often to ask the server its version while waiting.", "30s"))),
				Outputs: []actions.Output{
					{Name: "exit_code", Type: "integer", Description: "The installer's exit code (0)."},
					{Name: "version", Type: "string", Description: "The version the server reports once it answers again."},
					{Name: "stdout_tail", Type: "string", Description: "The last 20 lines of the installer's standard output."},
				},
				Mutates: true,
			},
			validate: func(args map[string]any) error {
				_, err := parseCommand(args, DefaultInstallWait, DefaultInstallPoll)
				if err == nil {
					_, err = actions.OptStringArg(args, "version", "")
				}
				if err == nil {
					_, err = actions.OptBoolArg(args, "allow_active", false)
				}
				if err == nil {
					_, err = actions.OptStringArg(args, "manager", "")
				}
				return err
			},
			run: runInstall,
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.server",
				Summary: "Stop or start a CSM server with the site's command, then wait until it stops or starts answering",
				Args: schemaObject("Arguments of the csm.server action.", []string{"target", "op", "argv"}, schemaTarget,
					prop("op", `{"type": "string", "enum": ["stop", "start"], "description": "stop: wait until the server stops answering; start: wait until it answers."}`),
					prop("argv", fmt.Sprintf(schemaArgv, strconv.Quote("The site's command that stops or starts the CSM server, program first, run on the target's host (over SSH when the target has ssh.user, else locally); never a shell string. It gets CSM_HOST, CSM_PORT and CSM_SERVER_OP (stop or start) in its environment. A non-zero exit fails the action."))),
					prop("env", fmt.Sprintf(schemaEnv, strconv.Quote("Variables added to the command's environment; CSM_HOST, CSM_PORT and CSM_SERVER_OP are set by the action and win."))),
					prop("wait_timeout", schemaDuration("How long to wait, after the command exited 0, for the server to stop or start answering.", "15m")),
					prop("poll_interval", schemaDuration("How often to ask the server while waiting.", "10s"))),
				Outputs: []actions.Output{
					{Name: "exit_code", Type: "integer", Description: "The command's exit code (0)."},
					{Name: "reachable", Type: "boolean", Description: "Whether the server answers at the end: false after stop, true after start."},
					{Name: "version", Type: "string", Description: "The server's version after start; \"\" after stop."},
					{Name: "stdout_tail", Type: "string", Description: "The last 20 lines of the command's standard output."},
				},
				Mutates: true,
			},
			validate: func(args map[string]any) error {
				if _, err := serverOp(args); err != nil {
					return err
				}
				_, err := parseCommand(args, DefaultServerWait, DefaultServerPoll)
				return err
			},
			run: runServer,
		},
	}
}

// commandArgs are the arguments of csm.install and csm.server.
type commandArgs struct {
	argv         []string
	env          map[string]string
	waitTimeout  time.Duration
	pollInterval time.Duration
}

func parseCommand(args map[string]any, wait, poll time.Duration) (commandArgs, error) {
	var c commandArgs
	var err error
	if c.argv, err = actions.StringsArg(args, "argv"); err != nil {
		return c, err
	}
	if len(c.argv) == 0 || c.argv[0] == "" {
		return c, actions.ArgErrorf("argv", "want at least the program to run as the first element")
	}
	if c.env, err = actions.OptStringMapArg(args, "env"); err != nil {
		return c, err
	}
	for k := range c.env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return c, actions.ArgErrorf("env", "variable name %q is not valid", k)
		}
	}
	if c.waitTimeout, err = positiveDuration(args, "wait_timeout", wait); err != nil {
		return c, err
	}
	if c.pollInterval, err = positiveDuration(args, "poll_interval", poll); err != nil {
		return c, err
	}
	return c, nil
}

// positiveDuration returns the duration argument name, or def when it is
// missing; zero is refused (and, by the reader, a negative duration).
func positiveDuration(args map[string]any, name string, def time.Duration) (time.Duration, error) {
	d, err := actions.OptDurationArg(args, name, def)
	if err == nil && d == 0 {
		err = actions.ArgErrorf(name, "must be positive, got %s", d)
	}
	return d, err
}

func serverOp(args map[string]any) (string, error) {
	op, err := actions.NonBlankStringArg(args, "op")
	if err != nil {
		return "", err
	}
	if op != "stop" && op != "start" {
		return "", actions.ArgErrorf("op", "want stop or start, got %q", op)
	}
	return op, nil
}

// runCommand runs c.argv on the target's host with env added to c.env.
// A non-zero exit is an error that shows the last lines of stderr.
func (s *session) runCommand(ctx context.Context, call *actions.Call, what string, c commandArgs, env map[string]string) (stdout string, err error) {
	ex, done, err := s.executor()
	if err != nil {
		return "", err
	}
	defer done()
	full := make(map[string]string, len(c.env)+len(env))
	for k, v := range c.env {
		full[k] = v
	}
	for k, v := range env {
		full[k] = v
	}
	out, errOut := newTail(tailBytes), newTail(tailBytes)
	call.Logf("%s on %s: running %s", what, s.t.server(), remote.Quote(c.argv))
	code, err := ex.Run(ctx, remote.Command{Argv: c.argv, Env: full, Stdout: out, Stderr: errOut})
	if err != nil {
		err = startCause(err)
		if tail := errOut.lastLines(tailLines); tail != "" {
			return "", fmt.Errorf("running %s on %s: %w; last lines of stderr:\n%s", c.argv[0], s.t.server(), err, tail)
		}
		return "", fmt.Errorf("running %s on %s: %w", c.argv[0], s.t.server(), err)
	}
	if code != 0 {
		tail := errOut.lastLines(tailLines)
		if tail == "" {
			tail = "(empty)"
		}
		return "", &ExitError{Program: c.argv[0], Server: s.t.server(), Code: code, StderrTail: tail}
	}
	return out.lastLines(tailLines), nil
}

// ExitError is the failure of a command (installer, server stop/start) that
// exited with a non-zero code.
type ExitError struct {
	Program    string // argv[0]
	Server     string // the target: name (host:port)
	Code       int
	StderrTail string // the last lines of its standard error
}

// Error names the program, the server and the exit code, and shows the
// last lines of standard error.
func (e *ExitError) Error() string {
	return fmt.Sprintf("%s on %s exited with code %d; last lines of stderr:\n%s", e.Program, e.Server, e.Code, e.StderrTail)
}

func runInstall(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
	c, err := parseCommand(call.Args, DefaultInstallWait, DefaultInstallPoll)
	if err != nil {
		return nil, err
	}
	version, err := actions.OptStringArg(call.Args, "version", "")
	if err != nil {
		return nil, err
	}
	allowActive, err := actions.OptBoolArg(call.Args, "allow_active", false)
	if err != nil {
		return nil, err
	}
	if !allowActive {
		if err := s.installGuard(ctx, call); err != nil {
			return nil, err
		}
	}
	host, port := s.t.hostPort()
	env := map[string]string{envHost: host, envPort: strconv.Itoa(port)}
	if version != "" {
		env[envTargetVersion] = version
	}
	stdout, err := s.runCommand(ctx, call, "csm.install", c, env)
	if err != nil {
		return nil, err
	}
	call.Logf("csm.install on %s: the installer exited 0; waiting up to %s for the server to answer", s.t.server(), c.waitTimeout)
	got, err := s.waitServer(ctx, call, true, c.waitTimeout, c.pollInterval)
	if err != nil {
		return nil, fmt.Errorf("after the installer exited 0: %w", err)
	}
	return actions.Outputs{"exit_code": int64(0), "version": got, "stdout_tail": stdout}, nil
}

// installGuard refuses to run the installer on the only active server of
// an HA pair or on the server that manages the sessions. A target without
// HA partner (a server without DR) passes.
func (s *session) installGuard(ctx context.Context, call *actions.Call) error {
	ha, err := s.client.HA(ctx)
	if err != nil {
		return fmt.Errorf("checking the HA role before running the installer: %w", err)
	}
	if len(ha.ServerInfo) == 0 {
		return nil // no partner: the procedure without DR
	}
	name, _ := actions.OptStringArg(call.Args, "manager", "")
	if name == "" {
		if ha.IsLocalActive {
			return actions.Permanent(fmt.Errorf("refusing to run the installer on %s: it is an active server of an HA pair (partner %s), and no manager is given to say which server manages the sessions meanwhile; issue a takeover on the standby first, give manager, or set allow_active", s.t.server(), ha.ServerInfo[0].Server))
		}
		return nil
	}
	mt, err := resolveNamedTarget(call, name, s.t.cfg.Timeout)
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	if sameTarget(mt, s.t) {
		return actions.Permanent(fmt.Errorf("refusing to run the installer on %s: it is the manager, the server that manages the sessions", s.t.server()))
	}
	mc, err := s.p.clients.get(mt)
	if err != nil {
		return err
	}
	mha, err := mc.client.HA(withClock(ctx, clockOf(call)))
	if err != nil {
		return fmt.Errorf("refusing to run the installer on %s: the manager %s does not answer, so nothing would manage the sessions: %w", s.t.server(), mt.server(), err)
	}
	if !mha.IsLocalActive {
		return fmt.Errorf("refusing to run the installer on %s: the manager %s is not active (it is a standby), so it would be the only active server", s.t.server(), mt.server())
	}
	return nil
}

// sameTarget reports whether two targets name the same server (host and
// REST port).
func sameTarget(a, b *target) bool {
	ha, pa := a.hostPort()
	hb, pb := b.hostPort()
	return pa == pb && strings.EqualFold(hostOf(ha), hostOf(hb))
}

func runDisableTasks(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
	ha, err := s.client.HA(ctx)
	if err != nil {
		return nil, fmt.Errorf("checking the HA role before disabling the scheduled tasks: %w", err)
	}
	out := actions.Outputs{"disabled": []any{}, "names": []any{}, "standby": !ha.IsLocalActive}
	if !ha.IsLocalActive {
		call.Logf("csm.disable_tasks on %s: the server is a standby, which runs no scheduled tasks: nothing to disable", s.t.server())
		return out, nil
	}
	tasks, err := s.client.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	var ids, names []any
	for _, t := range tasks {
		if !t.Enabled {
			continue
		}
		if _, err := s.client.DisableTask(ctx, t.ID); err != nil {
			return nil, fmt.Errorf("disabling scheduled task %d %q (disabled so far: %v): %w", t.ID, t.Name, ids, err)
		}
		ids, names = append(ids, int64(t.ID)), append(names, t.Name)
	}
	// Check: an active server with an enabled task would still run it.
	after, err := s.client.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range after {
		if t.Enabled {
			return nil, fmt.Errorf("scheduled task %d %q of %s is still enabled after it was disabled", t.ID, t.Name, s.t.server())
		}
	}
	call.Logf("csm.disable_tasks on %s: disabled %d scheduled task(s) %v", s.t.server(), len(ids), names)
	if ids != nil {
		out["disabled"], out["names"] = ids, names
	}
	return out, nil
}

// reconnectArgs reads unless_role, wait_timeout and poll_interval.
type reconnectOpts struct {
	unlessRole   string
	waitTimeout  time.Duration
	pollInterval time.Duration
}

func reconnectArgs(args map[string]any) (reconnectOpts, error) {
	var o reconnectOpts
	var err error
	if o.unlessRole, err = actions.OptStringArg(args, "unless_role", ""); err != nil {
		return o, err
	}
	if o.unlessRole != "" && o.unlessRole != RoleActive && o.unlessRole != RoleStandby {
		return o, actions.ArgErrorf("unless_role", "want Active or Standby, got %q", o.unlessRole)
	}
	if o.waitTimeout, err = positiveDuration(args, "wait_timeout", DefaultReconnectWait); err != nil {
		return o, err
	}
	o.pollInterval, err = positiveDuration(args, "poll_interval", DefaultInstallPoll)
	return o, err
}

func runReconnect(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
	o, err := reconnectArgs(call.Args)
	if err != nil {
		return nil, err
	}
	if o.unlessRole != "" {
		reached, role, err := s.waitRole(ctx, call, o.unlessRole, o.waitTimeout, o.pollInterval)
		if err != nil {
			return nil, err
		}
		if reached {
			return actions.Outputs{"sent": false, "msg": "", "text": "The server reached the role " + o.unlessRole + " by itself: no reconnect sent."}, nil
		}
		call.Logf("csm.reconnect on %s: still %s after %s, want %s: sending a reconnect", s.t.server(), role, o.waitTimeout, o.unlessRole)
	}
	r, err := s.client.Reconnect(ctx)
	if err != nil {
		return nil, err
	}
	out := replyOut(r)
	out["sent"] = true
	return out, nil
}

// waitRole polls the server's HA role every interval for at most timeout
// until it is role. It returns whether it got there and the last role seen.
func (s *session) waitRole(ctx context.Context, call *actions.Call, role string, timeout, interval time.Duration) (bool, string, error) {
	clk := clockOf(call)
	wctx, cancel := clk.WithTimeout(ctx, timeout)
	defer cancel()
	poll := withoutRetries(withClock(wctx, clk))
	last := "unknown (not answering)"
	for {
		ha, err := s.client.HA(poll)
		if ctx.Err() != nil {
			return false, last, ctxErr(ctx)
		}
		switch {
		case err == nil:
			last = RoleStandby
			if ha.IsLocalActive {
				last = RoleActive
			}
			if last == role {
				return true, last, nil
			}
		case permanent(err):
			return false, last, err
		}
		if err := clk.Sleep(wctx, interval); err != nil {
			if ctx.Err() != nil {
				return false, last, ctxErr(ctx)
			}
			return false, last, nil
		}
	}
}

// standbyArgs reads csm.set_standby's active (or active_target) and
// ha_port; active is "" when active_target is given.
func standbyArgs(args map[string]any) (active string, haPort int, err error) {
	active, err = actions.OptStringArg(args, "active", "")
	if err != nil {
		return "", 0, err
	}
	at, err := actions.OptStringArg(args, "active_target", "")
	if err != nil {
		return "", 0, err
	}
	switch {
	case strings.TrimSpace(active) == "" && strings.TrimSpace(at) == "":
		return "", 0, actions.ArgErrorf("active", "give active (a host) or active_target (a target name)")
	case active != "" && at != "":
		return "", 0, actions.ArgErrorf("active", "give active or active_target, not both")
	}
	if _, port, err := net.SplitHostPort(active); err == nil {
		return "", 0, actions.ArgErrorf("active", "%q carries a port (%s): name the active server by host only; the REST port is not the HA port, which goes in ha_port", active, port)
	}
	if actions.HasArg(args, "ha_port") {
		if haPort, err = actions.IntArg(args, "ha_port"); err != nil {
			return "", 0, err
		}
		if haPort < 1 || haPort > 65535 {
			return "", 0, actions.ArgErrorf("ha_port", "want a port in 1..65535, got %d", haPort)
		}
	}
	return strings.Trim(strings.TrimSpace(active), "[]"), haPort, nil
}

func runServer(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
	op, err := serverOp(call.Args)
	if err != nil {
		return nil, err
	}
	c, err := parseCommand(call.Args, DefaultServerWait, DefaultServerPoll)
	if err != nil {
		return nil, err
	}
	host, port := s.t.hostPort()
	env := map[string]string{envHost: host, envPort: strconv.Itoa(port), envServerOp: op}
	stdout, err := s.runCommand(ctx, call, "csm.server "+op, c, env)
	if err != nil {
		return nil, err
	}
	up := op == "start"
	got, err := s.waitServer(ctx, call, up, c.waitTimeout, c.pollInterval)
	if err != nil {
		return nil, fmt.Errorf("after the %s command exited 0: %w", op, err)
	}
	return actions.Outputs{"exit_code": int64(0), "reachable": up, "version": got, "stdout_tail": stdout}, nil
}

// waitServer polls the server's version on the call's clock every
// interval, for at most timeout, until it answers (up) or stops answering
// (!up). It returns the version when up.
func (s *session) waitServer(ctx context.Context, call *actions.Call, up bool, timeout, interval time.Duration) (string, error) {
	clk := clockOf(call)
	wctx, cancel := clk.WithTimeout(ctx, timeout)
	defer cancel()
	poll := withoutRetries(withClock(wctx, clk))
	want := "answer"
	if !up {
		want = "stop answering"
	}
	var last error
	start := clk.Now()
	for polls := 1; ; polls++ {
		// A display that redraws the status (Progress) gets it at each
		// poll; a log of lines, every 10 polls.
		if call.Progress != nil && polls > 1 || polls%10 == 0 {
			note := ""
			switch {
			case errors.Is(last, ErrUnavailable):
				note = " (not answering yet)"
			case last != nil:
				note = "; last: " + last.Error()
			}
			call.Progressf("still waiting for %s to %s: %s of %s%s", s.t.server(), want, clk.Now().Sub(start).Round(time.Second), timeout, note)
		}
		v, err := s.client.Version(poll)
		if ctx.Err() != nil {
			return "", ctxErr(ctx)
		}
		if wctx.Err() != nil {
			break
		}
		switch {
		case up && err == nil:
			return v.Version, nil
		case !up && errors.Is(err, ErrUnavailable):
			return "", nil
		case errors.Is(err, ErrAuth), errors.Is(err, ErrTLS):
			return "", err
		case err != nil:
			last = err
		default:
			last = fmt.Errorf("%s still answers (version %s)", s.client.Server(), v.Version)
		}
		if err := clk.Sleep(wctx, interval); err != nil {
			if ctx.Err() != nil {
				return "", ctxErr(ctx)
			}
			break
		}
	}
	if last == nil {
		return "", fmt.Errorf("%s did not %s within %s", s.t.server(), want, timeout)
	}
	return "", fmt.Errorf("%s did not %s within %s; last: %w", s.t.server(), want, timeout, last)
}

// ctxErr wraps ctx.Err() and, when it differs, its cause.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w (%w)", err, cause)
	}
	return err
}

func runBackup(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
	dir, err := actions.NonBlankStringArg(call.Args, "dir")
	if err != nil {
		return nil, err
	}
	maxSize, err := sizeArg(call.Args, "max_size", DefaultBackupMaxSize)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, backupDirPerm); err != nil {
		return nil, actions.Permanent(fmt.Errorf("backup directory: %w", err))
	}
	removeStaleParts(dir)
	tmp, err := os.CreateTemp(dir, partPrefix+strconv.Itoa(os.Getpid())+"-*"+partSuffix)
	if err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(backupFilePerm); err != nil {
		return nil, fmt.Errorf("backup file: %w", err)
	}
	sum := sha256.New()
	name, n, err := s.client.DownloadBackup(ctx, io.MultiWriter(tmp, sum), DownloadOptions{
		MaxSize: maxSize,
		Check:   func(size int64) error { return roomFor(dir, size) },
	})
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, actions.Permanent(fmt.Errorf("%w (max_size)", err))
		}
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%s sent an empty backup file", s.t.server())
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("backup file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("backup file: %w", err)
	}
	base := name
	if ext := filepath.Ext(name); strings.EqualFold(ext, ".zip") {
		base = strings.TrimSuffix(name, ext)
	}
	if base == "" {
		host, _ := s.t.hostPort()
		base = SafeFileName("csm-backup-" + host + "-" + clockOf(call).Now().UTC().Format(backupTimeStampLayout))
	}
	final, err := placeFile(tmp.Name(), dir, base, ".zip")
	if err != nil {
		return nil, fmt.Errorf("backup file: %w", err)
	}
	keep = true
	syncDir(dir)
	call.Logf("csm.backup on %s: wrote %s (%d bytes)", s.t.server(), final, n)
	return actions.Outputs{"file": final, "size": n, "sha256": hex.EncodeToString(sum.Sum(nil))}, nil
}

// The name of a backup being downloaded: a dot file with the downloading
// process's id, so that a later run can tell a partial file left by a
// killed run (whose process is gone) and remove it.
const (
	partPrefix = ".csm-backup-"
	partSuffix = ".part"
)

// removeStaleParts removes the partial downloads in dir whose process no
// longer runs (a run killed during a download).
func removeStaleParts(dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, partPrefix+"*"+partSuffix))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), partPrefix)
		pid, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '-'), 0)])
		if err == nil && pid > 0 && !processAlive(pid) {
			_ = os.Remove(m)
		}
	}
}

// roomFor refuses a download of size bytes (-1: unknown) into dir when the
// file system says it has not that much room.
func roomFor(dir string, size int64) error {
	free, ok := freeSpace(dir)
	if !ok || size < 0 || uint64(size) <= free {
		return nil
	}
	return actions.Permanent(fmt.Errorf("the backup is %d bytes and %s has only %d bytes free", size, dir, free))
}

// sizeArg reads a size argument: an integer number of bytes, or a string
// such as "512MiB", "2GB", "1024".
func sizeArg(args map[string]any, name string, def int64) (int64, error) {
	if !actions.HasArg(args, name) {
		return def, nil
	}
	if n, err := actions.IntArg(args, name); err == nil {
		if n <= 0 {
			return 0, actions.ArgErrorf(name, "must be positive, got %d", n)
		}
		return int64(n), nil
	}
	str, err := actions.StringArg(args, name)
	if err != nil {
		return 0, actions.ArgTypeError(name, "a number of bytes or a size such as 512MiB", args[name])
	}
	n, err := parseSize(str)
	if err != nil {
		return 0, actions.ArgErrorf(name, "%v", err)
	}
	return n, nil
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	units := map[string]float64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
	mult, ok := units[strings.ToUpper(unit)]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f <= 0 || f*mult > float64(1<<62) {
		return 0, fmt.Errorf("%q is not a size: want bytes or a number with a unit (KB, MB, GB, KiB, MiB, GiB)", s)
	}
	return int64(f * mult), nil
}

// placeFile renames tmp to dir/base+ext, or to dir/base-N+ext when that
// exists: an existing file is never replaced.
func placeFile(tmp, dir, base, ext string) (string, error) {
	for i := 1; i < 1000; i++ {
		name := base + ext
		if i > 1 {
			name = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
		final := filepath.Join(dir, name)
		// A hard link fails when the name exists, unlike rename.
		if err := os.Link(tmp, final); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue
			}
			if _, statErr := os.Lstat(final); statErr == nil {
				continue
			}
			// No hard links on this file system: rename (atomic, but it
			// could replace a file created since the check above).
			if err := os.Rename(tmp, final); err != nil {
				return "", err
			}
			return final, nil
		}
		if err := os.Remove(tmp); err != nil {
			return "", err
		}
		return final, nil
	}
	return "", fmt.Errorf("too many files named %s-N%s in %s", base, ext, dir)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// tail keeps the last bytes written to it.
type tail struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func newTail(limit int) *tail { return &tail{limit: limit} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLines returns the last n lines written, without a final newline.
func (t *tail) lastLines(n int) string {
	t.mu.Lock()
	s := strings.TrimRight(string(t.buf), "\n")
	t.mu.Unlock()
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

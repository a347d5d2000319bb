package csm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	DefaultInstallWait    = 60 * time.Minute
	DefaultInstallPoll    = 30 * time.Second
	DefaultServerWait     = 15 * time.Minute
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
				Summary: "Reconnect the HA relationship of a CSM server (PUT /system/ha/reconnect)",
				Args:    targetOnly("the csm.reconnect action"),
				Outputs: replyOutputs,
				Mutates: true,
			},
			run: func(ctx context.Context, _ *actions.Call, s *session) (actions.Outputs, error) {
				r, err := s.client.Reconnect(ctx)
				if err != nil {
					return nil, err
				}
				return replyOut(r), nil
			},
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.set_standby",
				Summary: "Make a CSM server the standby of an active server (PUT /system/ha/setServerAsStandby/{active})",
				Args: schemaObject("Arguments of the csm.set_standby action; target is the server that becomes standby.",
					[]string{"target", "active"}, schemaTarget,
					prop("active", `{"type": "string", "minLength": 1, "description": "Host name or address of the active server, as that server knows itself."}`)),
				Outputs: replyOutputs,
				Mutates: true,
			},
			validate: func(args map[string]any) error {
				_, err := actions.NonBlankStringArg(args, "active")
				return err
			},
			run: func(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error) {
				active, err := actions.NonBlankStringArg(call.Args, "active")
				if err != nil {
					return nil, err
				}
				r, err := s.client.SetServerAsStandby(ctx, active)
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
					prop("dir", `{"type": "string", "minLength": 1, "description": "Local directory the backup zip is written to (created with mode 0700 when missing). The file is written atomically with mode 0600 and never replaces an existing one."}`)),
				Outputs: []actions.Output{
					{Name: "file", Type: "string", Description: "Path of the backup file written: DIR/NAME.zip, NAME from the server or csm-backup-HOST-TIME."},
					{Name: "size", Type: "integer", Description: "Size of the file in bytes."},
					{Name: "sha256", Type: "string", Description: "SHA-256 of the file, lower-case hex."},
				},
				Mutates: true,
			},
			validate: func(args map[string]any) error {
				_, err := actions.NonBlankStringArg(args, "dir")
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
				Name:    "csm.install",
				Summary: "Run the CSM installer (the site's command line) on a server's host, then wait until the server answers again",
				Args: schemaObject("Arguments of the csm.install action. The installer's file name and unattended options are not public: the runbook gives the whole command line.",
					[]string{"target", "argv"}, schemaTarget,
					prop("argv", fmt.Sprintf(schemaArgv, strconv.Quote("The installer command line, program first, run on the target's host (over SSH when the target has ssh.user, else locally); never a shell string. It gets CSM_HOST and CSM_PORT (the server's host and REST port) and CSM_TARGET_VERSION (when version is given) in its environment. A non-zero exit fails the action."))),
					prop("env", fmt.Sprintf(schemaEnv, strconv.Quote("Variables added to the installer's environment; CSM_HOST, CSM_PORT and CSM_TARGET_VERSION are set by the action and win."))),
					prop("version", `{"type": "string", "minLength": 1, "description": "The target version, passed to the installer as CSM_TARGET_VERSION."}`),
					prop("allow_active", `{"type": "boolean", "default": false, "description": "Run the installer even when the server is the active server of an HA pair. By default the action asks the server its HA status first and refuses: the procedure upgrades the standby (or a server without partner)."}`),
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
					prop("op", `{"enum": ["stop", "start"], "description": "stop: wait until the server stops answering; start: wait until it answers."}`),
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
		ha, err := s.client.HA(ctx)
		if err != nil {
			return nil, fmt.Errorf("checking the HA role before running the installer: %w", err)
		}
		if ha.IsLocalActive && len(ha.ServerInfo) > 0 {
			return nil, fmt.Errorf("refusing to run the installer on %s: it is the active server of an HA pair (partner %s); issue a takeover on the standby first, or set allow_active", s.t.server(), ha.ServerInfo[0].Server)
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
		if polls%10 == 0 {
			note := ""
			switch {
			case errors.Is(last, ErrUnavailable):
				note = " (not answering yet)"
			case last != nil:
				note = "; last: " + last.Error()
			}
			call.Logf("still waiting for %s to %s: %s of %s%s", s.t.server(), want, clk.Now().Sub(start).Round(time.Second), timeout, note)
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
	if err := os.MkdirAll(dir, backupDirPerm); err != nil {
		return nil, actions.Permanent(fmt.Errorf("backup directory: %w", err))
	}
	tmp, err := os.CreateTemp(dir, ".csm-backup-*.part")
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
	name, n, err := s.client.DownloadBackup(ctx, io.MultiWriter(tmp, sum))
	if err != nil {
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

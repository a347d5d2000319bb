package csm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os/exec"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

// Options configure the CSM probes and actions added by [Register].
type Options struct {
	// Executor returns the executor that runs commands on a target's host
	// (the installer of csm.install, the stop/start command of csm.server),
	// given the target's fields. Nil means [DefaultExecutor]: SSH when the
	// target has ssh.user, else this machine.
	Executor func(target map[string]any) (remote.Executor, error)
	// HTTPTimeout limits each REST request. Zero means 30s.
	HTTPTimeout time.Duration
	// SynchronizedStatuses are the relationship status strings that mean
	// synchronized in the csm.ha probe (its synchronized_statuses argument
	// wins). Nil means [DefaultSynchronizedStatuses].
	SynchronizedStatuses []string
}

func (p *plugin) synchronized() []string {
	if p.opts.SynchronizedStatuses != nil {
		return p.opts.SynchronizedStatuses
	}
	return DefaultSynchronizedStatuses
}

// plugin holds what the registered probes and actions share: the options
// and the clients, one per target configuration, so that a token is reused
// across the calls of a run.
type plugin struct {
	opts    Options
	clients clientCache
}

// Register adds the CSM probes (csm.ha, csm.sessions, csm.session,
// csm.version, csm.tasks, csm.reachable) and actions (csm.takeover,
// csm.reconnect, csm.set_standby, csm.add_standby, csm.backup, csm.task,
// csm.install, csm.server) to r. It makes no network call. Every problem
// is reported.
func Register(r *actions.Registry, opts Options) error {
	if r == nil {
		return errors.New("csm: Register: nil registry")
	}
	if opts.HTTPTimeout < 0 {
		return fmt.Errorf("csm: Register: HTTPTimeout %v is negative", opts.HTTPTimeout)
	}
	p := &plugin{opts: opts}
	var errs []error
	for _, pr := range p.probeDefs() {
		pr.spec.TargetFields = targetFields
		errs = append(errs, r.RegisterProbe(pr.spec, func() actions.Probe { return pr }))
	}
	for _, a := range p.actionDefs() {
		a.inspect = inspectors[a.spec.Name]
		a.preflight = preflighters[a.spec.Name]
		a.spec.TargetFields = targetFields
		errs = append(errs, r.RegisterAction(a.spec, func() actions.Action { return a }))
	}
	return errors.Join(errs...)
}

// targetFields are the target fields every CSM probe and action declares
// (see [actions.Spec.TargetFields]): those of the REST API, read by
// configFromTarget, and host and ssh, read by [DefaultExecutor] for the
// commands run on the server's host ([actions.RemoteTargetFields]).
var targetFields = func() json.RawMessage {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(actions.RemoteTargetFields, &fields); err != nil {
		panic(err) // fixed text, tested
	}
	if err := json.Unmarshal([]byte(`{
  "port": {
    "description": "TCP port of the REST API (1 to 65535, default 9559) or a reference such as ${params.port}.",
    "type": ["integer", "string"],
    "minimum": 1,
    "maximum": 65535,
    "pattern": "^\\$\\{[^}]+\\}$"
  },
  "username": {"description": "User name to log in with.", "type": "string"},
  "password": {
    "description": "Password to log in with; use a reference to a secret parameter, such as ${params.password}.",
    "type": "string",
    "writeOnly": true
  },
  "ca_file": {"description": "File of PEM certificates of the authorities to trust for TLS.", "type": "string"},
  "fingerprint": {"description": "SHA-256 fingerprint of the server certificate to pin.", "type": "string"},
  "insecure": {
    "description": "Skip TLS certificate verification (true or false, or a reference). Only for tests.",
    "type": ["boolean", "string"],
    "pattern": "^\\$\\{[^}]+\\}$"
  }
}`), &fields); err != nil {
		panic(err) // fixed text, tested
	}
	out, err := json.Marshal(fields)
	if err != nil {
		panic(err)
	}
	return out
}()

// probeDef is one registered probe.
type probeDef struct {
	p        *plugin
	spec     actions.Spec
	validate func(args map[string]any) error // beyond "target"; nil for none
	observe  func(ctx context.Context, call *actions.Call, s *session) (any, error)
}

var (
	_ actions.Probe     = (*probeDef)(nil)
	_ actions.Validator = (*probeDef)(nil)
	_ actions.Action    = (*actionDef)(nil)
	_ actions.Validator = (*actionDef)(nil)
)

// Validate checks the arguments beyond their schema.
func (d *probeDef) Validate(args map[string]any) error {
	if _, err := actions.NonBlankStringArg(args, "target"); err != nil {
		return err
	}
	if d.validate != nil {
		return d.validate(args)
	}
	return nil
}

// Observe connects to the call's target and observes it.
func (d *probeDef) Observe(ctx context.Context, call *actions.Call) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", d.spec.Name, err)
	}
	if err := d.Validate(call.Args); err != nil {
		return nil, err
	}
	s, err := d.p.connect(ctx, call, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.spec.Name, err)
	}
	v, err := d.observe(s.ctx, call, s)
	if err != nil {
		return nil, s.fail(d.spec.Name, err)
	}
	return v, nil
}

// actionDef is one registered action.
type actionDef struct {
	p        *plugin
	spec     actions.Spec
	validate func(args map[string]any) error
	run      func(ctx context.Context, call *actions.Call, s *session) (actions.Outputs, error)
	// inspect tells what an interrupted attempt left behind; nil: unknown.
	inspect func(ctx context.Context, call *actions.Call, s *session) (actions.Inspection, error)
	// preflight checks what a dry run can of what run will need; nil: nothing.
	preflight func(ctx context.Context, call *actions.Call, s *session) error
}

var _ actions.Inspector = (*actionDef)(nil)

// Inspect connects to the call's target and tells what an interrupted
// attempt of the action left behind (see [actions.Inspector]).
func (d *actionDef) Inspect(ctx context.Context, call *actions.Call) (actions.Inspection, error) {
	if d.inspect == nil {
		return actions.Unknown, nil
	}
	if err := d.Validate(call.Args); err != nil {
		return actions.Unknown, err
	}
	s, err := d.p.connect(ctx, call, false)
	if err != nil {
		return actions.Unknown, fmt.Errorf("%s: %w", d.spec.Name, err)
	}
	in, err := d.inspect(s.ctx, call, s)
	if err != nil {
		return actions.Unknown, s.fail(d.spec.Name+" (inspecting an interrupted attempt)", err)
	}
	return in, nil
}

// Validate checks the arguments beyond their schema.
func (d *actionDef) Validate(args map[string]any) error {
	if _, err := actions.NonBlankStringArg(args, "target"); err != nil {
		return err
	}
	if d.validate != nil {
		return d.validate(args)
	}
	return nil
}

// Run connects to the call's target and acts on it.
func (d *actionDef) Run(ctx context.Context, call *actions.Call) (actions.Outputs, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", d.spec.Name, err)
	}
	if err := d.Validate(call.Args); err != nil {
		return nil, err
	}
	s, err := d.p.connect(ctx, call, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.spec.Name, err)
	}
	out, err := d.run(s.ctx, call, s)
	if err != nil {
		return nil, s.fail(d.spec.Name, err)
	}
	return out, nil
}

// session is one call's connection to its target.
type session struct {
	ctx    context.Context // the call's ctx, retries paced by the call's clock
	t      *target
	client *Client
	p      *plugin
}

func clockOf(call *actions.Call) actions.Clock {
	if call != nil && call.Clock != nil {
		return call.Clock
	}
	return actions.RealClock{}
}

func (p *plugin) connect(ctx context.Context, call *actions.Call, loud bool) (*session, error) {
	t, err := resolveTarget(call, p.opts.HTTPTimeout)
	if err != nil {
		return nil, err
	}
	cc, err := p.clients.get(t)
	if err != nil {
		return nil, err
	}
	if w := cc.client.Warning(); w != "" {
		if loud {
			call.Logf("%s", w)
		} else {
			cc.warned.Do(func() { call.Logf("%s", w) })
		}
	}
	return &session{ctx: withClock(ctx, clockOf(call)), t: t, client: cc.client, p: p}, nil
}

// fail says which probe or action failed on which target, and marks the
// failures that retries cannot fix as permanent.
func (s *session) fail(name string, err error) error {
	wrapped := fmt.Errorf("%s on target %q: %w", name, s.t.name, err)
	if ce, ok := errors.AsType[*CertError](err); ok {
		if hint := s.t.certHint(ce); hint != "" {
			wrapped = fmt.Errorf("%w; %s", wrapped, hint)
		}
	}
	if permanent(err) {
		return actions.Permanent(wrapped)
	}
	return wrapped
}

// permanent reports whether retrying cannot fix err: bad credentials, TLS
// verification failures, bad configuration, an E-severity rejection (such
// as IWNC1302E), a request the server calls bad or unknown, an SSH host key
// or login refused, a program that does not exist, a host name that does
// not resolve.
func permanent(err error) bool {
	for _, p := range []error{
		actions.ErrPermanent, ErrAuth, ErrTLS, ErrNoTLSConfig,
		remote.ErrUnknownHostKey, remote.ErrHostKeyMismatch, remote.ErrHostKeyRevoked,
		remote.ErrAuthFailed, remote.ErrEncryptedKey, exec.ErrNotFound, fs.ErrNotExist,
	} {
		if errors.Is(err, p) {
			return true
		}
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return Severity(ae.Msg) == 'E' || ae.StatusCode == http.StatusBadRequest || ae.StatusCode == http.StatusNotFound
	}
	// A name that does not resolve will not resolve on a retry.
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

// executor returns the executor of the session's target; done releases it.
func (s *session) executor() (ex remote.Executor, done func(), err error) {
	newEx := s.p.opts.Executor
	if newEx == nil {
		newEx = DefaultExecutor
	}
	ex, err = newEx(s.t.fields)
	if err != nil {
		return nil, nil, fmt.Errorf("target %q: %w", s.t.name, err)
	}
	if ex == nil {
		return nil, nil, actions.Permanent(fmt.Errorf("target %q: the executor function returned no executor", s.t.name))
	}
	done = func() {}
	if c, ok := ex.(io.Closer); ok {
		done = func() { _ = c.Close() }
	}
	return ex, done, nil
}

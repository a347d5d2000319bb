package csm

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

// target is a runbook target resolved for the CSM probes and actions.
type target struct {
	name    string
	fields  map[string]any
	cfg     Config // without Clock
	pinFrom string // how the runbook writes the fingerprint field, such as "${params.primary_fingerprint}"
}

// targetError is a permanent error about a field of a target.
func targetError(name, field, format string, args ...any) error {
	return actions.Permanent(fmt.Errorf("target %q: %s: %w", name, field, fmt.Errorf(format, args...)))
}

// problem returns what err, the error of an argument reader applied to
// target fields, says is wrong, without the `argument "name": ` that does
// not fit a field.
func problem(err error) error {
	if ae, ok := errors.AsType[*actions.ArgError](err); ok {
		return ae.Err
	}
	return err
}

// targetString returns the string field of the target name, "" when absent.
func targetString(name string, t map[string]any, field string) (string, error) {
	s, err := actions.OptStringArg(t, field, "")
	if err != nil {
		return "", targetError(name, field, "%w", problem(err))
	}
	return s, nil
}

// resolveTarget reads the target named by the call's argument "target".
func resolveTarget(call *actions.Call, timeout time.Duration) (*target, error) {
	name, _, err := call.Target("target")
	if err != nil {
		return nil, actions.Permanent(err)
	}
	return resolveNamedTarget(call, name, timeout)
}

// resolveNamedTarget reads the runbook target name.
func resolveNamedTarget(call *actions.Call, name string, timeout time.Duration) (*target, error) {
	fields, ok := call.Targets[name]
	if !ok {
		return nil, actions.Permanent(fmt.Errorf("no target named %q in the runbook", name))
	}
	cfg, err := configFromTarget(name, fields)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = timeout
	return &target{name: name, fields: fields, cfg: cfg, pinFrom: call.TargetSource(name, "fingerprint")}, nil
}

// certHint tells how to trust the certificate a CertError shows: which
// param (or target field) takes its fingerprint.
func (t *target) certHint(ce *CertError) string {
	if ce.Fingerprint == "" {
		return ""
	}
	where := "the fingerprint field of target " + strconv.Quote(t.name)
	if ref := strings.TrimSpace(t.pinFrom); strings.HasPrefix(ref, "${params.") && strings.HasSuffix(ref, "}") && strings.Count(ref, "${") == 1 {
		name := strings.TrimSuffix(strings.TrimPrefix(ref, "${params."), "}")
		where = "param " + name + " (-p " + name + "=" + ce.Fingerprint + ")"
	}
	return "if the server's certificate was renewed (an upgrade may replace it), check that fingerprint out of band (openssl x509 -noout -fingerprint -sha256 on the server) and trust it with " + where
}

// configFromTarget builds a client Config from a target's fields: host,
// port, username, password, ca_file, fingerprint and insecure.
func configFromTarget(name string, t map[string]any) (Config, error) {
	var cfg Config
	var err error
	if cfg.Host, err = targetString(name, t, "host"); err != nil {
		return cfg, err
	}
	if strings.TrimSpace(cfg.Host) == "" {
		return cfg, targetError(name, "host", "is required")
	}
	if actions.HasArg(t, "port") {
		p, err := actions.IntArg(t, "port")
		if err != nil || p < 1 || p > 65535 {
			return cfg, targetError(name, "port", "want an integer in 1..65535, got %v", t["port"])
		}
		cfg.Port = p
	}
	if cfg.Username, err = targetString(name, t, "username"); err != nil {
		return cfg, err
	}
	if cfg.Password, err = targetString(name, t, "password"); err != nil {
		return cfg, err
	}
	if cfg.CAFile, err = targetString(name, t, "ca_file"); err != nil {
		return cfg, err
	}
	if cfg.Fingerprint, err = targetString(name, t, "fingerprint"); err != nil {
		return cfg, err
	}
	if cfg.Insecure, err = actions.OptBoolArg(t, "insecure", false); err != nil {
		return cfg, targetError(name, "insecure", "want a boolean (or \"true\"/\"false\"), got %v", t["insecure"])
	}
	return cfg, nil
}

// hostPort returns the host (without port) and the REST port of the target.
func (t *target) hostPort() (string, int) {
	host, port, err := splitHost(t.cfg.Host, t.cfg.Port)
	if err != nil {
		return t.cfg.Host, t.cfg.Port
	}
	return host, port
}

// server names the target in messages: "name (host:port)".
func (t *target) server() string {
	host, port := t.hostPort()
	return fmt.Sprintf("%s (%s)", t.name, net.JoinHostPort(host, fmt.Sprint(port)))
}

// clientKey identifies a client in the cache: every field of its Config
// but the clock.
type clientKey struct {
	host, user, pass, caFile, fingerprint string
	port                                  int
	insecure                              bool
	timeout                               time.Duration
}

// clientCache keeps one client per configuration, so that a token is
// reused across the calls of a run.
type clientCache struct {
	mu      sync.Mutex
	clients map[clientKey]*cachedClient
}

type cachedClient struct {
	client *Client
	warned sync.Once
}

func (cc *clientCache) get(t *target) (*cachedClient, error) {
	k := clientKey{
		host: t.cfg.Host, user: t.cfg.Username, pass: t.cfg.Password, caFile: t.cfg.CAFile,
		fingerprint: t.cfg.Fingerprint, port: t.cfg.Port, insecure: t.cfg.Insecure, timeout: t.cfg.Timeout,
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if c, ok := cc.clients[k]; ok {
		return c, nil
	}
	cl, err := New(t.cfg)
	if ce, ok := errors.AsType[*ConfigError](err); ok && targetFieldOf[ce.Field] != "" {
		return nil, targetError(t.name, targetFieldOf[ce.Field], "%w", &plainError{msg: ce.Err.Error(), err: ce})
	}
	if err != nil {
		return nil, actions.Permanent(fmt.Errorf("target %q: %w", t.name, err))
	}
	if cc.clients == nil {
		cc.clients = map[clientKey]*cachedClient{}
	}
	c := &cachedClient{client: cl}
	cc.clients[k] = c
	return c, nil
}

// DefaultExecutor runs commands for a target: [actions.ExecutorFor], over
// SSH when the target has an ssh mapping with a user, else on this machine.
func DefaultExecutor(t map[string]any) (remote.Executor, error) {
	return actions.ExecutorFor(t)
}

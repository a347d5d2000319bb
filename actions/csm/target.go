package csm

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

// target is a runbook target resolved for the CSM probes and actions.
type target struct {
	name   string
	fields map[string]any
	cfg    Config // without Clock
}

// targetError is a permanent error about a field of a target.
func targetError(name, field, format string, args ...any) error {
	return actions.Permanent(fmt.Errorf("target %q: %s: %s", name, field, fmt.Sprintf(format, args...)))
}

func targetString(name string, t map[string]any, field string) (string, error) {
	v, ok := present(t, field)
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", targetError(name, field, "want a string, got %s", typeName(v))
	}
	return s, nil
}

// resolveTarget reads the target named by the call's argument "target".
func resolveTarget(call *actions.Call, timeout time.Duration) (*target, error) {
	name, fields, err := call.Target("target")
	if err != nil {
		return nil, actions.Permanent(err)
	}
	cfg, err := configFromTarget(name, fields)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = timeout
	return &target{name: name, fields: fields, cfg: cfg}, nil
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
	if v, ok := present(t, "port"); ok {
		p, ok := toInt(v)
		if !ok || p < 1 || p > 65535 {
			return cfg, targetError(name, "port", "want an integer in 1..65535, got %v", v)
		}
		cfg.Port = p
	}
	if cfg.Username, err = targetString(name, t, "username"); err != nil {
		return cfg, err
	}
	if v, ok := present(t, "password"); ok {
		s, ok := v.(string)
		if !ok {
			return cfg, targetError(name, "password", "want a string, got %s", typeName(v))
		}
		cfg.Password = s
	}
	if cfg.CAFile, err = targetString(name, t, "ca_file"); err != nil {
		return cfg, err
	}
	if cfg.Fingerprint, err = targetString(name, t, "fingerprint"); err != nil {
		return cfg, err
	}
	if v, ok := present(t, "insecure"); ok {
		b, ok := toBool(v)
		if !ok {
			return cfg, targetError(name, "insecure", "want a boolean (or \"true\"/\"false\"), got %v", v)
		}
		cfg.Insecure = b
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

// sshConfig builds the SSH configuration of a target with an ssh mapping
// that names a user; ok is false when the target has none. Errors name the
// field ("ssh.port: ...") but not the target.
func sshConfig(t map[string]any) (cfg remote.SSHConfig, ok bool, err error) {
	v, has := present(t, "ssh")
	if !has {
		return cfg, false, nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return cfg, false, fieldError("ssh", "want a mapping (user, port, key_file, known_hosts, agent), got %s", typeName(v))
	}
	str := func(field string) (string, error) {
		v, has := present(m, field)
		if !has {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fieldError("ssh."+field, "want a string, got %s", typeName(v))
		}
		return s, nil
	}
	if cfg.User, err = str("user"); err != nil || cfg.User == "" {
		return cfg, false, err
	}
	host, _ := t["host"].(string)
	if h, _, err := splitHost(host, 0); err == nil {
		host = h
	}
	if strings.TrimSpace(host) == "" {
		return cfg, false, fieldError("host", "is required")
	}
	cfg.Host = host
	if p, has := present(m, "port"); has {
		n, ok := toInt(p)
		if !ok || n < 1 || n > 65535 {
			return cfg, false, fieldError("ssh.port", "want an integer in 1..65535, got %v", p)
		}
		cfg.Port = n
	}
	if cfg.KeyFile, err = str("key_file"); err != nil {
		return cfg, false, err
	}
	if cfg.KnownHostsFile, err = str("known_hosts"); err != nil {
		return cfg, false, err
	}
	if a, has := present(m, "agent"); has {
		b, ok := toBool(a)
		if !ok {
			return cfg, false, fieldError("ssh.agent", "want a boolean (or \"true\"/\"false\"), got %v", a)
		}
		cfg.UseAgent = b
	}
	return cfg, true, nil
}

func fieldError(field, format string, args ...any) error {
	return actions.Permanent(fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

// DefaultExecutor runs commands for a target: over SSH when the target has
// an ssh mapping with a user (host from the target's host; port, key_file,
// known_hosts and agent from the mapping), else on this machine.
func DefaultExecutor(t map[string]any) (remote.Executor, error) {
	cfg, ok, err := sshConfig(t)
	if err != nil {
		return nil, err
	}
	if !ok {
		return remote.Local{}, nil
	}
	s, err := remote.NewSSH(cfg)
	if err != nil {
		return nil, actions.Permanent(err)
	}
	return s, nil
}

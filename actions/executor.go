package actions

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/csmplan/csmplan/actions/remote"
)

// sshConfig builds the SSH configuration of a target with an ssh mapping
// that names a user; ok is false when the target has none. Errors name the
// field ("ssh.port: ...") but not the target.
func sshConfig(t map[string]any) (cfg remote.SSHConfig, ok bool, err error) {
	if !HasArg(t, "ssh") {
		return cfg, false, nil
	}
	m, isMap := t["ssh"].(map[string]any)
	if !isMap {
		err := ArgTypeError("ssh", "a mapping (user, port, key_file, known_hosts, agent)", t["ssh"])
		return cfg, false, fieldError("ssh", "%w", argProblem(err))
	}
	str := func(field string) (string, error) {
		s, err := OptStringArg(m, field, "")
		if err != nil {
			return "", fieldError("ssh."+field, "%w", argProblem(err))
		}
		return s, nil
	}
	if cfg.User, err = str("user"); err != nil || cfg.User == "" {
		return cfg, false, err
	}
	host, _ := t["host"].(string)
	host = hostOnly(host)
	if host == "" {
		return cfg, false, fieldError("host", "is required")
	}
	cfg.Host = host
	if HasArg(m, "port") {
		n, err := IntArg(m, "port")
		if err != nil || n < 1 || n > 65535 {
			return cfg, false, fieldError("ssh.port", "want an integer in 1..65535, got %v", m["port"])
		}
		cfg.Port = n
	}
	if cfg.KeyFile, err = str("key_file"); err != nil {
		return cfg, false, err
	}
	if cfg.KnownHostsFile, err = str("known_hosts"); err != nil {
		return cfg, false, err
	}
	if cfg.UseAgent, err = OptBoolArg(m, "agent", false); err != nil {
		return cfg, false, fieldError("ssh.agent", "want a boolean (or \"true\"/\"false\"), got %v", m["agent"])
	}
	return cfg, true, nil
}

func fieldError(field, format string, args ...any) error {
	return Permanent(fmt.Errorf("%s: %w", field, fmt.Errorf(format, args...)))
}

// RemoteTargetFields are the target fields [ExecutorFor] reads, host and
// ssh, in the form of [Spec.TargetFields]: the exec action and probe
// declare them, and so does a plugin that runs commands through
// ExecutorFor (the CSM one does).
var RemoteTargetFields = json.RawMessage(`{
  "host": {
    "description": "Host name or address.",
    "type": "string"
  },
  "ssh": {
    "title": "ssh",
    "description": "How to reach the host over SSH for remote execution.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "user": {"description": "SSH user name.", "type": "string"},
      "port": {
        "description": "SSH port (1 to 65535, default 22) or a reference.",
        "type": ["integer", "string"],
        "minimum": 1,
        "maximum": 65535,
        "pattern": "^\\$\\{[^}]+\\}$"
      },
      "key_file": {"description": "File of the private key to authenticate with.", "type": "string"},
      "known_hosts": {"description": "known_hosts file used to verify the host key.", "type": "string"},
      "agent": {
        "description": "Authenticate through the SSH agent (true or false, or a reference).",
        "type": ["boolean", "string"],
        "pattern": "^\\$\\{[^}]+\\}$"
      }
    }
  }
}`)

// ExecutorFor returns the executor that runs commands on a target's host:
// over SSH when the target has an ssh mapping with a user (host from the
// target's host, without a port; ssh.port, ssh.key_file, ssh.known_hosts
// and ssh.agent from the mapping), else [remote.Local] on this machine.
// A nil target means this machine. Errors name the field and are
// permanent.
func ExecutorFor(target map[string]any) (remote.Executor, error) {
	cfg, ok, err := sshConfig(target)
	if err != nil {
		return nil, err
	}
	if !ok {
		return remote.Local{}, nil
	}
	s, err := remote.NewSSH(cfg)
	if err != nil {
		return nil, Permanent(err)
	}
	return s, nil
}

// argProblem returns what err, the error of an argument reader applied to
// target fields, says is wrong, without the `argument "name": ` that does
// not fit a field.
func argProblem(err error) error {
	if ae, ok := errors.AsType[*ArgError](err); ok {
		return ae.Err
	}
	return err
}

// hostOnly returns the host of "host", "host:port", "[v6]" or "[v6]:port"
// (a bare IPv6 address is a host).
func hostOnly(h string) string {
	h = strings.TrimSpace(h)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		return hh
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

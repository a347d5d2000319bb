package remote

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Defaults applied by [NewSSH] to the zero fields of an [SSHConfig].
const (
	DefaultSSHPort    = 22
	DefaultSSHTimeout = 15 * time.Second
)

// Conditions an SSH error can be tested for with errors.Is. The errors
// themselves say which host, user and file are concerned.
var (
	// ErrUnknownHostKey: the known_hosts file has no key for the host.
	ErrUnknownHostKey = errors.New("host key is not in known_hosts")
	// ErrHostKeyMismatch: the known_hosts file has keys for the host, but
	// not the one the server presented.
	ErrHostKeyMismatch = errors.New("host key does not match known_hosts")
	// ErrHostKeyRevoked: the server presented a key marked @revoked.
	ErrHostKeyRevoked = errors.New("host key is revoked in known_hosts")
	// ErrAuthFailed: the server's identity was verified but it accepted
	// none of the credentials offered.
	ErrAuthFailed = errors.New("authentication failed")
	// ErrEncryptedKey: the key file is protected by a passphrase, which
	// this package does not ask for; load the key into ssh-agent and set
	// UseAgent instead.
	ErrEncryptedKey = errors.New("key file is encrypted with a passphrase")
)

// SSHConfig says where and how to connect. Its String and GoString methods
// never show the password, so the value can be logged.
type SSHConfig struct {
	// Host is the server's name or IP address (an IPv6 address without
	// brackets). Required.
	Host string
	// Port is the TCP port. Zero means DefaultSSHPort (22).
	Port int
	// User is the login name on the server. Required.
	User string
	// KeyFile is the path of an unencrypted private key in OpenSSH or PEM
	// format. Read when connecting, not by NewSSH. Empty means no key file.
	KeyFile string
	// KnownHostsFile is the OpenSSH known_hosts file the server's host key
	// is checked against; an unknown or different key is refused. Empty
	// means ~/.ssh/known_hosts. Read when connecting, not by NewSSH.
	KnownHostsFile string
	// UseAgent offers the keys of the ssh-agent found at $SSH_AUTH_SOCK
	// (read when connecting).
	UseAgent bool
	// Password is tried after the keys, for password and single-prompt
	// keyboard-interactive authentication. Empty means none. It never
	// appears in errors or in the String form.
	Password string
	// Timeout bounds connecting: the TCP dial plus the SSH handshake and
	// authentication. It also bounds how long a cancelled Run waits for
	// the server to end the session before dropping the connection. Zero
	// means DefaultSSHTimeout (15s).
	Timeout time.Duration
	// KillGrace is how long a cancelled command has, after SIGTERM, to
	// end before SIGKILL. Zero means the grace that ctx carries (see
	// [WithKillGrace]), else DefaultKillGrace; a negative value means
	// SIGKILL at once.
	KillGrace time.Duration
}

// String renders the configuration for logs, without the password.
func (c SSHConfig) String() string {
	pw := ""
	if c.Password != "" {
		pw = " password=<redacted>"
	}
	return fmt.Sprintf("ssh %s@%s key=%q known_hosts=%q agent=%t%s timeout=%s",
		c.User, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.KeyFile, c.KnownHostsFile, c.UseAgent, pw, c.Timeout)
}

// GoString is String, so that %#v does not print the password either.
func (c SSHConfig) GoString() string { return c.String() }

// SSH runs commands on a remote host over SSH. It keeps one connection open
// and runs each command in a new session on it, reconnecting when the
// connection has been lost; Close releases it. An SSH is safe for concurrent
// use.
//
// The command line sent to the server is built with [Quote]:
//
//	cd 'dir' && env 'K=V' ... 'argv0' 'argv1' ...
//
// so the user's login shell on the server must be a POSIX shell (sh, bash,
// dash, ksh, zsh). A relative Dir is relative to the login directory.
type SSH struct {
	cfg    SSHConfig
	addr   string
	getenv func(string) string

	// connMu is a one-slot semaphore guarding client; a channel so that
	// waiting for it can be abandoned when ctx is done.
	connMu chan struct{}
	client *ssh.Client
}

var _ Executor = (*SSH)(nil)

// NewSSH checks cfg and applies its defaults. It does not touch the network
// or read any file: the first Run connects. All problems are reported at
// once.
func NewSSH(cfg SSHConfig) (*SSH, error) {
	var errs []error
	switch {
	case cfg.Host == "":
		errs = append(errs, errors.New("host is required (field Host)"))
	case strings.HasPrefix(cfg.Host, "[") && strings.HasSuffix(cfg.Host, "]"):
		cfg.Host = cfg.Host[1 : len(cfg.Host)-1]
	}
	if strings.ContainsAny(cfg.Host, "@/ \t\r\n") {
		hint := ""
		if strings.Contains(cfg.Host, "@") {
			hint = "; put the login name in User"
		}
		errs = append(errs, fmt.Errorf("host %q is not a host name or address%s", cfg.Host, hint))
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultSSHPort
	} else if cfg.Port < 0 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d is out of range 1..65535", cfg.Port))
	}
	if cfg.User == "" {
		errs = append(errs, errors.New("user is required (field User)"))
	}
	if cfg.KeyFile == "" && !cfg.UseAgent && cfg.Password == "" {
		errs = append(errs, errors.New("no authentication method: set KeyFile, UseAgent or Password"))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	} else if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSSHTimeout
	}
	if cfg.KnownHostsFile == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			errs = append(errs, fmt.Errorf("field KnownHostsFile is empty and the default ~/.ssh/known_hosts cannot be located: %w", err))
		} else {
			cfg.KnownHostsFile = filepath.Join(home, ".ssh", "known_hosts")
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("remote: ssh config for %q: %w", cfg.Host, problems(errs))
	}
	return &SSH{
		cfg:    cfg,
		addr:   net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		getenv: os.Getenv,
		connMu: make(chan struct{}, 1),
	}, nil
}

// problems is several configuration errors reported as one line.
type problems []error

func (p problems) Error() string {
	msgs := make([]string, len(p))
	for i, err := range p {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the individual problems, for errors.Is and errors.As.
func (p problems) Unwrap() []error { return p }

// String names the target as user@host:port, for messages and logs.
func (s *SSH) String() string { return s.cfg.User + "@" + s.addr }

// Close closes the connection, if one is open. Commands still running on it
// fail with a connection error. A later Run connects again.
func (s *SSH) Close() error {
	s.connMu <- struct{}{}
	c := s.client
	s.client = nil
	<-s.connMu
	if c == nil {
		return nil
	}
	if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("remote: ssh %s: close: %w", s, err)
	}
	return nil
}

// Run runs cmd on the remote host and returns its exit status; a command
// killed by a signal reports 128 plus the signal number. When ctx is done,
// Run sends SIGTERM to the command and, unless it ends within
// [SSHConfig.KillGrace], SIGKILL; it then closes its session, and returns -1
// and an error wrapping ctx.Err(). Errors name the target and never contain
// the password or key material.
//
// OpenSSH's sshd delivers the signal to the command's process group, but
// only in sessions with privilege separation: for a root login it ignores
// it, and the command then ends only when closing the session (its stdin
// reaching EOF, its output breaking) makes it exit.
func (s *SSH) Run(ctx context.Context, cmd Command) (int, error) {
	if err := cmd.validate(); err != nil {
		return -1, fmt.Errorf("remote: ssh %s: %w", s, err)
	}
	prog := cmd.Argv[0]
	if len(cmd.Env) > 0 && strings.Contains(prog, "=") {
		return -1, fmt.Errorf("remote: ssh %s: program %q contains '=', which env would take for a variable", s, prog)
	}
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("remote: ssh %s: %s not started: %w", s, prog, err)
	}

	sess, client, err := s.start(ctx, cmd)
	if err != nil {
		return -1, err
	}
	defer sess.Close()

	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		return s.result(client, prog, err)
	case <-ctx.Done():
	}

	// Best effort: servers that ignore "signal" still end the command when
	// the session closes (its pipes close).
	err = fmt.Errorf("remote: ssh %s: %s: %w", s, prog, ctx.Err())
	if grace := killGrace(ctx, s.cfg.KillGrace); grace > 0 {
		_ = sess.Signal(ssh.SIGTERM)
		t := time.NewTimer(grace)
		select {
		case <-done:
			t.Stop()
			return -1, err
		case <-t.C:
		}
	}
	_ = sess.Signal(ssh.SIGKILL)
	_ = sess.Close()
	timer := time.NewTimer(s.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		// The server does not answer: drop the connection, which ends
		// the session's I/O so no goroutine writes to cmd's streams
		// after Run returns.
		s.drop(client)
		<-done
	}
	return -1, err
}

// start opens a session on the shared connection (reconnecting once if it
// turns out to be dead) and starts cmd in it.
func (s *SSH) start(ctx context.Context, cmd Command) (*ssh.Session, *ssh.Client, error) {
	line := shellLine(cmd)
	for attempt := 0; ; attempt++ {
		client, reused, err := s.connect(ctx)
		if err != nil {
			return nil, nil, err
		}
		sess, broken, err := s.startSession(ctx, client, cmd, line)
		if err == nil {
			return sess, client, nil
		}
		if broken {
			s.drop(client)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, fmt.Errorf("remote: ssh %s: %s not started: %w", s, cmd.Argv[0], ctxErr)
		}
		if !broken || !reused || attempt > 0 {
			return nil, nil, fmt.Errorf("remote: ssh %s: start %s: %w", s, cmd.Argv[0], err)
		}
		// The reused connection was dead; dial a fresh one.
	}
}

// startSession opens a session on client and starts line in it. broken
// reports an error that means the connection itself is unusable (rather
// than the server refusing this session or command).
//
// When ctx is done first, startSession gives the server cfg.Timeout to
// answer (so that other commands sharing the connection are not
// disturbed) and then closes the connection, which a half-open TCP
// connection would otherwise never let go.
func (s *SSH) startSession(ctx context.Context, client *ssh.Client, cmd Command, line string) (sess *ssh.Session, broken bool, err error) {
	type started struct {
		sess   *ssh.Session
		broken bool
		err    error
	}
	result := make(chan started, 1)
	go func() {
		sess, err := client.NewSession()
		if err != nil {
			// An OpenChannelError is the server refusing a session
			// (MaxSessions, ...); anything else is the connection.
			refused := errors.As(err, new(*ssh.OpenChannelError))
			result <- started{nil, !refused, fmt.Errorf("open session: %w", err)}
			return
		}
		// A non-nil Stdin is copied through a pipe that Wait closes,
		// so a Reader that never ends does not keep Run waiting once
		// the command has exited.
		sess.Stdin = cmd.Stdin
		sess.Stdout = cmd.Stdout
		sess.Stderr = cmd.Stderr
		if err := sess.Start(line); err != nil {
			_ = sess.Close()
			// A refused exec request is "ssh: command ... failed"; a
			// dead connection gives io.EOF.
			result <- started{nil, errors.Is(err, io.EOF), fmt.Errorf("exec request: %w", err)}
			return
		}
		result <- started{sess, false, nil}
	}()

	var r started
	select {
	case r = <-result:
		return r.sess, r.broken, r.err
	case <-ctx.Done():
	}
	timer := time.NewTimer(s.cfg.Timeout)
	defer timer.Stop()
	select {
	case r = <-result:
	case <-timer.C:
		_ = client.Close()
		r = <-result
		r.broken = true
	}
	if r.sess != nil {
		// The command started just as ctx ended.
		_ = r.sess.Signal(ssh.SIGKILL)
		_ = r.sess.Close()
	}
	return nil, r.broken, ctx.Err()
}

// result turns the outcome of Session.Wait into Run's results.
func (s *SSH) result(client *ssh.Client, prog string, err error) (int, error) {
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		return exitErr.ExitStatus(), nil
	case errors.As(err, new(*ssh.ExitMissingError)):
		return -1, fmt.Errorf("remote: ssh %s: %s: the server closed the session without an exit status: %w", s, prog, err)
	default:
		// The connection failed, or copying a stream did; start the
		// next command on a fresh connection either way.
		s.drop(client)
		return -1, fmt.Errorf("remote: ssh %s: %s: session failed: %w", s, prog, err)
	}
}

// connect returns the open connection, dialling one if there is none.
// reused reports whether the connection existed before this call.
func (s *SSH) connect(ctx context.Context) (client *ssh.Client, reused bool, err error) {
	select {
	case s.connMu <- struct{}{}:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("remote: ssh %s: waiting for the connection: %w", s, ctx.Err())
	}
	defer func() { <-s.connMu }()
	if s.client != nil {
		return s.client, true, nil
	}
	c, err := s.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	s.client = c
	go func() {
		// Forget the connection as soon as it ends.
		_ = c.Wait()
		s.drop(c)
	}()
	return c, false, nil
}

// drop closes c and forgets it if it is still the shared connection.
func (s *SSH) drop(c *ssh.Client) {
	s.connMu <- struct{}{}
	if s.client == c {
		s.client = nil
	}
	<-s.connMu
	_ = c.Close()
}

// dial connects, verifies the host key and authenticates, all within
// cfg.Timeout.
func (s *SSH) dial(ctx context.Context) (*ssh.Client, error) {
	hostKeys, err := knownhosts.New(s.cfg.KnownHostsFile)
	if err != nil {
		if errors.As(err, new(*fs.PathError)) { // names the file already
			return nil, fmt.Errorf("remote: ssh %s: read known_hosts: %w", s, err)
		}
		return nil, fmt.Errorf("remote: ssh %s: known_hosts file %s: %w", s, s.cfg.KnownHostsFile, err)
	}
	auth, closeAgent, err := s.authMethods()
	if err != nil {
		return nil, err
	}
	defer closeAgent()

	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	timedOut := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("timed out after %s: %w", s.cfg.Timeout, context.DeadlineExceeded)
	}
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", s.addr)
	if err != nil {
		if dctx.Err() != nil {
			return nil, fmt.Errorf("remote: ssh %s: connect: %w", s, timedOut())
		}
		return nil, fmt.Errorf("remote: ssh %s: connect: %w", s, err)
	}
	// The deadline and the AfterFunc both end a stalled handshake; the
	// AfterFunc also reacts to cancellation.
	if dl, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(dctx, func() { _ = conn.Close() })

	checker := &hostKeyChecker{file: s.cfg.KnownHostsFile, known: hostKeys}
	config := &ssh.ClientConfig{
		User:              s.cfg.User,
		Auth:              auth,
		HostKeyCallback:   checker.check,
		HostKeyAlgorithms: knownAlgorithms(hostKeys, s.addr, conn.RemoteAddr()),
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, s.addr, config)
	if !stop() {
		// dctx ended during the handshake and closed conn.
		if err == nil {
			_ = c.Close()
		}
		return nil, fmt.Errorf("remote: ssh %s: handshake: %w", s, timedOut())
	}
	if err != nil {
		_ = conn.Close()
		var hk *HostKeyError
		switch {
		case errors.As(err, &hk):
			return nil, fmt.Errorf("remote: ssh %s: %w", s, hk)
		case checker.verified:
			return nil, fmt.Errorf("remote: ssh %s: %w as %q with %s: %w", s, ErrAuthFailed, s.cfg.User, s.authSummary(), err)
		default:
			return nil, fmt.Errorf("remote: ssh %s: handshake: %w", s, err)
		}
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// authSummary lists the credentials offered, for an authentication error.
// It names the key file but never shows a secret.
func (s *SSH) authSummary() string {
	var parts []string
	if s.cfg.KeyFile != "" {
		parts = append(parts, "key file "+s.cfg.KeyFile)
	}
	if s.cfg.UseAgent {
		parts = append(parts, "ssh-agent keys")
	}
	if s.cfg.Password != "" {
		parts = append(parts, "a password")
	}
	return strings.Join(parts, ", ")
}

// authMethods builds the client's authentication methods. The key file and
// the agent's keys share one publickey method: the client tries each method
// name only once, so a second publickey method would never be used. The
// returned function closes the agent connection.
func (s *SSH) authMethods() ([]ssh.AuthMethod, func(), error) {
	closeAgent := func() {}
	var signers []ssh.Signer
	if s.cfg.KeyFile != "" {
		signer, err := loadKey(s.cfg.KeyFile)
		if err != nil {
			return nil, closeAgent, fmt.Errorf("remote: ssh %s: %w", s, err)
		}
		signers = append(signers, signer)
	}
	var agentClient agent.ExtendedAgent
	if s.cfg.UseAgent {
		sock := s.getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, closeAgent, fmt.Errorf("remote: ssh %s: UseAgent is set but SSH_AUTH_SOCK is empty (is ssh-agent running?)", s)
		}
		d := net.Dialer{Timeout: s.cfg.Timeout}
		conn, err := d.Dial("unix", sock)
		if err != nil {
			return nil, closeAgent, fmt.Errorf("remote: ssh %s: ssh-agent at SSH_AUTH_SOCK=%s: %w", s, sock, err)
		}
		closeAgent = func() { _ = conn.Close() }
		agentClient = agent.NewClient(conn)
	}

	var methods []ssh.AuthMethod
	if len(signers) > 0 || agentClient != nil {
		methods = append(methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			if agentClient == nil {
				return signers, nil
			}
			fromAgent, err := agentClient.Signers()
			if err != nil {
				return nil, fmt.Errorf("ssh-agent: %w", err)
			}
			return append(append([]ssh.Signer(nil), signers...), fromAgent...), nil
		}))
	}
	if pw := s.cfg.Password; pw != "" {
		methods = append(methods,
			ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				// Answer a lone hidden prompt ("Password:") and
				// nothing else.
				if len(questions) == 0 {
					return nil, nil
				}
				if len(questions) == 1 && len(echos) == 1 && !echos[0] {
					return []string{pw}, nil
				}
				return nil, errors.New("keyboard-interactive: unsupported prompts")
			}))
	}
	return methods, closeAgent, nil
}

// loadKey reads an unencrypted private key. Errors name the file, never its
// content.
func loadKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		if errors.As(err, new(*ssh.PassphraseMissingError)) {
			return nil, fmt.Errorf("key file %s: %w; load it into ssh-agent and set UseAgent", path, ErrEncryptedKey)
		}
		return nil, fmt.Errorf("key file %s is not a private key in OpenSSH or PEM format: %w", path, err)
	}
	return signer, nil
}

// HostKeyError reports a host key that the known_hosts file does not
// accept. Err is ErrUnknownHostKey, ErrHostKeyMismatch or ErrHostKeyRevoked.
type HostKeyError struct {
	// Host is the name looked up in known_hosts: "host", or "[host]:port"
	// for a port other than 22.
	Host string
	// File is the known_hosts file.
	File string
	// KeyType and Fingerprint (SHA256:...) describe the key the server
	// presented.
	KeyType, Fingerprint string
	// Known lists the "file:line" of the entries that exist for the host
	// (empty when the host is unknown), or of the @revoked entry.
	Known []string
	// Err is the condition.
	Err error
}

// Error describes the problem and what to do about it in one line.
func (e *HostKeyError) Error() string {
	offered := fmt.Sprintf("the server presented %s %s", e.KeyType, e.Fingerprint)
	switch {
	case errors.Is(e.Err, ErrUnknownHostKey):
		return fmt.Sprintf("%s: no entry for %s in %s (%s); check the fingerprint with the server's administrator, then add the key to that file (for example with ssh-keyscan)",
			e.Err, e.Host, e.File, offered)
	case errors.Is(e.Err, ErrHostKeyRevoked):
		return fmt.Sprintf("%s: %s presented a key revoked at %s (%s)", e.Err, e.Host, strings.Join(e.Known, ", "), offered)
	default:
		return fmt.Sprintf("%s: %s is known at %s with a different key (%s); the server was reinstalled or the connection is being intercepted",
			e.Err, e.Host, strings.Join(e.Known, ", "), offered)
	}
}

// Unwrap returns Err.
func (e *HostKeyError) Unwrap() error { return e.Err }

// hostKeyChecker verifies the server's key against known_hosts and records
// whether it succeeded, to tell authentication failures from others.
type hostKeyChecker struct {
	file     string
	known    ssh.HostKeyCallback
	verified bool
}

func (h *hostKeyChecker) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := h.known(hostname, remote, key)
	if err == nil {
		h.verified = true
		return nil
	}
	hkErr := &HostKeyError{
		Host:        knownhosts.Normalize(hostname),
		File:        h.file,
		KeyType:     key.Type(),
		Fingerprint: ssh.FingerprintSHA256(key),
	}
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		hkErr.Err = ErrUnknownHostKey
	case errors.As(err, &keyErr):
		hkErr.Err = ErrHostKeyMismatch
		for _, k := range keyErr.Want {
			hkErr.Known = append(hkErr.Known, fmt.Sprintf("%s:%d", k.Filename, k.Line))
		}
	case errors.As(err, &revoked):
		hkErr.Err = ErrHostKeyRevoked
		hkErr.Known = []string{fmt.Sprintf("%s:%d", revoked.Revoked.Filename, revoked.Revoked.Line)}
	default:
		return fmt.Errorf("host key check against %s: %w", h.file, err)
	}
	return hkErr
}

// knownAlgorithms returns the host key algorithms matching the key types
// known_hosts holds for addr, so that a server with several host keys
// presents one that can be verified (OpenSSH does the same). Nil, meaning
// the library's defaults, when no key is known.
func knownAlgorithms(known ssh.HostKeyCallback, addr string, remote net.Addr) []string {
	// A key no known_hosts file holds: checking it lists the keys that
	// are known for the host.
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return nil
	}
	var keyErr *knownhosts.KeyError
	if err := known(addr, remote, probe); !errors.As(err, &keyErr) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	for _, k := range keyErr.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

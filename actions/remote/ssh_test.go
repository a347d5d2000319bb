//go:build unix

package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// sshFixture is a test server, a client key it accepts and a matching
// known_hosts file.
type sshFixture struct {
	srv        *testServer
	dir        string
	keyFile    string
	knownHosts string
}

func newSSHFixture(t *testing.T) *sshFixture {
	t.Helper()
	dir := t.TempDir()
	user := newEd25519Key(t)
	srv := newTestServer(t, testServerOptions{authorized: []ssh.PublicKey{user.pub}})
	return &sshFixture{
		srv:        srv,
		dir:        dir,
		keyFile:    user.writePrivate(t, dir, "id_ed25519"),
		knownHosts: writeKnownHosts(t, dir, srv.hostKey.pub, srv.addr),
	}
}

// config returns a configuration that connects to the fixture's server.
func (f *sshFixture) config() SSHConfig {
	return SSHConfig{
		Host:           "127.0.0.1",
		Port:           f.srv.port(),
		User:           "tester",
		KeyFile:        f.keyFile,
		KnownHostsFile: f.knownHosts,
		Timeout:        failAfter,
	}
}

func newTestSSH(t *testing.T, cfg SSHConfig) *SSH {
	t.Helper()
	s, err := NewSSH(cfg)
	if err != nil {
		t.Fatalf("NewSSH: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSSHRun(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	s := newTestSSH(t, f.config())

	var stdout, stderr bytes.Buffer
	code, err := s.Run(context.Background(), Command{
		Argv:   []string{"sh", "-c", "cat; echo to-stderr >&2"},
		Stdin:  strings.NewReader("hello\nworld\n"),
		Stdout: &stdout,
		Stderr: &stderr,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; want 0, nil", code, err)
	}
	if got, want := stdout.String(), "hello\nworld\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := stderr.String(), "to-stderr\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	rec := <-f.srv.execs
	if want := `'sh' '-c' 'cat; echo to-stderr >&2'`; rec.command != want {
		t.Errorf("the server received %q, want %q", rec.command, want)
	}
}

func TestSSHExitCodes(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	s := newTestSSH(t, f.config())
	tests := []struct {
		argv []string
		want int
	}{
		{[]string{"true"}, 0},
		{[]string{"false"}, 1},
		{[]string{"sh", "-c", "exit 42"}, 42},
		{[]string{"csmplan-no-such-program"}, 127},
		{[]string{"sh", "-c", "kill -TERM $$"}, 128 + 15},
	}
	for _, tc := range tests {
		code, err := s.Run(context.Background(), Command{Argv: tc.argv})
		if err != nil {
			t.Errorf("Run(%q): %v", tc.argv, err)
			continue
		}
		if code != tc.want {
			t.Errorf("Run(%q) = %d, want %d", tc.argv, code, tc.want)
		}
	}
	// All commands shared one connection.
	if n := f.srv.accepts(); n != 1 {
		t.Errorf("the server accepted %d connections, want 1 (reused)", n)
	}
}

// trickyArgs are arguments that a naive quoting would break.
var trickyArgs = []string{
	"", " ", "'", `"`, `\`, "''", `'\''`, "a'b'c", "$HOME", "${HOME}", "$(id)", "`id`",
	"*", "?", "[a]", "~", "~root", "!", "!!", "#comment", ";", "&&", "|", ">", "<", "a\nb",
	"tab\there", " leading", "trailing ", "-n", "--", "-e", "%s", "é ü 中文", "\x01\x7f",
}

// roundTrip runs, on ex, a shell script that prints the variable TRICKY,
// the working directory and every argument, NUL-terminated, and returns
// what it printed, split.
func roundTrip(t *testing.T, ex Executor, env map[string]string, dir string, args []string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	argv := append([]string{"sh", "-c", `printf '%s\0' "$TRICKY" "$(pwd -P)" "$@"`, "sh"}, args...)
	code, err := ex.Run(context.Background(), Command{Argv: argv, Env: env, Dir: dir, Stdout: &stdout, Stderr: &stderr})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v (stderr %q); want 0, nil", code, err, stderr.String())
	}
	out := strings.Split(stdout.String(), "\x00")
	if len(out) == 0 || out[len(out)-1] != "" {
		t.Fatalf("output %q is not NUL-terminated", stdout.String())
	}
	return out[:len(out)-1]
}

func TestSSHQuotingRoundTrip(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	s := newTestSSH(t, f.config())

	dir := filepath.Join(t.TempDir(), "it's a \"dir\" $HOME `x`")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	tricky := "it's \"x\" $HOME `id` \\ \n; rm -rf /"
	got := roundTrip(t, s, map[string]string{"TRICKY": tricky, "EMPTY": ""}, dir, trickyArgs)
	want := append([]string{tricky, realDir}, trickyArgs...)
	if len(got) != len(want) {
		t.Fatalf("got %d fields %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestSSHCommandLine(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	s := newTestSSH(t, f.config())
	dir := t.TempDir()
	code, err := s.Run(context.Background(), Command{
		Argv: []string{"true", "it's"},
		Env:  map[string]string{"B": "2", "A": "x y"},
		Dir:  dir,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; want 0, nil", code, err)
	}
	rec := <-f.srv.execs
	want := fmt.Sprintf(`cd '%s' && env 'A=x y' 'B=2' 'true' 'it'\''s'`, dir)
	if rec.command != want {
		t.Errorf("the server received\n%s\nwant\n%s", rec.command, want)
	}
}

func TestSSHHostKeyRejected(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	other := newEd25519Key(t)
	tests := []struct {
		name       string
		knownHosts string
		wantIs     error
		wantInText []string
	}{
		{
			name:       "unknown host",
			knownHosts: writeKnownHosts(t, t.TempDir(), f.srv.hostKey.pub, "192.0.2.1:22"),
			wantIs:     ErrUnknownHostKey,
			wantInText: []string{fmt.Sprintf("[127.0.0.1]:%d", f.srv.port()), "known_hosts", ssh.FingerprintSHA256(f.srv.hostKey.pub)},
		},
		{
			name:       "different key",
			knownHosts: writeKnownHosts(t, t.TempDir(), other.pub, f.srv.addr),
			wantIs:     ErrHostKeyMismatch,
			wantInText: []string{fmt.Sprintf("[127.0.0.1]:%d", f.srv.port()), "known_hosts:2", ssh.FingerprintSHA256(f.srv.hostKey.pub)},
		},
		{
			name:       "revoked key",
			knownHosts: writeFile(t, filepath.Join(t.TempDir(), "known_hosts"), []byte("@revoked * "+string(ssh.MarshalAuthorizedKey(f.srv.hostKey.pub))), 0o600),
			wantIs:     ErrHostKeyRevoked,
			wantInText: []string{"known_hosts:1"},
		},
		{
			name:       "missing known_hosts file",
			knownHosts: filepath.Join(t.TempDir(), "no-such-known_hosts"),
			wantIs:     os.ErrNotExist,
			wantInText: []string{"no-such-known_hosts"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config()
			cfg.KnownHostsFile = tc.knownHosts
			s := newTestSSH(t, cfg)
			code, err := s.Run(context.Background(), Command{Argv: []string{"true"}})
			if err == nil {
				t.Fatalf("Run = %d, nil; want an error", code)
			}
			if !errors.Is(err, tc.wantIs) {
				t.Errorf("error %q is not %v", err, tc.wantIs)
			}
			for _, want := range append(tc.wantInText, tc.knownHosts) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			var hk *HostKeyError
			if tc.wantIs != os.ErrNotExist && !errors.As(err, &hk) {
				t.Errorf("error %q is not a *HostKeyError", err)
			}
		})
	}
	select {
	case rec := <-f.srv.execs:
		t.Errorf("the server ran %q despite the host key being refused", rec.command)
	default:
	}
}

func TestSSHHostKeyAlgorithmFromKnownHosts(t *testing.T) {
	t.Parallel()
	// The server has an ECDSA and an Ed25519 host key and the client
	// library prefers ECDSA; known_hosts only has the Ed25519 one. The
	// client must ask for the known key type rather than fail on a
	// "mismatch".
	dir := t.TempDir()
	user := newEd25519Key(t)
	ecdsaKey, edKey := newECDSAKey(t), newEd25519Key(t)
	srv := newTestServer(t, testServerOptions{
		hostKeys:   []testKey{ecdsaKey, edKey},
		authorized: []ssh.PublicKey{user.pub},
	})
	s := newTestSSH(t, SSHConfig{
		Host:           "127.0.0.1",
		Port:           srv.port(),
		User:           "tester",
		KeyFile:        user.writePrivate(t, dir, "id"),
		KnownHostsFile: writeKnownHosts(t, dir, edKey.pub, srv.addr),
	})
	if code, err := s.Run(context.Background(), Command{Argv: []string{"true"}}); err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; want 0, nil", code, err)
	}
}

func TestSSHAuthentication(t *testing.T) {
	t.Parallel()
	const password = "correct-horse-battery"
	const wrongPassword = "hunter2-wrong-pw"
	dir := t.TempDir()
	authorized := newEd25519Key(t)
	stranger := newEd25519Key(t)
	srv := newTestServer(t, testServerOptions{authorized: []ssh.PublicKey{authorized.pub}, password: password})
	knownHosts := writeKnownHosts(t, dir, srv.hostKey.pub, srv.addr)
	goodKey := authorized.writePrivate(t, dir, "good")
	badKey := stranger.writePrivate(t, dir, "bad")

	agentSock := startAgent(t, authorized)

	tests := []struct {
		name     string
		keyFile  string
		password string
		agent    string // SSH_AUTH_SOCK; "" means UseAgent false
		wantErr  error
	}{
		{name: "key file", keyFile: goodKey},
		{name: "password", password: password},
		{name: "agent", agent: agentSock},
		{name: "wrong key file, right agent key", keyFile: badKey, agent: agentSock},
		{name: "wrong key, right password", keyFile: badKey, password: password},
		{name: "wrong key", keyFile: badKey, wantErr: ErrAuthFailed},
		{name: "wrong password", password: wrongPassword, wantErr: ErrAuthFailed},
		{name: "wrong key and wrong password", keyFile: badKey, password: wrongPassword, wantErr: ErrAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestSSH(t, SSHConfig{
				Host:           "127.0.0.1",
				Port:           srv.port(),
				User:           "tester",
				KeyFile:        tc.keyFile,
				Password:       tc.password,
				UseAgent:       tc.agent != "",
				KnownHostsFile: knownHosts,
				Timeout:        failAfter,
			})
			s.getenv = func(name string) string {
				if name == "SSH_AUTH_SOCK" {
					return tc.agent
				}
				return ""
			}
			code, err := s.Run(context.Background(), Command{Argv: []string{"true"}})
			if tc.wantErr == nil {
				if err != nil || code != 0 {
					t.Fatalf("Run = %d, %v; want 0, nil", code, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run = %d, %v; want an error wrapping %v", code, err, tc.wantErr)
			}
			msg := err.Error()
			for _, want := range []string{"tester", fmt.Sprintf("127.0.0.1:%d", srv.port())} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			for _, secret := range []string{password, wrongPassword} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains the password", msg)
				}
			}
		})
	}
}

// startAgent serves an ssh-agent holding key on a Unix socket and returns the
// socket's path.
func startAgent(t *testing.T, key testKey) string {
	t.Helper()
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key.priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = agent.ServeAgent(keyring, conn)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return sock
}

func TestSSHKeyFileProblems(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	key := newEd25519Key(t)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(key.priv, "", []byte("key-passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	encPEM := pem.EncodeToMemory(block)
	encrypted := writeFile(t, filepath.Join(f.dir, "encrypted"), encPEM, 0o600)
	pubOnly := writeFile(t, filepath.Join(f.dir, "id.pub"), ssh.MarshalAuthorizedKey(key.pub), 0o600)

	tests := []struct {
		name    string
		keyFile string
		wantIs  error
	}{
		{"encrypted", encrypted, ErrEncryptedKey},
		{"public key instead of private", pubOnly, nil},
		{"missing", filepath.Join(f.dir, "missing"), os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := f.config()
			cfg.KeyFile = tc.keyFile
			code, err := newTestSSH(t, cfg).Run(context.Background(), Command{Argv: []string{"true"}})
			if err == nil {
				t.Fatalf("Run = %d, nil; want an error", code)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %q is not %v", err, tc.wantIs)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.keyFile) {
				t.Errorf("error %q does not name the key file", msg)
			}
			for _, secret := range []string{"PRIVATE KEY", "key-passphrase", string(encPEM[40:80])} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains key material %q", msg, secret)
				}
			}
		})
	}
	// Keys are read before dialling: a bad key never reaches the server.
	if n := f.srv.accepts(); n != 0 {
		t.Errorf("the server accepted %d connections, want 0", n)
	}
}

func TestSSHCancel(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	s := newTestSSH(t, f.config())

	// The remote command announces itself, then blocks until killed
	// (tail -f ignores stdin, so closing the session alone would not end
	// it); stdin is a pipe that is never written or closed.
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	stdoutR, stdoutW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := s.Run(ctx, Command{Argv: []string{"sh", "-c", "echo ready; exec tail -f /dev/null"}, Stdin: stdinR, Stdout: stdoutW})
		stdoutW.Close()
		done <- result{code, err}
	}()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("first line = %q, %v; want ready", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()

	cancel()
	select {
	case r := <-done:
		if !errors.Is(r.err, context.Canceled) || r.code != -1 {
			t.Errorf("Run = %d, %v; want -1 and an error wrapping context.Canceled", r.code, r.err)
		}
	case <-time.After(failAfter):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case rec := <-f.srv.execs:
		if !rec.signaled {
			t.Errorf("remote command ended with exit code %d, want killed by a signal", rec.exitCode)
		}
	case <-time.After(failAfter):
		t.Fatal("the remote command was not killed")
	}

	// The connection is still usable.
	if code, err := s.Run(context.Background(), Command{Argv: []string{"true"}}); err != nil || code != 0 {
		t.Errorf("Run after cancel = %d, %v; want 0, nil", code, err)
	}
}

func TestSSHCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	s := newTestSSH(t, f.config())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Run(ctx, Command{Argv: []string{"true"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := f.srv.accepts(); n != 0 {
		t.Errorf("the server accepted %d connections, want 0", n)
	}
}

func TestSSHReconnect(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	s := newTestSSH(t, f.config())
	run := func() {
		t.Helper()
		var out bytes.Buffer
		code, err := s.Run(context.Background(), Command{Argv: []string{"echo", "ok"}, Stdout: &out})
		if err != nil || code != 0 || out.String() != "ok\n" {
			t.Fatalf("Run = %d, %v, output %q; want 0, nil, ok", code, err, out.String())
		}
	}
	run()
	run()
	if n := f.srv.accepts(); n != 1 {
		t.Fatalf("accepted %d connections after two runs, want 1", n)
	}
	f.srv.dropConnections()
	run()
	if n := f.srv.accepts(); n != 2 {
		t.Fatalf("accepted %d connections after a drop, want 2", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	run()
	if n := f.srv.accepts(); n != 3 {
		t.Fatalf("accepted %d connections after Close, want 3", n)
	}
}

func TestSSHConcurrentRuns(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	s := newTestSSH(t, f.config())
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			var out bytes.Buffer
			code, err := s.Run(context.Background(), Command{Argv: []string{"sh", "-c", "echo $0", fmt.Sprint(i)}, Stdout: &out})
			switch {
			case err != nil:
				errs <- err
			case code != 0 || out.String() != fmt.Sprintf("%d\n", i):
				errs <- fmt.Errorf("run %d: code %d, output %q", i, code, out.String())
			default:
				errs <- nil
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := f.srv.accepts(); got != 1 {
		t.Errorf("%d concurrent runs opened %d connections, want 1", n, got)
	}
}

func TestSSHConnectErrors(t *testing.T) {
	t.Parallel()
	// A port nobody listens on: take one and release it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	s := newTestSSH(t, SSHConfig{
		Host: "127.0.0.1", Port: port, User: "u", Password: "pw-secret-123",
		KnownHostsFile: writeFile(t, filepath.Join(dir, "known_hosts"), nil, 0o600),
	})
	_, err = s.Run(context.Background(), Command{Argv: []string{"true"}})
	if err == nil {
		t.Fatal("Run succeeded against a closed port")
	}
	if want := fmt.Sprintf("u@127.0.0.1:%d", port); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	if strings.Contains(err.Error(), "pw-secret-123") {
		t.Errorf("error %q contains the password", err)
	}
}

func TestSSHHandshakeTimeout(t *testing.T) {
	t.Parallel()
	// A server that accepts TCP connections but never speaks SSH.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	})
	dir := t.TempDir()
	s := newTestSSH(t, SSHConfig{
		Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: "u", Password: "x",
		KnownHostsFile: writeFile(t, filepath.Join(dir, "known_hosts"), nil, 0o600),
		Timeout:        failAfter,
	})
	// Cancellation ends the stalled handshake (the Timeout would too,
	// later).
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		c := <-accepted
		accepted <- c
		cancel()
	}()
	_, err = s.Run(ctx, Command{Argv: []string{"true"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSSHBadCommands(t *testing.T) {
	t.Parallel()
	s, err := NewSSH(SSHConfig{Host: "127.0.0.1", User: "u", Password: "x", KnownHostsFile: "/nonexistent"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cmd     Command
		wantErr string
	}{
		{"empty argv", Command{}, "empty argv"},
		{"NUL", Command{Argv: []string{"echo", "\x00"}}, "NUL"},
		{"NUL in env", Command{Argv: []string{"true"}, Env: map[string]string{"A": "\x00"}}, "NUL"},
		{"bad env name", Command{Argv: []string{"true"}, Env: map[string]string{"-i": "x"}}, `"-i"`},
		{"program with = and env", Command{Argv: []string{"A=B"}, Env: map[string]string{"X": "1"}}, "contains '='"},
	}
	for _, tc := range tests {
		// No server: validation must fail before any connection.
		code, err := s.Run(context.Background(), tc.cmd)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || code != -1 {
			t.Errorf("%s: Run = %d, %v; want -1 and an error mentioning %q", tc.name, code, err, tc.wantErr)
		}
	}
}

func TestNewSSH(t *testing.T) {
	t.Parallel()
	s, err := NewSSH(SSHConfig{Host: "db1.example", User: "admin", KeyFile: "/k"})
	if err != nil {
		t.Fatalf("NewSSH: %v", err)
	}
	if s.cfg.Port != DefaultSSHPort || s.cfg.Timeout != DefaultSSHTimeout {
		t.Errorf("defaults: port %d timeout %s, want %d %s", s.cfg.Port, s.cfg.Timeout, DefaultSSHPort, DefaultSSHTimeout)
	}
	home, err := os.UserHomeDir()
	if err == nil && s.cfg.KnownHostsFile != filepath.Join(home, ".ssh", "known_hosts") {
		t.Errorf("default known_hosts = %q, want ~/.ssh/known_hosts", s.cfg.KnownHostsFile)
	}
	if got, want := s.String(), "admin@db1.example:22"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	v6, err := NewSSH(SSHConfig{Host: "[::1]", Port: 2222, User: "u", UseAgent: true})
	if err != nil {
		t.Fatalf("NewSSH with an IPv6 host: %v", err)
	}
	if got, want := v6.String(), "u@[::1]:2222"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	const secret = "s3cret-Passw0rd"
	tests := []struct {
		name string
		cfg  SSHConfig
		want []string
	}{
		{"empty", SSHConfig{}, []string{"host is required (field Host)", "user is required (field User)", "no authentication method"}},
		{"user in host", SSHConfig{Host: "root@h", User: "root", Password: secret}, []string{`host "root@h"`, "put the login name in User"}},
		{"bad port", SSHConfig{Host: "h", Port: 70000, User: "u", Password: secret}, []string{"port 70000"}},
		{"negative port", SSHConfig{Host: "h", Port: -1, User: "u", Password: secret}, []string{"port -1"}},
		{"negative timeout", SSHConfig{Host: "h", User: "u", Password: secret, Timeout: -time.Second}, []string{"timeout -1s"}},
		{"no user", SSHConfig{Host: "h", Password: secret}, []string{"user is required"}},
	}
	for _, tc := range tests {
		_, err := NewSSH(tc.cfg)
		if err == nil {
			t.Errorf("%s: NewSSH succeeded, want an error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %q contains the password", tc.name, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q is not one line", tc.name, err)
		}
	}
}

func TestSSHConfigStringHidesPassword(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-Passw0rd"
	cfg := SSHConfig{Host: "h", Port: 22, User: "u", Password: secret}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, cfg)
		if strings.Contains(out, secret) {
			t.Errorf("Sprintf(%q) = %q shows the password", format, out)
		}
		if !strings.Contains(out, "u@h:22") || !strings.Contains(out, "redacted") {
			t.Errorf("Sprintf(%q) = %q, want the target and a redacted password", format, out)
		}
	}
	if out := fmt.Sprintf("%v", &cfg); strings.Contains(out, secret) {
		t.Errorf("Sprintf(%%v, &cfg) = %q shows the password", out)
	}
}

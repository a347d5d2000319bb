//go:build unix

package remote

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testKey is a generated key pair with its SSH forms.
type testKey struct {
	priv   crypto.Signer
	signer ssh.Signer
	pub    ssh.PublicKey
}

func newEd25519Key(t *testing.T) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newTestKey(t, priv)
}

func newECDSAKey(t *testing.T) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newTestKey(t, priv)
}

func newTestKey(t *testing.T, priv crypto.Signer) testKey {
	t.Helper()
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: priv, signer: signer, pub: signer.PublicKey()}
}

// writePrivate writes k as an unencrypted OpenSSH private key file (mode
// 0600) in dir and returns its path.
func (k testKey) writePrivate(t *testing.T, dir, name string) string {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(k.priv, "csmplan test key")
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600)
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeKnownHosts writes a known_hosts file in dir listing key for each of
// the addresses (host:port) and returns its path.
func writeKnownHosts(t *testing.T, dir string, key ssh.PublicKey, addrs ...string) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("# csmplan test known_hosts\n")
	for _, a := range addrs {
		b.WriteString(knownhosts.Line([]string{knownhosts.Normalize(a)}, key))
		b.WriteByte('\n')
	}
	return writeFile(t, filepath.Join(dir, "known_hosts"), b.Bytes(), 0o600)
}

// testServerOptions configures a testServer.
type testServerOptions struct {
	// hostKeys are the server's host keys; default one new ed25519 key.
	hostKeys []testKey
	// authorized are the public keys accepted for any user.
	authorized []ssh.PublicKey
	// password, when set, is accepted by password authentication.
	password string
}

// execRecord is what the server saw of one exec request.
type execRecord struct {
	command  string
	exitCode int  // -1 when killed by a signal
	signaled bool // the process died of a signal
}

// testServer is an SSH server on 127.0.0.1 built with x/crypto/ssh. It
// handles "exec" requests by running the command with /bin/sh -c on this
// machine (in its own process group), forwards stdin/stdout/stderr, answers
// with "exit-status", sends the process group the signal a "signal" request
// names (TERM or KILL; any other is KILL), and kills the group when the
// client closes the channel.
type testServer struct {
	t       *testing.T
	addr    string
	hostKey testKey // the first host key
	config  *ssh.ServerConfig
	ln      net.Listener

	// execs receives a record each time a command has finished.
	execs chan execRecord

	mu       sync.Mutex
	conns    []net.Conn
	accepted int
	wg       sync.WaitGroup
}

func newTestServer(t *testing.T, opts testServerOptions) *testServer {
	t.Helper()
	if len(opts.hostKeys) == 0 {
		opts.hostKeys = []testKey{newEd25519Key(t)}
	}
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range opts.authorized {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("key not authorized")
		},
	}
	if opts.password != "" {
		config.PasswordCallback = func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) == opts.password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	for _, k := range opts.hostKeys {
		config.AddHostKey(k.signer)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{
		t:       t,
		addr:    ln.Addr().String(),
		hostKey: opts.hostKeys[0],
		config:  config,
		ln:      ln,
		execs:   make(chan execRecord, 100),
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// accepts returns how many TCP connections the server has accepted.
func (s *testServer) accepts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// dropConnections closes every open connection from the server side.
func (s *testServer) dropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

func (s *testServer) close() {
	_ = s.ln.Close()
	s.dropConnections()
	s.wg.Wait()
}

func (s *testServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, conn)
		s.accepted++
		s.mu.Unlock()
		s.wg.Add(1)
		go s.handleConn(conn)
	}
}

func (s *testServer) handleConn(conn net.Conn) {
	defer s.wg.Done()
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		return // failed handshake or authentication: the client reports it
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go s.handleSession(ch, chReqs)
	}
}

func (s *testServer) handleSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer s.wg.Done()
	var (
		cmd      *exec.Cmd
		finished = make(chan struct{})
	)
	signalGroup := func(sig syscall.Signal) {
		if cmd != nil {
			_ = syscall.Kill(-cmd.Process.Pid, sig)
		}
	}
	killGroup := func() { signalGroup(syscall.SIGKILL) }
	for req := range reqs {
		switch req.Type {
		case "exec":
			var payload struct{ Command string }
			if cmd != nil || ssh.Unmarshal(req.Payload, &payload) != nil {
				_ = req.Reply(false, nil)
				continue
			}
			c, err := s.startCommand(ch, payload.Command)
			if err != nil {
				_ = req.Reply(false, nil)
				continue
			}
			cmd = c
			_ = req.Reply(true, nil)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer close(finished)
				s.finishCommand(ch, c, payload.Command)
			}()
		case "signal":
			var payload struct{ Signal string }
			sig := syscall.SIGKILL
			if ssh.Unmarshal(req.Payload, &payload) == nil && payload.Signal == string(ssh.SIGTERM) {
				sig = syscall.SIGTERM
			}
			signalGroup(sig)
			if req.WantReply {
				_ = req.Reply(true, nil)
			}
		default:
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
	// The client closed the channel (or the connection ended).
	killGroup()
	if cmd != nil {
		<-finished
	}
	_ = ch.Close()
}

func (s *testServer) startCommand(ch ssh.Channel, command string) (*exec.Cmd, error) {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	return cmd, nil
}

func (s *testServer) finishCommand(ch ssh.Channel, cmd *exec.Cmd, command string) {
	_ = cmd.Wait()
	rec := execRecord{command: command, exitCode: cmd.ProcessState.ExitCode()}
	status := rec.exitCode
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		rec.signaled = true
		status = 128 + int(ws.Signal())
	}
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
	_ = ch.Close()
	s.execs <- rec
}

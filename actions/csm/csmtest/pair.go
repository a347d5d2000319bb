package csmtest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm"
)

// Pair is a simulated CSM installation: an HA pair (primary and secondary)
// or a single server. Create it with [NewPair]; Close it when done. All its
// methods are safe for concurrent use.
type Pair struct {
	opts    Options
	clock   actions.Clock
	ca      *authority
	caDir   string
	caFile  string
	keyFile string    // holds the control key, so that no command line shows it
	servers []*Server // primary first
	wg      sync.WaitGroup

	mu sync.Mutex // guards everything below and the model fields of the servers
	m  model
}

// Server is one simulated CSM management server: a TLS HTTP server on a
// loopback address with a random port.
type Server struct {
	p    *Pair
	name string
	host string
	port int
	ln   net.Listener
	srv  *http.Server
	mux  *http.ServeMux

	haPort int // the HA port reported in /system/ha (HAPort, or per server when the hosts are shared)

	boot uint64 // bumped when the server goes down or comes up; guarded by p.mu

	connMu sync.Mutex
	idle   map[net.Conn]bool // connections between requests: closed when the server goes down

	// model state, guarded by p.mu
	cert     *tls.Certificate // what the TLS listener presents (replaced by fault cert-renewed)
	tasks    []*task          // this server's scheduled task table
	role     string
	version  string
	state    serverState
	epoch    uint64 // order of becoming Active: the higher wins a reconnect
	seenRole string // the partner's role as last seen while connected
	install  installRun
	installs int // installers started on this server (not those refused)
	tokens   map[string]*token
	logins   Logins
	backups  []csm.Backup
}

// NewPair starts a simulated pair (or a single server when !opts.Standby).
// Unknown fault names and invalid options are errors.
func NewPair(opts Options) (*Pair, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.ControlKey == "" {
		o.ControlKey = rand.Text()
	}
	var ca *authority
	if o.CA != nil {
		ca = o.CA.a
	} else if ca, err = newAuthority(); err != nil {
		return nil, err
	}
	p := &Pair{opts: o, clock: o.Clock, ca: ca}
	p.caDir, err = os.MkdirTemp("", "csmtest-ca-")
	if err != nil {
		return nil, fmt.Errorf("csmtest: CA directory: %w", err)
	}
	p.caFile = filepath.Join(p.caDir, "ca.pem")
	if err := os.WriteFile(p.caFile, ca.pem, 0o600); err != nil {
		p.Close()
		return nil, fmt.Errorf("csmtest: write CA: %w", err)
	}
	p.keyFile = filepath.Join(p.caDir, "control.key")
	if err := os.WriteFile(p.keyFile, []byte(o.ControlKey+"\n"), 0o600); err != nil {
		p.Close()
		return nil, fmt.Errorf("csmtest: write the control key: %w", err)
	}
	names := []string{"primary"}
	if o.Standby {
		names = append(names, "secondary")
	}
	for i, name := range names {
		s, err := p.newServer(name, i)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.servers = append(p.servers, s)
	}
	p.mu.Lock()
	p.initLocked()
	p.mu.Unlock()
	for _, s := range p.servers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			_ = s.srv.Serve(s.ln) // returns http.ErrServerClosed on Close
		}()
	}
	return p, nil
}

// serverHosts are the loopback addresses of the servers, primary first:
// distinct, so that both share one HA port as a real pair does (on Linux
// every 127.x.y.z answers).
var serverHosts = []string{"127.0.0.1", "127.0.0.2"}

// newServer starts the i-th server. When its own loopback address cannot be
// listened on (systems where only 127.0.0.1 answers), it shares 127.0.0.1
// and gets an HA port of its own (HAPort+i) to tell it apart.
func (p *Pair) newServer(name string, i int) (*Server, error) {
	cert, err := p.ca.leaf(name)
	if err != nil {
		return nil, err
	}
	host, haPort := serverHosts[i], HAPort
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil && host != serverHosts[0] {
		host, haPort = serverHosts[0], HAPort+i
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("csmtest: %s: listen: %w", name, err)
	}
	s := &Server{
		p:      p,
		name:   name,
		host:   host,
		port:   ln.Addr().(*net.TCPAddr).Port,
		haPort: haPort,
		cert:   &cert,
		tokens: map[string]*token{},
	}
	cfg := &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.advanceLocked()
			return s.cert, nil
		},
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"}, // HTTP/1.1 only: hijacking must work
	}
	s.ln = tls.NewListener(ln, cfg)
	s.mux = s.routes()
	s.srv = &http.Server{
		ConnState:         s.connState,
		ConnContext:       s.connContext,
		Handler:           s,
		TLSConfig:         cfg,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	return s, nil
}

type bootKey struct{}

// connContext marks a connection with the server's boot generation: a
// connection accepted before the server last went down or came up belongs
// to a process that is gone, and every request on it is reset.
func (s *Server) connContext(ctx context.Context, _ net.Conn) context.Context {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.advanceLocked()
	return context.WithValue(ctx, bootKey{}, s.boot)
}

// stale reports whether r came on a connection from an earlier boot;
// guarded by p.mu.
func (s *Server) stale(r *http.Request) bool {
	b, ok := r.Context().Value(bootKey{}).(uint64)
	return ok && b != s.boot
}

func (s *Server) connState(c net.Conn, st http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if st == http.StateIdle {
		if s.idle == nil {
			s.idle = map[net.Conn]bool{}
		}
		s.idle[c] = true
	} else {
		delete(s.idle, c)
	}
}

// dropIdle closes the connections that wait for a next request, as a server
// that stops drops them: a client must connect (and verify the server's
// certificate) again.
func (s *Server) dropIdle() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c := range s.idle {
		_ = c.Close()
		delete(s.idle, c)
	}
}

// renewCert replaces the server's certificate with a new self-signed one
// (fault cert-renewed); guarded by p.mu.
func (s *Server) renewCert() error {
	cert, err := selfSigned(s.name, s.host)
	if err != nil {
		return err
	}
	s.cert = &cert
	return nil
}

// Fingerprint returns the SHA-256 fingerprint of the certificate the server
// presents now, as csm.Config.Fingerprint takes it.
func (s *Server) Fingerprint() string {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.advanceLocked()
	return csm.Fingerprint(s.cert.Certificate[0])
}

// HAPort returns the HA port the server reports (localhaport): HAPort, the
// same on both servers, unless they share one loopback address.
func (s *Server) HAPort() int { return s.haPort }

// Close stops both servers and removes the CA file. It is safe to call more
// than once.
func (p *Pair) Close() {
	for _, s := range p.servers {
		_ = s.srv.Close()
	}
	p.wg.Wait()
	if p.caDir != "" {
		_ = os.RemoveAll(p.caDir)
	}
}

// Primary returns the primary server (the only one without DR).
func (p *Pair) Primary() *Server { return p.servers[0] }

// Secondary returns the secondary server, or nil for a single server.
func (p *Pair) Secondary() *Server {
	if len(p.servers) < 2 {
		return nil
	}
	return p.servers[1]
}

// Servers returns the servers, primary first.
func (p *Pair) Servers() []*Server { return slices.Clone(p.servers) }

// Username returns the user name the servers accept.
func (p *Pair) Username() string { return p.opts.Username }

// Password returns the password the servers accept.
func (p *Pair) Password() string { return p.opts.Password }

// Version returns the version both servers started at.
func (p *Pair) Version() string { return p.opts.Version }

// TargetVersion returns the version the installer of [Pair.InstallerArgv]
// installs (Options.TargetVersion).
func (p *Pair) TargetVersion() string { return p.opts.TargetVersion }

// ControlKey returns the key of the control endpoint.
func (p *Pair) ControlKey() string { return p.opts.ControlKey }

// ControlKeyFile returns the file (mode 0600, in the pair's directory) that
// holds the control key: the control program reads it (--key-file), so
// that the key is never on a command line, where ps and logs would show it.
func (p *Pair) ControlKeyFile() string { return p.keyFile }

// CAPEM returns the PEM certificate of the CA that signed the servers'
// certificates.
func (p *Pair) CAPEM() []byte { return slices.Clone(p.ca.pem) }

// CAFile returns the path of a file holding [Pair.CAPEM], owned by the pair
// and removed by Close.
func (p *Pair) CAFile() string { return p.caFile }

// WriteCA writes [Pair.CAPEM] to path.
func (p *Pair) WriteCA(path string) error {
	if err := os.WriteFile(path, p.ca.pem, 0o644); err != nil {
		return fmt.Errorf("csmtest: write CA: %w", err)
	}
	return nil
}

// Name returns "primary" or "secondary".
func (s *Server) Name() string { return s.name }

// Addr returns "HOST:PORT": the server's loopback address (127.0.0.1 for
// the primary, 127.0.0.2 for the secondary where it can listen there) and
// its REST port.
func (s *Server) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Host returns the server's loopback address, such as 127.0.0.2: the name
// its partner reports in serverinfo.
func (s *Server) Host() string { return s.host }

// Port returns the server's port (the REST port: the simulator's stand-in
// for 9559).
func (s *Server) Port() int { return s.port }

// URL returns "https://HOST:PORT"; the REST API lives under /CSM/web.
func (s *Server) URL() string { return "https://" + s.Addr() }

// Env returns the environment the control program needs to act on s:
// CSM_HOST and CSM_PORT.
func (s *Server) Env() map[string]string {
	return map[string]string{"CSM_HOST": s.host, "CSM_PORT": strconv.Itoa(s.port)}
}

// Role returns the server's HA role now (Active or Standby).
func (s *Server) Role() string {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.advanceLocked()
	return s.role
}

// Version returns the version the server runs (or will run when it comes
// back up).
func (s *Server) Version() string {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.advanceLocked()
	return s.version
}

// Logins counts the token requests (logins) a server answered.
type Logins struct {
	Attempts int // every login
	Failed   int // refused: wrong user name or password
}

// Logins returns how many logins the server answered so far, and how many
// of them it refused.
func (s *Server) Logins() Logins {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.logins
}

// Installs returns how many installers started on the server (an install
// the server refused or that failed at once, fault installer-fails, does not
// count): an upgrade runs it once per server, and a resumed upgrade must
// not run it again.
func (s *Server) Installs() int {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.installs
}

// Up reports whether the server is up (answering the REST API).
func (s *Server) Up() bool {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.advanceLocked()
	return s.state == stateUp
}

// String returns the server's name and address.
func (s *Server) String() string { return s.name + " (" + s.Addr() + ")" }

// Inject activates a fault at run time (see the Fault* constants).
func (p *Pair) Inject(name string) error {
	if err := checkFault(name); err != nil {
		return fmt.Errorf("csmtest: inject: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advanceLocked()
	p.injectLocked(name)
	p.checkLocked()
	return nil
}

// Clear deactivates a fault.
func (p *Pair) Clear(name string) error {
	if err := checkFault(name); err != nil {
		return fmt.Errorf("csmtest: clear: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advanceLocked()
	p.clearLocked(name)
	p.checkLocked()
	return nil
}

// ActiveFaults returns the active faults, sorted.
func (p *Pair) ActiveFaults() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for f, on := range p.m.faults {
		if on {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// Requests returns the number of REST API requests (under /CSM/web) the
// servers received, including those answered by a connection reset.
func (p *Pair) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m.requests
}

// InstallerArgv returns the command line of the simulated installer for
// the target version: [exe, prefix..., "install", "--version",
// TargetVersion, "--ca", CAFile, "--key-file", ControlKeyFile]. The program exe must
// call [ControlMain] with the arguments after prefix, and CSM_HOST and
// CSM_PORT must name the server to upgrade (see [Server.Env]).
func (p *Pair) InstallerArgv(exe string, prefix ...string) []string {
	argv := append([]string{exe}, prefix...)
	return append(argv, "install", "--version", p.opts.TargetVersion, "--ca", p.caFile, "--key-file", p.keyFile)
}

// ServerArgv returns the command line of the site's stop or start script
// for the simulated servers: [exe, prefix..., op, "--ca", CAFile,
// "--key-file", ControlKeyFile]. op is "stop" or "start" (anything else fails when run); an
// empty op is left out, and the program then takes it from CSM_SERVER_OP
// (which the csm.server action sets), so one argv serves both.
func (p *Pair) ServerArgv(exe, op string, prefix ...string) []string {
	argv := append([]string{exe}, prefix...)
	if op != "" {
		argv = append(argv, op)
	}
	return append(argv, "--ca", p.caFile, "--key-file", p.keyFile)
}

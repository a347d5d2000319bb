package csm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/csmplan/csmplan/actions"
)

// Defaults of [Config].
const (
	// DefaultPort is the CSM web GUI and REST port.
	DefaultPort = 9559
	// DefaultTimeout is the time limit of one request.
	DefaultTimeout = 30 * time.Second
	// DefaultRetries is how many times an idempotent read is retried after
	// a transient network error.
	DefaultRetries = 3
	// BasePath is the path of the REST API on the server.
	BasePath = "/CSM/web"
)

// Backoff between retries: 1s, 2s, 4s, then 8s, on the client's clock.
const (
	retryBackoff    = time.Second
	retryBackoffMax = 8 * time.Second
	maxReplyBytes   = 32 << 20
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrAuth: the server refused the credentials (HTTP 401 or 403 after a
	// fresh token, or a token request answered with an E/S message).
	ErrAuth = errors.New("authentication failed")
	// ErrUnavailable: the server could not be reached (connection refused
	// or reset, EOF, timeout) after the retries, or answered HTTP 502, 503
	// or 504.
	ErrUnavailable = errors.New("server unavailable")
	// ErrRejected: the server answered with a message of severity E (error)
	// or S (severe), whatever the HTTP status.
	ErrRejected = errors.New("request rejected")
	// ErrTLS: the server's certificate failed verification (unknown
	// authority, wrong host name, fingerprint mismatch) or the server does
	// not speak TLS.
	ErrTLS = errors.New("TLS verification failed")
	// ErrLoginLimit: the server refused the client's logins
	// Config.MaxFailedLogins times, so the client does not log in again
	// (it makes no request): trying a wrong password on and on may lock
	// the CSM account. It matches ErrAuth too, and wraps the last refusal.
	ErrLoginLimit = errors.New("too many refused logins")
	// ErrNoTLSConfig: the Config gives no way to verify the server's
	// certificate (no CA bundle, no fingerprint, and Insecure not set).
	ErrNoTLSConfig = errors.New("no way to verify the server's TLS certificate")
)

// Config says how to reach and authenticate to one CSM server. Exactly how
// the server's certificate is verified: with Fingerprint, the leaf
// certificate must match it, and the pin alone decides (it names one
// certificate: a CA bundle given too is for servers without a pin, so that
// one renewed self-signed certificate can be pinned while the CA still
// verifies the other server of a pair); with only a CA bundle, the usual
// chain and host name checks apply; with neither, Insecure must be set
// explicitly, and then nothing is verified and [Client.Warning] says so.
type Config struct {
	// Host is the server's host name or address, optionally with a port:
	// "csm1.example.com", "10.0.0.5:9559", "fd00::5", "[fd00::5]:9559".
	// Required.
	Host string
	// Port is the REST port. Zero means 9559. A port inside Host wins.
	Port int
	// Username and Password are the CSM user's credentials, exchanged for
	// a token. They never appear in errors.
	Username, Password string
	// CAFile is a PEM file of CA certificates to verify the server with.
	CAFile string
	// CAPEM is PEM-encoded CA certificates, added to those of CAFile.
	CAPEM []byte
	// Fingerprint pins the server certificate: the SHA-256 of its DER
	// encoding as 64 hex digits, colons and spaces allowed
	// ("AB:CD:..."), as `openssl x509 -noout -fingerprint -sha256` shows.
	// A pinned certificate is trusted whatever the CA bundle says.
	Fingerprint string
	// Insecure disables certificate verification. It is honoured only when
	// neither a CA bundle nor a fingerprint is given, and it is loud: see
	// [Client.Warning].
	Insecure bool
	// Timeout limits each request, including reading the reply (the backup
	// download too). Zero means 30s.
	Timeout time.Duration
	// Clock paces the backoff between retries. Nil means
	// [actions.RealClock].
	Clock actions.Clock
	// Retries is how many times an idempotent read (GET, and the token
	// request) is retried after a transient network error or an HTTP 502,
	// 503 or 504. Zero means 3; a negative value means no retries.
	// Commands (PUT, POST) are never retried.
	Retries int
	// MaxFailedLogins bounds the logins (token requests) the server may
	// refuse (ErrAuth) over the life of the client: after that many, every
	// request fails at once with ErrLoginLimit, without contacting the
	// server, so that a wrong password cannot lock the CSM account. The
	// CSM probes and actions keep one client per server and credentials
	// for the life of their registry: in the command line, per server per
	// run. Zero means DefaultMaxFailedLogins; a negative value means no
	// bound.
	MaxFailedLogins int
}

// DefaultMaxFailedLogins is the default of Config.MaxFailedLogins: few
// enough that an account lockout policy which counts failed logins is not
// reached by one run, enough that a server which refuses a login now and
// then does not end an upgrade.
const DefaultMaxFailedLogins = 3

// Client is a CSM REST client for one server. It is safe for concurrent
// use. New makes no network call; the first request fetches a token.
type Client struct {
	addr    string // host:port, for messages
	base    string // https://host:port/CSM/web
	user    string
	pass    string
	timeout time.Duration
	retries int
	clock   actions.Clock
	hc      *http.Client
	warning string

	authSem chan struct{} // one token request at a time
	mu      sync.Mutex    // guards tok
	tok     string

	// Refused logins, guarded by authSem: their number, the bound
	// (Config.MaxFailedLogins; 0: none) and the last refusal.
	refused     int
	maxRefused  int
	lastRefusal error
}

// New checks cfg and returns a client. It reads CAFile but makes no
// network call. It fails when cfg gives no way to verify the server's
// certificate (see [ErrNoTLSConfig]).
func New(cfg Config) (*Client, error) {
	host, port, err := splitHost(cfg.Host, cfg.Port)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	tc, warning, err := tlsConfig(cfg, host, addr)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("csm: config: Timeout %v is negative", cfg.Timeout)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	retries := cfg.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	maxRefused := cfg.MaxFailedLogins
	switch {
	case maxRefused == 0:
		maxRefused = DefaultMaxFailedLogins
	case maxRefused < 0:
		maxRefused = 0
	}
	clk := cfg.Clock
	if clk == nil {
		clk = actions.RealClock{}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	hc := &http.Client{
		Transport: tr,
		// A redirect would carry X-Auth-Token elsewhere: never follow one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{
		addr:    addr,
		base:    "https://" + addr + BasePath,
		user:    cfg.Username,
		pass:    cfg.Password,
		timeout: timeout,
		retries: retries,
		clock:   clk,
		hc:      hc,
		warning: warning,
		authSem: make(chan struct{}, 1),

		maxRefused: maxRefused,
	}, nil
}

// Server returns the server's host:port.
func (c *Client) Server() string { return c.addr }

// Warning returns a warning to show the user when the configuration is
// unsafe (certificate verification disabled with Insecure), or "".
func (c *Client) Warning() string { return c.warning }

// Close releases idle connections. The client stays usable.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

func splitHost(h string, port int) (string, int, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", 0, errors.New("csm: config: Host is empty")
	}
	if strings.ContainsAny(h, "/?#@ ") {
		return "", 0, fmt.Errorf("csm: config: Host %q: want a host name or address, optionally with :port, not a URL", h)
	}
	if hh, ps, err := net.SplitHostPort(h); err == nil {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("csm: config: Host %q: port %q is not a number in 1..65535", h, ps)
		}
		if hh == "" {
			return "", 0, fmt.Errorf("csm: config: Host %q: the host part is empty", h)
		}
		return hh, n, nil
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if port == 0 {
		port = DefaultPort
	}
	if port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("csm: config: Port %d is not in 1..65535", port)
	}
	return h, port, nil
}

// ParseFingerprint parses a SHA-256 certificate fingerprint: 64 hex digits,
// colons and spaces allowed.
func ParseFingerprint(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ':' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != sha256.Size {
		return nil, &ConfigError{Field: "Fingerprint", Err: fmt.Errorf("want the SHA-256 of the server certificate as 64 hex digits (colons allowed), got %q", s)}
	}
	return b, nil
}

// Fingerprint returns the SHA-256 fingerprint of a DER certificate as
// colon-separated upper-case hex, the form Config.Fingerprint accepts.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return formatHex(sum[:])
}

// PinError is the TLS failure of a server whose certificate does not match
// the pinned fingerprint. It matches [ErrTLS] through the client's errors.
type PinError struct {
	Want, Got string // fingerprints, colon-separated hex
}

// Error says both fingerprints.
func (e *PinError) Error() string {
	return fmt.Sprintf("server certificate fingerprint %s does not match the pinned fingerprint %s", e.Got, e.Want)
}

func tlsConfig(cfg Config, host, addr string) (*tls.Config, string, error) {
	var pool *x509.CertPool
	if cfg.CAFile != "" || len(cfg.CAPEM) > 0 {
		pool = x509.NewCertPool()
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, "", &ConfigError{Field: "CAFile", Err: pathCause(err)}
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, "", &ConfigError{Field: "CAFile", Err: fmt.Errorf("%s holds no PEM certificate", cfg.CAFile)}
			}
		}
		if len(cfg.CAPEM) > 0 && !pool.AppendCertsFromPEM(cfg.CAPEM) {
			return nil, "", errors.New("csm: config: CAPEM: no PEM certificate in it")
		}
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case cfg.Fingerprint != "":
		pin, err := ParseFingerprint(cfg.Fingerprint)
		if err != nil {
			return nil, "", err
		}
		want := formatHex(pin)
		// Skipping the library's verification is the mechanism of pinning
		// only: VerifyConnection checks the leaf against the pin on every
		// handshake.
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return &PinError{Want: want, Got: "(no certificate)"}
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
				return &PinError{Want: want, Got: formatHex(sum[:])}
			}
			return nil
		}
	case pool != nil:
		tc.RootCAs = pool
	case cfg.Insecure:
		tc.InsecureSkipVerify = true
		return tc, fmt.Sprintf("csm: TLS certificate verification of %s is DISABLED (insecure): anyone on the network path can impersonate the server and capture its credentials; give a CA bundle (ca_file) or pin the certificate (fingerprint) instead", addr), nil
	default:
		return nil, "", fmt.Errorf("csm: config for %s: %w: give a CA bundle (CAFile/CAPEM, ca_file), a pinned certificate fingerprint (Fingerprint, fingerprint), or set Insecure (insecure: true) to skip verification explicitly", addr, ErrNoTLSConfig)
	}
	return tc, "", nil
}

func formatHex(b []byte) string {
	var s strings.Builder
	for i, x := range b {
		if i > 0 {
			s.WriteByte(':')
		}
		fmt.Fprintf(&s, "%02X", x)
	}
	return s.String()
}

// APIError is a reply of the server that is a failure: an HTTP status
// other than 2xx, or a message of severity E or S. It matches [ErrAuth]
// (HTTP 401/403, or a refused token request), [ErrRejected] (an E or S
// message) and [ErrUnavailable] (HTTP 502, 503, 504) with errors.Is.
type APIError struct {
	// Op is what the client was doing, such as "takeover".
	Op string
	// Server is the server's host:port.
	Server string
	// Method and Path are the request's; secrets in Path are replaced by
	// "***".
	Method, Path string
	// StatusCode is the HTTP status.
	StatusCode int
	// Msg is the CSM message id, such as IWNC1302E, or "".
	Msg string
	// Text is the message text (msgTranslated, else resultText), or a
	// short excerpt of a reply that is not a CSM message.
	Text string
	// NoMessageID: the reply to a command carried no recognizable message
	// id, so nothing says the command succeeded; it counts as rejected.
	NoMessageID bool
}

// Error is one line: what, where, the CSM message id and text, the HTTP
// status.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "csm %s on %s: %s %s: ", e.Op, e.Server, e.Method, e.Path)
	if e.Msg != "" && !strings.HasPrefix(e.Text, e.Msg) { // CSM's texts often start with their id
		b.WriteString(e.Msg)
		if e.Text != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Text)
	fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	return b.String()
}

// Is makes errors.Is match the sentinels the error stands for.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrAuth:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden ||
			(e.Op == opToken && Failed(e.Msg))
	case ErrRejected:
		return Failed(e.Msg) || e.NoMessageID
	case ErrUnavailable:
		return e.StatusCode == http.StatusBadGateway || e.StatusCode == http.StatusServiceUnavailable ||
			e.StatusCode == http.StatusGatewayTimeout
	}
	return false
}

const opToken = "login"

// request is one REST call.
type request struct {
	op      string // what the client does, for messages
	method  string
	path    string // escaped, below BasePath
	display string // path for messages with secrets replaced; "" means path
	form    url.Values
	retry   bool     // idempotent: retried on transient failures
	stream  bool     // the caller reads the body; otherwise it is buffered
	secrets []string // values to redact from errors, besides the password
}

func (rq *request) shown() string {
	if rq.display != "" {
		return rq.display
	}
	return rq.path
}

// redact replaces every secret of the client and of rq in s.
func (c *Client) redact(rq *request, s string) string {
	secrets := append([]string{c.pass}, rq.secrets...)
	for _, sec := range secrets {
		if len(sec) < 3 {
			continue // too short to redact without mangling the text
		}
		for _, form := range []string{sec, url.PathEscape(sec), url.QueryEscape(sec)} {
			s = strings.ReplaceAll(s, form, "***")
		}
	}
	return s
}

type ctxKey int

const (
	clockKey ctxKey = iota
	noRetryKey
)

// withClock makes the retry backoff of requests under ctx wait on clk.
func withClock(ctx context.Context, clk actions.Clock) context.Context {
	if clk == nil {
		return ctx
	}
	return context.WithValue(ctx, clockKey, clk)
}

// withoutRetries makes requests under ctx try once.
func withoutRetries(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey, true)
}

func (c *Client) clockFor(ctx context.Context) actions.Clock {
	if clk, ok := ctx.Value(clockKey).(actions.Clock); ok {
		return clk
	}
	return c.clock
}

// cancelBody cancels the request's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// once sends rq one time with the token tok (none when empty). Unless
// rq.stream, the body is read and buffered within the request's timeout.
func (c *Client) once(ctx context.Context, rq *request, tok string) (*http.Response, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	var body io.Reader
	if rq.form != nil {
		body = strings.NewReader(rq.form.Encode())
	}
	req, err := http.NewRequestWithContext(rctx, rq.method, c.base+rq.path, body)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("csm %s on %s: %s %s: cannot build the request", rq.op, c.addr, rq.method, rq.shown())
	}
	req.Header.Set("Accept-Language", "en-US")
	if tok != "" {
		req.Header.Set("X-Auth-Token", tok)
	}
	// As IBM's clients do, on every request, bodiless ones included.
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		return nil, c.scrub(rq, err)
	}
	if rq.stream {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	defer cancel()
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err == nil && rctx.Err() != nil {
		// The reply ended as the deadline fired: it may be cut short, so
		// it is the timeout, not a reply.
		err = rctx.Err()
	}
	if err != nil {
		return nil, c.scrub(rq, err)
	}
	if len(data) > maxReplyBytes {
		return nil, fmt.Errorf("csm %s on %s: %s %s: the reply is larger than %d MiB", rq.op, c.addr, rq.method, rq.shown(), maxReplyBytes>>20)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp, nil
}

// scrub removes the request's secrets from a transport error: the URL of a
// *url.Error is replaced by the redacted one.
func (c *Client) scrub(rq *request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = c.base + rq.shown()
	}
	return err
}

// CertError is the failure to verify the certificate a server presented
// (unknown authority, wrong host name, fingerprint mismatch). It matches
// [ErrTLS] with errors.Is and unwraps to the TLS library's error.
type CertError struct {
	Op     string // what the client was doing
	Server string // host:port
	// Fingerprint is the SHA-256 fingerprint of the certificate the server
	// presented, colon-separated hex as Config.Fingerprint takes it, or ""
	// when the handshake got no certificate.
	Fingerprint string
	Err         error
}

// Error names the server, the failure and the fingerprint of the
// certificate presented.
func (e *CertError) Error() string {
	s := fmt.Sprintf("csm %s on %s: %v: %s", e.Op, e.Server, ErrTLS, tlsCause(e.Err))
	if e.Fingerprint != "" {
		s += "; the server presented a certificate with SHA-256 fingerprint " + e.Fingerprint
	}
	return s
}

// Is makes errors.Is(err, ErrTLS) hold.
func (e *CertError) Is(target error) bool { return target == ErrTLS }

// Unwrap returns the TLS library's error.
func (e *CertError) Unwrap() error { return e.Err }

// presented returns the fingerprint of the certificate a TLS failure is
// about, or "".
func presented(err error) string {
	var (
		pe *PinError
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &pe):
		if strings.HasPrefix(pe.Got, "(") {
			return ""
		}
		return pe.Got
	case errors.As(err, &cv) && len(cv.UnverifiedCertificates) > 0:
		return Fingerprint(cv.UnverifiedCertificates[0].Raw)
	case errors.As(err, &ua) && ua.Cert != nil:
		return Fingerprint(ua.Cert.Raw)
	case errors.As(err, &he) && he.Certificate != nil:
		return Fingerprint(he.Certificate.Raw)
	case errors.As(err, &ci) && ci.Cert != nil:
		return Fingerprint(ci.Cert.Raw)
	}
	return ""
}

func isTLSError(err error) bool {
	var (
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		pe  *PinError
		rhe tls.RecordHeaderError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) ||
		errors.As(err, &ci) || errors.As(err, &pe) || errors.As(err, &rhe)
}

func unavailableStatus(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// roundTrip sends rq with the token tok, retrying transient network
// failures and HTTP 502/503/504 when rq.retry allows it.
func (c *Client) roundTrip(ctx context.Context, rq *request, tok string) (*http.Response, error) {
	attempts := 1
	if rq.retry && ctx.Value(noRetryKey) == nil {
		attempts += c.retries
	}
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, rq, tok)
		if err == nil && (attempt == attempts || !unavailableStatus(resp.StatusCode)) {
			return resp, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("csm %s on %s: %s %s: %w", rq.op, c.addr, rq.method, rq.shown(), ctx.Err())
			}
			if isTLSError(err) {
				return nil, &CertError{Op: rq.op, Server: c.addr, Fingerprint: presented(err), Err: err}
			}
			if err = plainNet(err, c.timeout.String()); attempt == attempts || permanent(err) {
				tries := ""
				if attempt > 1 {
					tries = fmt.Sprintf(" after %d attempts", attempt)
				}
				return nil, fmt.Errorf("csm %s on %s: %s %s: %w%s: %w", rq.op, c.addr, rq.method, rq.shown(), ErrUnavailable, tries, err)
			}
		} else {
			resp.Body.Close()
		}
		d := retryBackoff << (attempt - 1)
		if d > retryBackoffMax || d <= 0 {
			d = retryBackoffMax
		}
		if err := c.clockFor(ctx).Sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("csm %s on %s: %s %s: waiting to retry: %w", rq.op, c.addr, rq.method, rq.shown(), err)
		}
	}
}

func (c *Client) currentToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tok
}

func (c *Client) dropToken(old string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == old {
		c.tok = ""
	}
}

// token returns the current token, fetching one when there is none.
func (c *Client) token(ctx context.Context, fresh bool) (string, error) {
	if t := c.currentToken(); t != "" && !fresh {
		return t, nil
	}
	select {
	case c.authSem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("csm %s on %s: %w", opToken, c.addr, ctx.Err())
	}
	defer func() { <-c.authSem }()
	if t := c.currentToken(); t != "" && !fresh {
		return t, nil
	}
	if c.maxRefused > 0 && c.refused >= c.maxRefused {
		return "", fmt.Errorf("csm %s on %s: %w: the server refused %d login(s) of user %q, and no more are tried, so that the CSM account is not locked: check the username and password (the last refusal: %w)",
			opToken, c.addr, ErrLoginLimit, c.refused, c.user, refusal(c.lastRefusal))
	}
	t, err := c.fetchToken(ctx)
	if errors.Is(err, ErrAuth) {
		c.refused++
		c.lastRefusal = err
	}
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.tok = t
	c.mu.Unlock()
	return t, nil
}

func (c *Client) fetchToken(ctx context.Context) (string, error) {
	rq := &request{
		op: opToken, method: http.MethodPost, path: "/system/v1/tokens",
		form:  url.Values{"username": {c.user}, "password": {c.pass}},
		retry: true, // a token request may be repeated safely
	}
	resp, err := c.roundTrip(ctx, rq, "")
	if err != nil {
		return "", err
	}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", c.apiError(rq, resp.StatusCode, data)
	}
	var tr TokenReply
	if err := json.Unmarshal(data, &tr); err != nil {
		e := c.apiError(rq, resp.StatusCode, data)
		e.Text = "the reply is not a token reply: " + e.Text
		return "", e
	}
	if Failed(tr.Msg) {
		return "", c.apiError(rq, resp.StatusCode, data)
	}
	if tr.Token == "" {
		e := c.apiError(rq, resp.StatusCode, data)
		e.Text = "the reply carries no token"
		return "", e
	}
	return tr.Token, nil
}

// Token fetches a new token, which the client then uses. Callers rarely
// need it: every request fetches a token when it has none, and a fresh one
// on HTTP 401.
func (c *Client) Token(ctx context.Context) (string, error) {
	return c.token(ctx, true)
}

// send sends rq authenticated, fetching a new token and retrying once on
// HTTP 401.
func (c *Client) send(ctx context.Context, rq *request) (*http.Response, error) {
	for reauthed := false; ; reauthed = true {
		tok, err := c.token(ctx, false)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, rq, tok)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized || reauthed {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReplyBytes))
		resp.Body.Close()
		c.dropToken(tok)
	}
}

func (c *Client) apiError(rq *request, status int, body []byte) *APIError {
	e := &APIError{Op: rq.op, Server: c.addr, Method: rq.method, Path: rq.shown(), StatusCode: status}
	var r Reply
	if json.Unmarshal(body, &r) == nil {
		e.Msg = r.Msg
		e.Text = r.MsgTranslated
		if e.Text == "" {
			e.Text = r.ResultText
		}
	}
	if e.Msg == "" && e.Text == "" {
		e.Text = excerpt(body)
		if e.Text == "" {
			e.Text = http.StatusText(status)
		}
	}
	e.Msg = c.redact(rq, e.Msg)
	e.Text = c.redact(rq, e.Text)
	return e
}

// excerpt returns the start of a reply body as one printable line.
func excerpt(body []byte) string {
	const max = 200
	if !utf8.Valid(body) {
		return ""
	}
	s := strings.Join(strings.FieldsFunc(string(body), func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r)
	}), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// replyMsg returns the msg field of a JSON object reply, or "".
func replyMsg(body []byte) string {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ""
	}
	var r struct {
		Msg string `json:"msg"`
	}
	_ = json.Unmarshal(trimmed, &r)
	return r.Msg
}

// call sends rq and decodes a successful JSON reply into out (when not
// nil).
func (c *Client) call(ctx context.Context, rq *request, out any) error {
	resp, err := c.send(ctx, rq)
	if err != nil {
		return err
	}
	data, _ := io.ReadAll(resp.Body)
	msg := replyMsg(data)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || Failed(msg) {
		return c.apiError(rq, resp.StatusCode, data)
	}
	if rq.method != http.MethodGet && Severity(msg) == 0 {
		// A command's reply must say how it went: without a message id
		// nothing says the command was done.
		e := c.apiError(rq, resp.StatusCode, data)
		e.NoMessageID = true
		e.Text = c.redact(rq, "the reply carries no message id, so nothing says the command was done: "+excerpt(data))
		return e
	}
	if out == nil {
		return nil
	}
	if err := decodeJSON(data, out); err != nil {
		return fmt.Errorf("csm %s on %s: %s %s: the reply is not the JSON expected: %w", rq.op, c.addr, rq.method, rq.shown(), err)
	}
	return nil
}

func decodeJSON(data []byte, out any) error {
	if m, ok := out.(*map[string]any); ok {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var v map[string]any
		if err := d.Decode(&v); err != nil {
			return err
		}
		*m = actions.Normalize(v).(map[string]any)
		return nil
	}
	return json.Unmarshal(data, out)
}

func get(op, p string) *request {
	return &request{op: op, method: http.MethodGet, path: p, retry: true}
}

func command(op, method, p string) *request {
	return &request{op: op, method: method, path: p}
}

func segment(what, v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("csm: %s is empty", what)
	}
	return url.PathEscape(v), nil
}

// HA returns the HA status of the server: GET /system/ha.
func (c *Client) HA(ctx context.Context) (*HAStatus, error) {
	var out HAStatus
	if err := c.call(ctx, get("ha status", "/system/ha"), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Sessions returns the short list of sessions: GET /sessions/short.
func (c *Client) Sessions(ctx context.Context) ([]SessionShort, error) {
	var out []SessionShort
	if err := c.call(ctx, get("sessions", "/sessions/short"), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Session returns one session as the server describes it: GET
// /sessions/{name}. Numbers are int64 when whole, else float64.
func (c *Client) Session(ctx context.Context, name string) (map[string]any, error) {
	seg, err := segment("session name", name)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := c.call(ctx, get("session "+name, "/sessions/"+seg), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// SessionCommand issues a session command such as "Start H1->H2": POST
// /sessions/{name} with the form field cmd.
func (c *Client) SessionCommand(ctx context.Context, name, cmd string) (*Reply, error) {
	seg, err := segment("session name", name)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cmd) == "" {
		return nil, errors.New("csm: session command is empty")
	}
	rq := command("session command "+strconv.Quote(cmd)+" on "+name, http.MethodPost, "/sessions/"+seg)
	rq.form = url.Values{"cmd": {cmd}}
	return c.reply(ctx, rq)
}

// Version returns the server's version: GET /system/version.
func (c *Client) Version(ctx context.Context) (*Version, error) {
	var out Version
	if err := c.call(ctx, get("version", "/system/version"), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Tasks returns the scheduled tasks: GET /sessions/scheduledtasks.
func (c *Client) Tasks(ctx context.Context) ([]ScheduledTask, error) {
	var out []ScheduledTask
	if err := c.call(ctx, get("scheduled tasks", "/sessions/scheduledtasks"), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Task returns one scheduled task: GET /sessions/scheduledtasks/{id}.
func (c *Client) Task(ctx context.Context, id int) (*ScheduledTask, error) {
	var out ScheduledTask
	if err := c.call(ctx, get("scheduled task "+strconv.Itoa(id), "/sessions/scheduledtasks/"+strconv.Itoa(id)), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EnableTask enables a scheduled task: POST
// /sessions/scheduledtasks/enable/{id}.
func (c *Client) EnableTask(ctx context.Context, id int) (*Reply, error) {
	return c.reply(ctx, command("enable task "+strconv.Itoa(id), http.MethodPost, "/sessions/scheduledtasks/enable/"+strconv.Itoa(id)))
}

// DisableTask disables a scheduled task: POST
// /sessions/scheduledtasks/disable/{id}.
func (c *Client) DisableTask(ctx context.Context, id int) (*Reply, error) {
	return c.reply(ctx, command("disable task "+strconv.Itoa(id), http.MethodPost, "/sessions/scheduledtasks/disable/"+strconv.Itoa(id)))
}

// Takeover makes the called server, the standby, active: PUT
// /system/ha/takeover.
func (c *Client) Takeover(ctx context.Context) (*Reply, error) {
	return c.reply(ctx, command("takeover", http.MethodPut, "/system/ha/takeover"))
}

// Reconnect reconnects the HA relationship: PUT /system/ha/reconnect.
func (c *Client) Reconnect(ctx context.Context) (*Reply, error) {
	return c.reply(ctx, command("reconnect", http.MethodPut, "/system/ha/reconnect"))
}

// SetServerAsStandby makes the called server the standby of the server
// active, named by host: PUT /system/ha/setServerAsStandby/{active}, or
// .../{active}/{haPort} when haPort is not 0 (as IBM's REXX framework
// sends the HA port).
func (c *Client) SetServerAsStandby(ctx context.Context, active string, haPort int) (*Reply, error) {
	seg, err := segment("active server", active)
	if err != nil {
		return nil, err
	}
	p := "/system/ha/setServerAsStandby/" + seg
	if haPort != 0 {
		p += "/" + strconv.Itoa(haPort)
	}
	return c.reply(ctx, command("set server as standby of "+active, http.MethodPut, p))
}

// SetStandbyServer makes standby the standby of the called server, the
// active one, logging in to it as user: PUT
// /system/ha/setStandbyServer/{standby}/{user}/{password}. The password
// travels in the URL path (the API's design, over TLS); it is replaced by
// "***" in every error.
func (c *Client) SetStandbyServer(ctx context.Context, standby, user, password string) (*Reply, error) {
	s, err := segment("standby server", standby)
	if err != nil {
		return nil, err
	}
	u, err := segment("standby user", user)
	if err != nil {
		return nil, err
	}
	p, err := segment("standby password", password)
	if err != nil {
		return nil, err
	}
	rq := command("set standby server "+standby, http.MethodPut, "/system/ha/setStandbyServer/"+s+"/"+u+"/"+p)
	rq.display = "/system/ha/setStandbyServer/" + s + "/" + u + "/***"
	rq.secrets = []string{password}
	return c.reply(ctx, rq)
}

// RemoveHAServer removes the HA partner server: PUT
// /system/ha/removeHaServer/{server}.
func (c *Client) RemoveHAServer(ctx context.Context, server string) (*Reply, error) {
	seg, err := segment("HA server", server)
	if err != nil {
		return nil, err
	}
	return c.reply(ctx, command("remove HA server "+server, http.MethodPut, "/system/ha/removeHaServer/"+seg))
}

// CreateBackup creates a configuration backup on the server: PUT
// /system/backupserver.
func (c *Client) CreateBackup(ctx context.Context) (*Reply, error) {
	return c.reply(ctx, command("create backup", http.MethodPut, "/system/backupserver"))
}

// Backups lists the configuration backups: GET /system/backupserver.
func (c *Client) Backups(ctx context.Context) (*BackupList, error) {
	var out BackupList
	if err := c.call(ctx, get("list backups", "/system/backupserver"), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) reply(ctx context.Context, rq *request) (*Reply, error) {
	var out Reply
	if err := c.call(ctx, rq, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DownloadOptions bound a backup download.
type DownloadOptions struct {
	// MaxSize refuses a backup larger than this many bytes ([ErrTooLarge]):
	// before anything is written when the server gives its size
	// (Content-Length), else as soon as more arrives. Zero means no limit.
	MaxSize int64
	// Check, when not nil, is called with the size the server gives (-1
	// when it gives none) before anything is written: an error refuses the
	// download, such as when the disk has not that much room.
	Check func(size int64) error
}

// ErrTooLarge: a backup is larger than DownloadOptions.MaxSize.
var ErrTooLarge = errors.New("backup larger than the limit")

// DownloadBackup creates a configuration backup and copies the zip file to
// w: GET /system/backupserver/download. It is not retried (each call
// creates a backup). name is the file name the server gives
// (Content-Disposition), reduced to a safe base name, or "" when it gives
// none; n is the number of bytes written to w.
func (c *Client) DownloadBackup(ctx context.Context, w io.Writer, opts DownloadOptions) (name string, n int64, err error) {
	rq := &request{op: "download backup", method: http.MethodGet, path: "/system/backupserver/download", stream: true}
	resp, err := c.send(ctx, rq)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 || mt == "application/json" {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		e := c.apiError(rq, resp.StatusCode, data)
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 && !Failed(e.Msg) {
			e.Text = "the server sent a JSON reply, not a backup file: " + e.Text
		}
		return "", 0, e
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		name = SafeFileName(params["filename"])
	}
	tooLarge := func(size string) error {
		return fmt.Errorf("csm %s on %s: the backup is %s, more than the limit of %d bytes: %w", rq.op, c.addr, size, opts.MaxSize, ErrTooLarge)
	}
	if opts.MaxSize > 0 && resp.ContentLength > opts.MaxSize {
		return name, 0, tooLarge(strconv.FormatInt(resp.ContentLength, 10) + " bytes")
	}
	if opts.Check != nil {
		if err := opts.Check(resp.ContentLength); err != nil {
			return name, 0, fmt.Errorf("csm %s on %s: %w", rq.op, c.addr, err)
		}
	}
	src := &readErrs{r: resp.Body}
	var r io.Reader = src
	if opts.MaxSize > 0 {
		r = io.LimitReader(src, opts.MaxSize+1)
	}
	n, err = io.Copy(w, r)
	if err != nil {
		if src.err != nil {
			return name, n, fmt.Errorf("csm %s on %s: %s %s: reading the backup: %w: %w", rq.op, c.addr, rq.method, rq.shown(), ErrUnavailable, c.scrub(rq, src.err))
		}
		return name, n, fmt.Errorf("csm %s on %s: writing the backup: %w", rq.op, c.addr, err)
	}
	if opts.MaxSize > 0 && n > opts.MaxSize {
		return name, n, tooLarge("larger")
	}
	return name, n, nil
}

// readErrs records the read error of r.
type readErrs struct {
	r   io.Reader
	err error
}

func (r *readErrs) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// SafeFileName reduces a file name given by a server to a base name made of
// letters, digits, '.', '_' and '-' (others become '_'), without leading
// dots. It returns "" when nothing usable is left.
func SafeFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)), r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
	name = strings.TrimLeft(name, ".")
	if strings.Trim(name, "_") == "" {
		return ""
	}
	return name
}

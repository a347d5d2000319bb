package csm

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

const (
	testUser = "csmadmin"
	testPass = "S3cret-pa55word"
)

// fakeCSM is a tiny CSM REST server on loopback: it issues tokens for
// testUser/testPass and serves the routes given, keyed "METHOD /path"
// below /CSM/web, to requests that carry the current token.
type fakeCSM struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	tokens   int               // tokens issued
	valid    map[string]bool   // tokens accepted
	calls    map[string]int    // requests per route, token requests excluded
	forms    map[string]string // last form body per route
	routes   map[string]http.HandlerFunc
	langs    []string // Accept-Language of every request
	tokenHit func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeCSM(t *testing.T, routes map[string]http.HandlerFunc) *fakeCSM {
	t.Helper()
	f := &fakeCSM{t: t, valid: map[string]bool{}, calls: map[string]int{}, forms: map[string]string{}, routes: routes}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS failures are expected
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCSM) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.langs = append(f.langs, r.Header.Get("Accept-Language"))
	hook := f.tokenHit
	f.mu.Unlock()
	const base = "/CSM/web"
	if r.Method == http.MethodPost && r.URL.Path == base+"/system/v1/tokens" {
		if hook != nil && hook(w, r) {
			return
		}
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form", http.StatusBadRequest)
			return
		}
		if r.PostFormValue("username") != testUser || r.PostFormValue("password") != testPass {
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, Reply{Msg: "IWNR1600E", MsgTranslated: "The user name or password is not valid."})
			return
		}
		f.mu.Lock()
		f.tokens++
		tok := "tok-" + strconv.Itoa(f.tokens)
		f.valid[tok] = true
		f.mu.Unlock()
		writeJSON(w, TokenReply{Reply: Reply{Msg: "IWNR1601I"}, Token: tok})
		return
	}
	key := r.Method + " " + r.URL.EscapedPath()[len(base):]
	f.mu.Lock()
	f.calls[key]++
	if r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		_ = r.ParseForm()
		f.forms[key] = r.PostForm.Encode()
	}
	ok := f.valid[r.Header.Get("X-Auth-Token")]
	h := f.routes[key]
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

// setRoute replaces the handler of a route.
func (f *fakeCSM) setRoute(key string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[key] = h
}

// form returns the last form body sent to a route.
func (f *fakeCSM) form(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forms[key]
}

// expireTokens makes every issued token invalid, as after 2 hours.
func (f *fakeCSM) expireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

func (f *fakeCSM) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func (f *fakeCSM) tokenCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens
}

// caPEM is the PEM of the server's certificate (httptest's is its own CA).
func (f *fakeCSM) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
}

func (f *fakeCSM) hostPort() (string, int) {
	host, port, _ := net.SplitHostPort(f.srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	return host, p
}

// config returns a client Config that trusts the server through its CA.
func (f *fakeCSM) config(clk actions.Clock) Config {
	return Config{
		Host: f.srv.Listener.Addr().String(), Username: testUser, Password: testPass,
		CAPEM: f.caPEM(), Clock: clk, Timeout: 5 * time.Second,
	}
}

func (f *fakeCSM) client(t *testing.T, clk actions.Clock) *Client {
	t.Helper()
	c, err := New(f.config(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// target returns runbook target fields for the server, pinned by
// fingerprint.
func (f *fakeCSM) target() map[string]any {
	host, port := f.hostPort()
	return map[string]any{
		"host": host, "port": int64(port), "username": testUser, "password": testPass,
		"fingerprint": Fingerprint(f.srv.Certificate().Raw),
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func replyWith(msg, text string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, Reply{Msg: msg, MsgTranslated: text, Timestamp: 1})
	}
}

// resetConn hijacks the connection and resets it (SO_LINGER 0), so the
// client sees "connection reset by peer" or EOF instead of a reply.
func resetConn(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		if tcp, ok := nc.NetConn().(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
	}
	conn.Close()
}

// otherCAPEM returns the PEM of a fresh self-signed CA certificate that
// signed nothing the fake servers use (httptest servers all share one
// certificate, so another httptest server is no "wrong CA").
func otherCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(42),
		Subject:               pkix.Name{CommonName: "Wrong CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// closedAddr returns a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// fakeClock is a virtual clock: Sleep advances the time at once, and
// cancels the contexts of WithTimeout whose deadline has passed.
type fakeClock struct {
	mu        sync.Mutex
	now       time.Time
	slept     []time.Duration
	deadlines []fakeDeadline
}

type fakeDeadline struct {
	at     time.Time
	cancel context.CancelCauseFunc
}

var _ actions.Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	var fire []context.CancelCauseFunc
	keep := c.deadlines[:0]
	for _, dl := range c.deadlines {
		if !dl.at.After(c.now) {
			fire = append(fire, dl.cancel)
		} else {
			keep = append(keep, dl)
		}
	}
	c.deadlines = keep
	c.mu.Unlock()
	for _, f := range fire {
		f(context.DeadlineExceeded)
	}
	return ctx.Err()
}

func (c *fakeClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancelCause(ctx)
	c.mu.Lock()
	c.deadlines = append(c.deadlines, fakeDeadline{at: c.now.Add(d), cancel: cancel})
	c.mu.Unlock()
	return cctx, func() { cancel(context.Canceled) }
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// fakeExec is an executor that records commands and runs a function.
type fakeExec struct {
	mu   sync.Mutex
	cmds []remote.Command
	run  func(ctx context.Context, cmd remote.Command) (int, error)
}

func (e *fakeExec) Run(ctx context.Context, cmd remote.Command) (int, error) {
	e.mu.Lock()
	e.cmds = append(e.cmds, cmd)
	e.mu.Unlock()
	return e.run(ctx, cmd)
}

func (e *fakeExec) commands() []remote.Command {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]remote.Command(nil), e.cmds...)
}

// newCall returns a call of a registered probe or action on the target
// "csm1" (fields tgt) with the given arguments.
func newCall(name string, tgt map[string]any, clk actions.Clock, args map[string]any) *actions.Call {
	a := map[string]any{"target": "csm1"}
	for k, v := range args {
		a[k] = v
	}
	return &actions.Call{
		Step: "test", Name: name, Args: a, Clock: clk, Attempt: 1,
		Targets: map[string]map[string]any{"csm1": tgt},
	}
}

// registry returns a registry holding the CSM probes and actions.
func registry(t *testing.T, opts Options) *actions.Registry {
	t.Helper()
	r := actions.NewRegistry()
	if err := Register(r, opts); err != nil {
		t.Fatal(err)
	}
	return r
}

func runAction(t *testing.T, r *actions.Registry, ctx context.Context, call *actions.Call) (actions.Outputs, error) {
	t.Helper()
	a, err := r.NewAction(call.Name)
	if err != nil {
		t.Fatal(err)
	}
	return a.Run(ctx, call)
}

func observe(t *testing.T, r *actions.Registry, call *actions.Call) (any, error) {
	t.Helper()
	p, err := r.NewProbe(call.Name)
	if err != nil {
		t.Fatal(err)
	}
	return p.Observe(context.Background(), call)
}

package csmtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm"
)

// controlPrefix is the argument that makes the test binary act as the
// control program (see TestMain).
const controlPrefix = "csmtest-control"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == controlPrefix {
		os.Exit(ControlMain(os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// fakeClock is a virtual clock: time moves only by Advance.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

var _ actions.Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.Advance(d)
	return ctx.Err()
}

func (c *fakeClock) WithTimeout(ctx context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
	return context.WithCancel(ctx)
}

func newPair(t testing.TB, o Options) *Pair {
	t.Helper()
	p, err := NewPair(o)
	if err != nil {
		t.Fatalf("NewPair: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// tclient is a tiny CSM client for the tests: net/http with the pair's CA.
type tclient struct {
	t     testing.TB
	base  string
	hc    *http.Client
	user  string
	pass  string
	mu    sync.Mutex
	token string
}

func newClient(t testing.TB, p *Pair, s *Server) *tclient {
	return newClientKA(t, p, s, true)
}

func newClientKA(t testing.TB, p *Pair, s *Server, keepAlive bool) *tclient {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.CAPEM()) {
		t.Fatal("CAPEM holds no certificate")
	}
	hc := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: !keepAlive,
		},
	}
	t.Cleanup(hc.CloseIdleConnections)
	return &tclient{t: t, base: s.URL() + "/CSM/web", hc: hc, user: p.Username(), pass: p.Password()}
}

// raw sends one request with the given token (none when empty).
func (c *tclient) raw(ctx context.Context, method, path string, form url.Values, token string) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "en-US")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

func (c *tclient) login() error {
	resp, data, err := c.raw(context.Background(), "POST", "/system/v1/tokens", url.Values{"username": {c.user}, "password": {c.pass}}, "")
	if err != nil {
		return err
	}
	var tr csm.TokenReply
	if err := json.Unmarshal(data, &tr); err != nil {
		return fmt.Errorf("login reply: %w", err)
	}
	if resp.StatusCode != 200 || tr.Token == "" {
		return fmt.Errorf("login: HTTP %d %s", resp.StatusCode, tr.Msg)
	}
	c.mu.Lock()
	c.token = tr.Token
	c.mu.Unlock()
	return nil
}

// call sends an authenticated request, logging in (again) on 401 once, and
// decodes the JSON reply into out (when not nil).
func (c *tclient) call(method, path string, form url.Values, out any) (int, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		tok := c.token
		c.mu.Unlock()
		if tok == "" {
			if err := c.login(); err != nil {
				return 0, err
			}
			continue
		}
		resp, data, err := c.raw(context.Background(), method, path, form, tok)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.mu.Lock()
			c.token = ""
			c.mu.Unlock()
			continue
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return resp.StatusCode, fmt.Errorf("%s %s: decode %q: %w", method, path, data, err)
			}
		}
		return resp.StatusCode, nil
	}
}

// must is call that fails the test on a transport error.
func (c *tclient) must(method, path string, form url.Values, out any) int {
	c.t.Helper()
	code, err := c.call(method, path, form, out)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return code
}

func (c *tclient) reply(method, path string, form url.Values) csm.Reply {
	c.t.Helper()
	var r csm.Reply
	c.must(method, path, form, &r)
	return r
}

func (c *tclient) ha() csm.HAStatus {
	c.t.Helper()
	var h csm.HAStatus
	if code := c.must("GET", "/system/ha", nil, &h); code != 200 {
		c.t.Fatalf("GET /system/ha: HTTP %d", code)
	}
	return h
}

func (c *tclient) version() string {
	c.t.Helper()
	var v csm.Version
	if code := c.must("GET", "/system/version", nil, &v); code != 200 {
		c.t.Fatalf("GET /system/version: HTTP %d", code)
	}
	return v.Version
}

func (c *tclient) sessions() []csm.SessionShort {
	c.t.Helper()
	var ss []csm.SessionShort
	if code := c.must("GET", "/sessions/short", nil, &ss); code != 200 {
		c.t.Fatalf("GET /sessions/short: HTTP %d", code)
	}
	return ss
}

// wantMsg fails unless r.Msg is want.
func wantMsg(t testing.TB, what string, r csm.Reply, want string) {
	t.Helper()
	if r.Msg != want {
		t.Fatalf("%s: msg %q (%s), want %s", what, r.Msg, r.MsgTranslated, want)
	}
}

// wantHA fails unless h shows the local role and one partner entry with
// the given role and status.
func wantHA(t testing.TB, what string, h csm.HAStatus, localActive bool, partner *Server, role, status string) {
	t.Helper()
	want := []csm.ServerInfo{{Server: partner.Host(), Role: role, Status: status, Port: partner.HAPort()}}
	if h.IsLocalActive != localActive || !reflect.DeepEqual(h.ServerInfo, want) {
		t.Fatalf("%s: islocalactive %v serverinfo %+v, want %v %+v", what, h.IsLocalActive, h.ServerInfo, localActive, want)
	}
}

// runControl runs ControlMain in-process against s.
func runControl(s *Server, args []string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	env := s.Env()
	code = ControlMain(args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

// install runs the pair's installer on s and fails the test unless it
// exits 0.
func install(t testing.TB, p *Pair, s *Server) {
	t.Helper()
	code, out, errs := runControl(s, p.InstallerArgv("installer")[1:])
	if code != 0 {
		t.Fatalf("installer on %s: exit %d, stdout %q, stderr %q", s.Name(), code, out, errs)
	}
}

// isTransportError reports whether err is a transport error (no HTTP answer).
func isTransportError(err error) bool {
	var ue *url.Error
	return err != nil && errors.As(err, &ue)
}

func countEvents(tl []Event, kind EventKind, server string) int {
	n := 0
	for _, e := range tl {
		if e.Kind == kind && (server == "*" || e.Server == server) {
			n++
		}
	}
	return n
}

func invariants(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Invariant)
	}
	return out
}

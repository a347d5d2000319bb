package csm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sessionsRoute() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []SessionShort{{Name: "MM1", Status: "Normal", State: "Prepared", NumCopySets: 4, RulesName: "Metro Mirror", Recoverable: true}})
	}
}

func TestTokenFlow(t *testing.T) {
	t.Parallel()
	var tokens []string
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /sessions/short": func(w http.ResponseWriter, r *http.Request) {
			tokens = append(tokens, r.Header.Get("X-Auth-Token"))
			sessionsRoute()(w, r)
		},
	})
	c := f.client(t, newFakeClock())
	for range 2 {
		got, err := c.Sessions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Name != "MM1" || got[0].NumCopySets != 4 || got[0].RulesName != "Metro Mirror" {
			t.Fatalf("sessions = %+v", got)
		}
	}
	if n := f.tokenCount(); n != 1 {
		t.Errorf("tokens issued = %d, want 1 (reused)", n)
	}
	if diff := cmp.Diff([]string{"tok-1", "tok-1"}, tokens); diff != "" {
		t.Errorf("X-Auth-Token (-want +got):\n%s", diff)
	}
	for _, l := range f.langs {
		if l != "en-US" {
			t.Errorf("Accept-Language = %q, want en-US", l)
		}
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /sessions/short": sessionsRoute()})
	cfg := f.config(newFakeClock())
	cfg.Password = "wrong-password"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Sessions(context.Background())
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Msg != "IWNR1600E" || ae.StatusCode != http.StatusUnauthorized || ae.Op != "login" {
		t.Fatalf("err = %#v", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("password in error: %v", err)
	}
	if f.count("GET /sessions/short") != 0 {
		t.Error("request sent without a token")
	}
}

func TestReauthOn401Once(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /sessions/short": sessionsRoute()})
	c := f.client(t, newFakeClock())
	ctx := context.Background()
	if _, err := c.Sessions(ctx); err != nil {
		t.Fatal(err)
	}
	f.expireTokens()
	if _, err := c.Sessions(ctx); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := f.tokenCount(); n != 2 {
		t.Errorf("tokens = %d, want 2", n)
	}
	if n := f.count("GET /sessions/short"); n != 3 {
		t.Errorf("requests = %d, want 3 (ok, 401, retried ok)", n)
	}
}

func TestReauthGivesUpAfterOneRetry(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"PUT /system/ha/takeover": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) },
	})
	c := f.client(t, newFakeClock())
	_, err := c.Takeover(context.Background())
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if n := f.count("PUT /system/ha/takeover"); n != 2 {
		t.Errorf("takeover requests = %d, want 2 (one retry after a new token)", n)
	}
	if n := f.tokenCount(); n != 2 {
		t.Errorf("tokens = %d, want 2", n)
	}
}

func TestSeverityEOn200IsAnError(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"PUT /system/ha/takeover":  replyWith(MsgActionNotAllowed, "The action is not valid for the server in its current state."),
		"PUT /system/ha/reconnect": replyWith("IWNR3099W", "A warning."),
		"PUT /system/backupserver": replyWith("IWNR9999S", "Severe."),
	})
	c := f.client(t, newFakeClock())
	ctx := context.Background()
	_, err := c.Takeover(ctx)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if ae.Msg != MsgActionNotAllowed || ae.StatusCode != 200 || ae.Method != "PUT" || ae.Path != "/system/ha/takeover" {
		t.Errorf("APIError = %+v", ae)
	}
	if !errors.Is(err, ErrRejected) || errors.Is(err, ErrAuth) || errors.Is(err, ErrUnavailable) {
		t.Errorf("sentinels wrong for %v", err)
	}
	for _, want := range []string{MsgActionNotAllowed, "not valid", f.srv.Listener.Addr().String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if r, err := c.Reconnect(ctx); err != nil || r.Msg != "IWNR3099W" {
		t.Errorf("W severity: reply %+v, err %v; want success", r, err)
	}
	if _, err := c.CreateBackup(ctx); !errors.Is(err, ErrRejected) {
		t.Errorf("S severity: err = %v, want ErrRejected", err)
	}
}

func TestCAVerification(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /system/version": versionRoute("6.3.10.1")})

	c := f.client(t, newFakeClock())
	v, err := c.Version(context.Background())
	if err != nil || v.Version != "6.3.10.1" {
		t.Fatalf("right CA: %v, %v", v, err)
	}

	cfg := f.config(newFakeClock())
	cfg.CAPEM = otherCAPEM(t)
	wrong, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.Version(context.Background())
	if !errors.Is(err, ErrTLS) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("wrong CA: err = %v, want ErrTLS", err)
	}
	if n := f.tokenCount(); n != 1 {
		t.Errorf("tokens = %d: the wrong-CA client must not authenticate", n)
	}
}

func TestCAFile(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /system/version": versionRoute("6.3.10.1")})
	dir := t.TempDir()
	path := dir + "/ca.pem"
	if err := os.WriteFile(path, f.caPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := f.config(newFakeClock())
	cfg.CAPEM = nil
	cfg.CAFile = path
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.CAFile = dir + "/missing.pem"
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "CAFile") {
		t.Errorf("missing CA file: err = %v", err)
	}
	if err := os.WriteFile(dir+"/junk.pem", []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.CAFile = dir + "/junk.pem"
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("junk CA file: err = %v", err)
	}
}

func TestFingerprintPinning(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /system/version": versionRoute("6.3.10.1")})
	der := f.srv.Certificate().Raw
	sum := sha256.Sum256(der)
	for _, fp := range []string{Fingerprint(der), hex.EncodeToString(sum[:]), strings.ToLower(Fingerprint(der))} {
		cfg := f.config(newFakeClock())
		cfg.CAPEM = nil
		cfg.Fingerprint = fp
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Version(context.Background()); err != nil {
			t.Errorf("pin %s: %v", fp, err)
		}
	}

	wrongSum := sha256.Sum256([]byte("another certificate"))
	cfg := f.config(newFakeClock())
	cfg.CAPEM = nil
	cfg.Fingerprint = hex.EncodeToString(wrongSum[:])
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Version(context.Background())
	var pe *PinError
	if !errors.Is(err, ErrTLS) || !errors.As(err, &pe) || pe.Got != Fingerprint(der) {
		t.Fatalf("wrong pin: err = %v", err)
	}

	cfg.Fingerprint = "AB:CD"
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Errorf("short fingerprint: err = %v", err)
	}
}

// TestPinDecidesAlone: a pinned certificate is trusted even when the CA
// bundle given too does not sign it (a renewed self-signed certificate),
// and a TLS failure shows the fingerprint of the certificate presented.
func TestPinDecidesAlone(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /system/version": versionRoute("6.3.10.1")})
	cfg := f.config(newFakeClock())
	cfg.CAFile, cfg.CAPEM = "", otherCAPEM(t)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Version(context.Background())
	want := Fingerprint(f.srv.Certificate().Raw)
	var ce *CertError
	if !errors.Is(err, ErrTLS) || !errors.As(err, &ce) || ce.Fingerprint != want || !strings.Contains(err.Error(), want) {
		t.Fatalf("CA wrong, no pin: err = %v, want ErrTLS showing fingerprint %s", err, want)
	}
	cfg.Fingerprint = want
	c, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatalf("pin right, CA wrong: %v", err)
	}
}

func TestNoTLSConfigRefused(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Host: "csm1.example.com", Username: "u", Password: "p"})
	if !errors.Is(err, ErrNoTLSConfig) {
		t.Fatalf("err = %v, want ErrNoTLSConfig", err)
	}
	for _, want := range []string{"csm1.example.com:9559", "ca_file", "fingerprint", "insecure"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestInsecureIsLoud(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /system/version": versionRoute("6.3.10.1")})
	cfg := f.config(newFakeClock())
	cfg.CAPEM = nil
	cfg.Insecure = true
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warning(); !strings.Contains(w, "DISABLED") || !strings.Contains(w, c.Server()) {
		t.Errorf("Warning() = %q", w)
	}
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := f.client(t, nil).Warning(); w != "" {
		t.Errorf("verified client warns: %q", w)
	}
}

func TestHostAndPort(t *testing.T) {
	t.Parallel()
	pem := []byte(nil)
	for _, tc := range []struct {
		host string
		port int
		want string
	}{
		{"csm1", 0, "csm1:9559"},
		{"csm1", 9443, "csm1:9443"},
		{"csm1:9000", 9443, "csm1:9000"},
		{"fd00::5", 0, "[fd00::5]:9559"},
		{"[fd00::5]:9600", 0, "[fd00::5]:9600"},
	} {
		c, err := New(Config{Host: tc.host, Port: tc.port, Insecure: true, CAPEM: pem})
		if err != nil {
			t.Errorf("%s/%d: %v", tc.host, tc.port, err)
			continue
		}
		if c.Server() != tc.want || c.base != "https://"+tc.want+"/CSM/web" {
			t.Errorf("%s/%d: server %s base %s", tc.host, tc.port, c.Server(), c.base)
		}
	}
	for _, bad := range []string{"", "https://csm1", "csm1:0", "csm1:x", ":9559"} {
		if _, err := New(Config{Host: bad, Insecure: true}); err == nil {
			t.Errorf("Host %q accepted", bad)
		}
	}
}

func TestRetryGETOnConnectionReset(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/version": func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= 2 {
				resetConn(w)
				return
			}
			versionRoute("6.3.10.1")(w, r)
		},
	})
	clk := newFakeClock()
	c := f.client(t, clk)
	v, err := c.Version(context.Background())
	if err != nil {
		t.Fatalf("err = %v, want success after retries", err)
	}
	if v.Version != "6.3.10.1" || n.Load() != 3 {
		t.Errorf("version %q after %d requests, want 6.3.10.1 after 3", v.Version, n.Load())
	}
	if s := clk.sleeps(); len(s) == 0 || s[0] != time.Second {
		t.Errorf("backoff sleeps = %v, want to start at 1s on the clock", s)
	}

	cfg := f.config(clk)
	cfg.Retries = -1
	n.Store(-10) // every request is reset
	once, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := once.Version(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no retries: err = %v, want ErrUnavailable", err)
	}
}

func TestNoRetryForPUT(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"PUT /system/ha/takeover": func(w http.ResponseWriter, r *http.Request) { resetConn(w) },
	})
	clk := newFakeClock()
	c := f.client(t, clk)
	_, err := c.Takeover(context.Background())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if n := f.count("PUT /system/ha/takeover"); n != 1 {
		t.Errorf("takeover sent %d times, want exactly 1", n)
	}
	if s := clk.sleeps(); len(s) != 0 {
		t.Errorf("backoff sleeps %v for a PUT", s)
	}
}

func TestTokenRetriedOnReset(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /system/version": versionRoute("6.3.10.1")})
	var n atomic.Int32
	f.tokenHit = func(w http.ResponseWriter, r *http.Request) bool {
		if n.Add(1) <= 2 {
			resetConn(w)
			return true
		}
		return false
	}
	c := f.client(t, newFakeClock())
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatalf("err = %v, want success after token retries", err)
	}
	if n.Load() != 3 {
		t.Errorf("token requests = %d, want 3", n.Load())
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	c, err := New(Config{Host: closedAddr(t), Username: testUser, Password: testPass, Insecure: true, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.HA(context.Background())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if s := clk.sleeps(); !cmp.Equal(s, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}) {
		t.Errorf("backoff = %v, want [1s 2s 4s] (3 retries)", s)
	}
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/version": func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			<-r.Context().Done()
			// Abort without a reply: returning would send an empty 200.
			panic(http.ErrAbortHandler)
		},
	})
	clk := newFakeClock()
	cfg := f.config(clk)
	cfg.Timeout = 80 * time.Millisecond
	cfg.Retries = 1
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = c.Version(context.Background())
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrUnavailable from a timeout", err)
	}
	if !strings.Contains(err.Error(), "after 2 attempts: no answer within 80ms") {
		t.Errorf("err = %v, want 2 attempts (one retry)", err)
	}
	if diff := cmp.Diff([]time.Duration{time.Second}, clk.sleeps()); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
	if n.Load() < 1 {
		t.Error("the handler never saw the request")
	}
}

func TestContextCancelNotRetried(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /system/version": versionRoute("6.3.10.1")})
	c := f.client(t, newFakeClock())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Version(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	t.Parallel()
	const standbyPass = "Stand/by pass?#%"
	key := "PUT /system/ha/setStandbyServer/csm2.example.com/admin/" + url.PathEscape(standbyPass)
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		key: replyWith("IWNR3030E", "Cannot connect to csm2.example.com as admin with password "+standbyPass+"."),
	})
	c := f.client(t, newFakeClock())
	ctx := context.Background()

	_, err := c.SetStandbyServer(ctx, "csm2.example.com", "admin", standbyPass)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Msg != "IWNR3030E" {
		t.Fatalf("err = %v, want the E reply", err)
	}
	if f.count(key) != 1 {
		t.Fatalf("the request did not reach the route %q", key)
	}
	checkNoSecret(t, err, standbyPass)
	if ae.Path != "/system/ha/setStandbyServer/csm2.example.com/admin/***" {
		t.Errorf("Path = %q", ae.Path)
	}

	// Transport errors (a *url.Error carries the URL) are redacted too.
	f.setRoute(key, func(w http.ResponseWriter, r *http.Request) { resetConn(w) })
	_, err = c.SetStandbyServer(ctx, "csm2.example.com", "admin", standbyPass)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	checkNoSecret(t, err, standbyPass)

	down, err := New(Config{Host: closedAddr(t), Username: testUser, Password: testPass, Insecure: true, Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	down.mu.Lock()
	down.tok = "tok-x" // skip the token request: fail on the PUT itself
	down.mu.Unlock()
	_, err = down.SetStandbyServer(ctx, "csm2.example.com", "admin", standbyPass)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	checkNoSecret(t, err, standbyPass)
	checkNoSecret(t, err, testPass)
}

func checkNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		msg := e.Error()
		for _, form := range []string{secret, url.PathEscape(secret)} {
			if strings.Contains(msg, form) {
				t.Errorf("secret %q in error %q", form, msg)
			}
		}
	}
}

func TestClientRoutes(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"POST /sessions/MM%201": replyWith(MsgSessionCmdDone, "done"),
		"GET /sessions/MM%201": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"name":"MM 1","numcopysets":4,"ratio":0.5}`))
		},
		"POST /sessions/scheduledtasks/enable/7":      replyWith("IWNR1810I", "enabled"),
		"POST /sessions/scheduledtasks/disable/7":     replyWith("IWNR1811I", "disabled"),
		"PUT /system/ha/setServerAsStandby/csm1":      replyWith(MsgMadeStandby, "standby"),
		"PUT /system/ha/setServerAsStandby/csm1/9561": replyWith(MsgMadeStandby, "standby"),
		"PUT /system/ha/removeHaServer/csm2":          replyWith("IWNR3021I", "removed"),
		"GET /sessions/scheduledtasks/7":              func(w http.ResponseWriter, r *http.Request) { writeJSON(w, ScheduledTask{ID: 7, Name: "nightly"}) },
		"GET /system/backupserver": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, BackupList{Backups: []Backup{{Name: "b1.zip", Size: 3}}})
		},
		"GET /system/ha":                           func(w http.ResponseWriter, r *http.Request) { writeJSON(w, HAStatus{IsLocalActive: true}) },
		"GET /sessions/scheduledtasks":             func(w http.ResponseWriter, r *http.Request) { writeJSON(w, []ScheduledTask{{ID: 7}}) },
		"PUT /system/backupserver":                 replyWith("IWNR1905I", "backup created"),
		"GET /system/version":                      versionRoute("6.3.10.1"),
		"GET /sessions/short":                      sessionsRoute(),
		"PUT /system/ha/takeover":                  replyWith(MsgTakeoverIssued, ""),
		"PUT /system/ha/reconnect":                 replyWith(MsgReconnected, ""),
		"PUT /system/ha/setStandbyServer/a/b/c%2F": replyWith(MsgMadeStandby, ""),
	})
	c := f.client(t, newFakeClock())
	ctx := context.Background()
	r, err := c.SessionCommand(ctx, "MM 1", "Start H1->H2")
	if err != nil || r.Msg != MsgSessionCmdDone {
		t.Fatalf("SessionCommand: %+v %v", r, err)
	}
	if got := f.form("POST /sessions/MM%201"); got != "cmd=Start+H1-%3EH2" {
		t.Errorf("form = %q", got)
	}
	s, err := c.Session(ctx, "MM 1")
	if err != nil || !cmp.Equal(s, map[string]any{"name": "MM 1", "numcopysets": int64(4), "ratio": 0.5}) {
		t.Errorf("Session = %#v, %v", s, err)
	}
	for name, call := range map[string]func() (*Reply, error){
		"enable":     func() (*Reply, error) { return c.EnableTask(ctx, 7) },
		"disable":    func() (*Reply, error) { return c.DisableTask(ctx, 7) },
		"standby":    func() (*Reply, error) { return c.SetServerAsStandby(ctx, "csm1", 0) },
		"standbyHA":  func() (*Reply, error) { return c.SetServerAsStandby(ctx, "csm1", 9561) },
		"remove":     func() (*Reply, error) { return c.RemoveHAServer(ctx, "csm2") },
		"backup":     func() (*Reply, error) { return c.CreateBackup(ctx) },
		"takeover":   func() (*Reply, error) { return c.Takeover(ctx) },
		"reconnect":  func() (*Reply, error) { return c.Reconnect(ctx) },
		"setStandby": func() (*Reply, error) { return c.SetStandbyServer(ctx, "a", "b", "c/") },
	} {
		if _, err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if task, err := c.Task(ctx, 7); err != nil || task.Name != "nightly" {
		t.Errorf("Task = %+v, %v", task, err)
	}
	if b, err := c.Backups(ctx); err != nil || len(b.Backups) != 1 || b.Backups[0].Name != "b1.zip" {
		t.Errorf("Backups = %+v, %v", b, err)
	}
	if _, err := c.SetServerAsStandby(ctx, " ", 0); err == nil {
		t.Error("empty active server accepted")
	}
	var ae *APIError
	if _, err := c.Session(ctx, "nope"); !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
		t.Errorf("unknown session: err = %v, want an APIError with HTTP 404", err)
	}
}

func TestDownloadBackup(t *testing.T) {
	t.Parallel()
	zip := bytes.Repeat([]byte("PK\x03\x04backup"), 1000)
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/backupserver/download": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/zip")
			w.Header().Set("Content-Disposition", `attachment; filename="../../etc/csmBackup_20250301.zip"`)
			_, _ = w.Write(zip)
		},
	})
	c := f.client(t, newFakeClock())
	var buf bytes.Buffer
	name, n, err := c.DownloadBackup(context.Background(), &buf, DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if name != "csmBackup_20250301.zip" || n != int64(len(zip)) || !bytes.Equal(buf.Bytes(), zip) {
		t.Errorf("name %q, n %d, %d bytes", name, n, buf.Len())
	}

	f.setRoute("GET /system/backupserver/download", replyWith("IWNR1906E", "The backup failed."))
	if _, _, err := c.DownloadBackup(context.Background(), &buf, DownloadOptions{}); !errors.Is(err, ErrRejected) {
		t.Errorf("E reply: err = %v, want ErrRejected", err)
	}
}

// A backup over the limit is refused before anything is written when the
// server says its size, else as soon as the limit is passed; Check sees the
// size first.
func TestDownloadBackupLimit(t *testing.T) {
	t.Parallel()
	zip := bytes.Repeat([]byte("PK"), 5000)
	var chunked atomic.Bool
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/backupserver/download": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/zip")
			if chunked.Load() {
				_, _ = w.Write(zip[:100])
				w.(http.Flusher).Flush() // no Content-Length: chunked
				_, _ = w.Write(zip[100:])
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(zip)))
			_, _ = w.Write(zip)
		},
	})
	c := f.client(t, newFakeClock())
	var buf bytes.Buffer
	var seen int64
	_, n, err := c.DownloadBackup(context.Background(), &buf, DownloadOptions{MaxSize: 1000, Check: func(size int64) error { seen = size; return nil }})
	if !errors.Is(err, ErrTooLarge) || n != 0 || buf.Len() != 0 || seen != 0 {
		t.Fatalf("with Content-Length: err %v, %d bytes written, Check saw %d; want ErrTooLarge before writing or checking", err, n, seen)
	}
	_, _, err = c.DownloadBackup(context.Background(), &buf, DownloadOptions{Check: func(size int64) error { seen = size; return errors.New("no room") }})
	if err == nil || !strings.Contains(err.Error(), "no room") || seen != int64(len(zip)) || buf.Len() != 0 {
		t.Fatalf("Check: err %v, saw %d, %d bytes written", err, seen, buf.Len())
	}
	chunked.Store(true)
	_, n, err = c.DownloadBackup(context.Background(), &buf, DownloadOptions{MaxSize: 1000, Check: func(size int64) error { seen = size; return nil }})
	if !errors.Is(err, ErrTooLarge) || n != 1001 || seen != -1 {
		t.Fatalf("chunked: err %v, %d bytes read, Check saw %d; want ErrTooLarge after 1001 bytes", err, n, seen)
	}
}

func TestSafeFileName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"csmBackup_1.zip":    "csmBackup_1.zip",
		"../../etc/passwd":   "passwd",
		`C:\x\y\b.zip`:       "b.zip",
		"..":                 "",
		"":                   "",
		"a b;c.zip":          "a_b_c.zip",
		".hidden.zip":        "hidden.zip",
		"sauvegarde-été.zip": "sauvegarde-_t_.zip",
	} {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func versionRoute(v string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, Version{Reply: Reply{Msg: "IWNR1100I"}, Version: v})
	}
}

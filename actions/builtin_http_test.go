package actions_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
)

// tlsServer is a TLS test server on loopback and the path of a PEM file
// holding its certificate.
type tlsServer struct {
	*httptest.Server
	caFile string
	hang   chan struct{} // receives when a request to /hang arrives
}

func newTLSServer(t *testing.T) *tlsServer {
	t.Helper()
	s := &tlsServer{hang: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		io.WriteString(w, `{"role":"Active","n":3,"f":1.5,"list":[1,"a",null],"big":12345678901234567890}`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"method":       r.Method,
			"content_type": r.Header.Get("Content-Type"),
			"x_test":       r.Header.Get("X-Test"),
			"body":         string(body),
		})
	})
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "\nserver busy, try later\nsecond line\n")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, strings.Repeat(" ", 1<<20+10))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		s.hang <- struct{}{}
		<-r.Context().Done()
	})
	s.Server = httptest.NewUnstartedServer(mux)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	s.StartTLS()
	t.Cleanup(s.Close)
	s.caFile = writePEM(t, "ca.pem", s.Certificate().Raw)
	return s
}

func writePEM(t *testing.T, name string, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// otherCA writes the certificate of a CA that did not sign the test
// server's certificate.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(42),
		Subject:               pkix.Name{CommonName: "someone else's CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, "other.pem", der)
}

func TestHTTPAction(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	tests := []struct {
		name    string
		args    map[string]any
		check   func(t *testing.T, out actions.Outputs)
		wantErr string
	}{{
		name: "GET JSON",
		args: map[string]any{"url": s.URL + "/json"},
		check: func(t *testing.T, out actions.Outputs) {
			assertEqual(t, out["status"], int64(200))
			assertEqual(t, out["json"], map[string]any{
				"role": "Active", "n": int64(3), "f": 1.5, "list": []any{int64(1), "a", nil}, "big": 12345678901234567890.0,
			})
			headers := out["headers"].(map[string]any)
			assertEqual(t, headers["Content-Type"], "application/json; charset=utf-8")
			assertEqual(t, headers["X-Multi"], "a, b")
		},
	}, {
		name: "POST json sets the content type",
		args: map[string]any{"method": "POST", "url": s.URL + "/echo", "json": map[string]any{"a": []any{1, "x"}}, "headers": map[string]any{"X-Test": "yes"}},
		check: func(t *testing.T, out actions.Outputs) {
			assertEqual(t, out["status"], int64(201))
			assertEqual(t, out["json"], map[string]any{"method": "POST", "content_type": "application/json", "x_test": "yes", "body": `{"a":[1,"x"]}`})
		},
	}, {
		name: "PUT body as is, explicit content type",
		args: map[string]any{"method": "PUT", "url": s.URL + "/echo", "body": "a=1", "headers": map[string]any{"Content-Type": "text/plain"}},
		check: func(t *testing.T, out actions.Outputs) {
			assertEqual(t, out["json"], map[string]any{"method": "PUT", "content_type": "text/plain", "x_test": "", "body": "a=1"})
		},
	}, {
		name:    "status outside 2xx fails",
		args:    map[string]any{"url": s.URL + "/busy"},
		wantErr: "status 503 Service Unavailable (want 2xx): server busy, try later",
		check: func(t *testing.T, out actions.Outputs) {
			assertEqual(t, out["status"], int64(503))
			assertEqual(t, out["json"], nil)
		},
	}, {
		name: "ok_status accepts 503",
		args: map[string]any{"url": s.URL + "/busy", "ok_status": []any{float64(503)}},
		check: func(t *testing.T, out actions.Outputs) {
			assertEqual(t, out["body"], "\nserver busy, try later\nsecond line\n")
		},
	}, {
		name:    "ok_status refuses 201",
		args:    map[string]any{"method": "POST", "url": s.URL + "/echo", "ok_status": []any{200}},
		wantErr: "status 201 Created (want [200])",
	}, {
		name: "body capped at 1 MiB",
		args: map[string]any{"url": s.URL + "/big"},
		check: func(t *testing.T, out actions.Outputs) {
			body := out["body"].(string)
			if want := strings.Repeat(" ", 1<<20) + "\n[truncated 10 bytes]"; body != want {
				t.Errorf("body of %d bytes ending %q", len(body), body[len(body)-30:])
			}
			assertEqual(t, out["json"], nil)
		},
	}, {
		name:    "wrong CA",
		args:    map[string]any{"url": s.URL + "/json", "ca_file": otherCA(t)},
		wantErr: "certificate",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := map[string]any{"ca_file": s.caFile}
			for k, v := range tt.args {
				args[k] = v
			}
			out, err := runAction(t, "http", args)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Run: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Run error = %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

func TestHTTPVerifiesTLSWithSystemPool(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	_, err := runAction(t, "http", map[string]any{"url": s.URL + "/json"})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Run without ca_file = %v, want a certificate error: the test CA is not in the system pool", err)
	}
}

func TestHTTPProbe(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	v, err := observe(t, "http", map[string]any{"url": s.URL + "/busy", "ca_file": s.caFile})
	if err != nil {
		t.Fatalf("Observe: %v; a 503 is observed, not an error", err)
	}
	obs := v.(map[string]any)
	assertEqual(t, obs["status"], int64(503))
	assertEqual(t, obs["body"], "\nserver busy, try later\nsecond line\n")

	v, err = observe(t, "http", map[string]any{"method": "HEAD", "url": s.URL + "/json", "ca_file": s.caFile})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, v.(map[string]any)["body"], "")

	for _, args := range []map[string]any{
		{"method": "POST", "url": s.URL + "/echo", "ca_file": s.caFile},
		{"url": s.URL + "/echo", "ca_file": s.caFile, "body": "x"},
	} {
		if _, err := observe(t, "http", args); err == nil || !actions.IsPermanent(err) {
			t.Errorf("probe %v = %v, want a permanent argument error", args, err)
		}
	}

	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closed.Close()
	if _, err := observe(t, "http", map[string]any{"url": closed.URL, "ca_file": s.caFile}); err == nil {
		t.Error("probe of a closed server: no error, want a transport error")
	}
}

func TestHTTPTimeoutOnTheCallClock(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	clock := actionstest.NewClock(actionstest.Epoch)
	call := newCall("http", map[string]any{"url": s.URL + "/hang", "ca_file": s.caFile, "timeout": "45s"})
	call.Clock = clock
	a, _ := builtins(t).NewAction("http")
	errc := make(chan error, 1)
	go func() {
		_, err := a.Run(context.Background(), call)
		errc <- err
	}()
	<-s.hang // the request reached the server
	clock.Advance(44 * time.Second)
	select {
	case err := <-errc:
		t.Fatalf("returned before its timeout: %v", err)
	default:
	}
	clock.Advance(time.Second)
	err := <-errc
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no response within 45s") {
		t.Fatalf("Run = %v, want a timeout after 45s wrapping context.DeadlineExceeded", err)
	}
}

func TestHTTPErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	url := strings.Replace(s.URL, "https://", "https://admin:hunter2@", 1) + "/busy?token=s3cret"
	for _, args := range []map[string]any{
		{"url": url, "ca_file": s.caFile, "headers": map[string]any{"Authorization": "Bearer s3cret"}},
		{"url": url, "ca_file": otherCA(t)},
		{"url": "https://admin:hunter2@[::1", "ca_file": s.caFile},
	} {
		_, err := runAction(t, "http", args)
		if err == nil {
			t.Fatalf("Run %v: no error", args)
		}
		if msg := err.Error(); strings.Contains(msg, "hunter2") || strings.Contains(msg, "s3cret") {
			t.Errorf("error shows a secret: %s", msg)
		}
	}
}

func TestHTTPBadArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, `argument "url": is required`},
		{map[string]any{"url": "example.com/x"}, `argument "url": want an absolute http:// or https:// URL`},
		{map[string]any{"url": "ftp://example.com/x"}, `argument "url": want an absolute http:// or https:// URL`},
		{map[string]any{"url": "https://example.com", "method": "BREW"}, `argument "method": want one of GET, HEAD, POST`},
		{map[string]any{"url": "https://example.com", "body": "x", "json": 1}, `argument "json": give either body or json, not both`},
		{map[string]any{"url": "https://example.com", "ok_status": []any{42}}, `argument "ok_status": 42 is not an HTTP status code`},
		{map[string]any{"url": "https://example.com", "timeout": "soon"}, `argument "timeout": want a duration such as "30s" or "5m", got "soon"`},
		{map[string]any{"url": "https://example.com", "timeout": "0s"}, `argument "timeout": must be positive`},
		{map[string]any{"url": "https://example.com", "headers": map[string]any{"Bad Name": "x"}}, `argument "headers": invalid header name "Bad Name"`},
		{map[string]any{"url": "https://example.com", "headers": map[string]any{"X": "a\r\nInjected: 1"}}, `argument "headers": header "X": the value contains a line break`},
		{map[string]any{"url": "https://example.com", "ca_file": filepath.Join(t.TempDir(), "none.pem")}, `argument "ca_file"`},
		{map[string]any{"url": "https://example.com", "ca_file": writeFile(t, "x.pem", "not pem")}, `holds no PEM certificate`},
	}
	for _, tt := range tests {
		_, err := runAction(t, "http", tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !actions.IsPermanent(err) {
			t.Errorf("http %v = %v, want a permanent error containing %q", tt.args, err, tt.want)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

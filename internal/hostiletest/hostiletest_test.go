package hostiletest_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/internal/hostiletest"
)

// noRedirects is a client that returns redirects instead of following them.
func noRedirects(c *http.Client) *http.Client {
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func get(t *testing.T, c *http.Client, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp, string(b)
}

func TestScriptRepliesInOrderAndRecords(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewServer(t)
	other := hostiletest.NewServer(t)
	s.Script("/go", hostiletest.Redirect(http.StatusFound, other.URL+"/there"), hostiletest.Reply{Status: http.StatusTeapot, Body: hostiletest.TerminalSpoof})
	c := noRedirects(s.Client())

	resp, _ := get(t, c, s.URL+"/go?x=1", http.Header{"X-Auth-Token": {"t0ken"}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != other.URL+"/there" {
		t.Errorf("first reply: %d, Location %q; want 302 to %s/there", resp.StatusCode, resp.Header.Get("Location"), other.URL)
	}
	for i := 0; i < 2; i++ { // the last reply repeats
		resp, body := get(t, c, s.URL+"/go", nil)
		if resp.StatusCode != http.StatusTeapot || body != hostiletest.TerminalSpoof {
			t.Errorf("reply %d: %d %q, want 418 %q", i+2, resp.StatusCode, body, hostiletest.TerminalSpoof)
		}
	}
	if resp, body := get(t, c, s.URL+"/unscripted", nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no reply scripted for /unscripted") {
		t.Errorf("unscripted path: %d %q, want 404 naming the path", resp.StatusCode, body)
	}

	reqs := s.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests recorded, want 4: %+v", len(reqs), reqs)
	}
	if r := reqs[0]; r.Method != "GET" || r.URI != "/go?x=1" || r.Header.Get("X-Auth-Token") != "t0ken" || r.TLS || !strings.HasPrefix(s.URL, "http://"+r.Host) {
		t.Errorf("first request recorded as %+v", r)
	}
	if got := len(other.Requests()); got != 0 {
		t.Errorf("the other server got %d requests, want 0: the client did not follow", got)
	}
	for i := 0; i < 4; i++ {
		if r := <-s.Arrived(); r.URI != reqs[i].URI {
			t.Errorf("Arrived %d: %s, want %s", i, r.URI, reqs[i].URI)
		}
	}
}

func TestTLSServerCAFile(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewTLSServer(t)
	other := hostiletest.NewTLSServer(t)
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", s.CAFile)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	s.Script("/", hostiletest.Reply{Body: "ok"})
	other.Script("/", hostiletest.Reply{Body: "other ok"})
	if _, body := get(t, c, s.URL+"/", nil); body != "ok" {
		t.Errorf("body %q, want ok", body)
	}
	if _, body := get(t, c, other.URL+"/", nil); body != "other ok" {
		t.Errorf("the other server's body %q: one CAFile verifies both", body)
	}
	if r := s.Requests()[0]; !r.TLS {
		t.Errorf("request recorded without TLS: %+v", r)
	}
}

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewServer(t)
	s.Script("/big", hostiletest.Reply{Body: "head:", Size: 3<<20 + 1})
	_, body := get(t, s.Client(), s.URL+"/big", nil)
	if len(body) != 3<<20+1 || !strings.HasPrefix(body, "head:xxx") || strings.Trim(body[5:], "x") != "" {
		t.Errorf("body of %d bytes starting %q, want head: and x up to %d bytes", len(body), body[:min(len(body), 20)], 3<<20+1)
	}
}

func TestDripAtTheTestsPace(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewServer(t)
	tick := make(chan struct{})
	s.Script("/drip", hostiletest.Reply{Body: "start\n", Pieces: []string{"one\n", "two\n"}, Tick: tick})
	resp, err := s.Client().Get(s.URL + "/drip")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line := func() string {
		t.Helper()
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", l, err)
		}
		return l
	}
	if l := line(); l != "start\n" {
		t.Fatalf("first line %q, want start", l)
	}
	tick <- struct{}{} // received: the server writes "one" now, not before
	if l := line(); l != "one\n" {
		t.Fatalf("second line %q, want one", l)
	}
	tick <- struct{}{}
	if l := line(); l != "two\n" {
		t.Fatalf("third line %q, want two", l)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the last piece: %q, %v; want the end of the body", rest, err)
	}
}

// TestCloseStopsADrip checks that a reply waiting for a tick does not keep
// Close from returning.
func TestCloseStopsADrip(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewServer(t)
	s.Script("/hang", hostiletest.Reply{Body: "partial", Pieces: []string{"never"}, Tick: make(chan struct{})})
	resp, err := s.Client().Get(s.URL + "/hang")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, len("partial"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "partial" {
		t.Fatalf("read %q, %v; want partial", buf, err)
	}
	s.Close()
	if rest, err := io.ReadAll(resp.Body); err == nil && strings.Contains(string(rest), "never") {
		t.Errorf("the piece waiting for a tick was written after Close: %q", rest)
	}
}

func TestFindSecret(t *testing.T) {
	t.Parallel()
	const secret = `S3cr3t Pw"&\/é%x<>`
	for name, enc := range hostiletest.Encodings(secret) {
		if found := hostiletest.FindSecret("x "+enc+" y", secret); !slices.Contains(found, name) {
			t.Errorf("FindSecret of the %s form %q = %v, want it named", name, enc, found)
		}
	}
	quoted3 := strconv.Quote(strconv.Quote(strconv.Quote(secret)))
	rootAuth := base64.StdEncoding.EncodeToString([]byte("root:" + secret))
	for text, want := range map[string]string{
		"Authorization: Basic " + rootAuth:                     "base64 fragment",
		"Authorization: Basic " + rootAuth[:8] + "[redacted]=": "",
		"observed " + quoted3:                                  "escaped piece",
		"observed " + strconv.Quote(secret)[:12] + "...":       "escaped piece",
		"observed " + url.QueryEscape(url.QueryEscape(secret)): "escaped piece",
		`observed "[redacted]", nothing else: S3cr3, Pw, %x<>`: "",
	} {
		found := hostiletest.FindSecret(text, secret)
		if want == "" && len(found) > 0 || want != "" && !slices.Contains(found, want) {
			t.Errorf("FindSecret(%q) = %v, want %q", text, found, want)
		}
	}
}

// A lone high surrogate does not swallow the escape after it.
func TestFindSecretAfterALoneSurrogate(t *testing.T) {
	t.Parallel()
	if found := hostiletest.FindSecret(`\ud83d\u0053\u0033\u0063\u0072\u0033\u0074`, "S3cr3t"); len(found) == 0 {
		t.Error("the secret after a lone high surrogate escape was not found")
	}
}

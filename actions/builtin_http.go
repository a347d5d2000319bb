package actions

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/csmplan/csmplan/internal/termsafe"
)

var httpArgsCommon = `
    "url": {"type": "string", "minLength": 1, "description": "The URL to request: http:// or https://."},
    "headers": {
      "type": "object",
      "additionalProperties": {"type": "string"},
      "description": "Request headers, such as {Authorization: \"Bearer ${params.token}\"}."
    },
    "ca_file": {"type": "string", "minLength": 1, "description": "A PEM bundle of the certificate authorities that verify the server's TLS certificate; by default the system's. Verification is never skipped."},
    "timeout": {"type": "string", "pattern": "` + DurationPatternJSON + `", "default": "30s", "description": "How long to wait for the whole exchange, as a Go duration. Default 30s."},
    "follow_redirects": {"type": "boolean", "default": false, "description": "Follow redirects (a 3xx status with a Location), at most 10. Default false: a redirect is the response, with its status and its Location header. A followed redirect never goes from https:// to http://; it is sent without the headers given here (they may hold secrets), without any header at all to another host:port, and is refused when it would send the request body to another host:port."}`

var httpOutputs = []Output{
	{Name: "status", Type: "integer", Description: "HTTP status code of the response, such as 200."},
	{Name: "headers", Type: "object", Description: "Response headers by canonical name (Content-Type); repeated headers are joined with \", \"."},
	{Name: "body", Type: "string", Description: "Response body, at most 1 MiB, followed by \"[truncated N bytes]\" when cut."},
	{Name: "json", Type: "any", Description: "The body parsed, when the response is JSON (application/json or +json); else null."},
}

var httpActionSpec = Spec{
	Name:    "http",
	Summary: "Send an HTTP request and check the response status",
	Args: json.RawMessage(`{
  "type": "object",
  "description": "Arguments of the http action. body and json are exclusive.",
  "additionalProperties": false,
  "required": ["url"],
  "not": {"required": ["body", "json"]},
  "properties": {
    "method": {"type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], "default": "GET", "description": "The request method. Default GET."},` + httpArgsCommon + `,
    "body": {"type": "string", "description": "The request body, sent as is."},
    "json": {"description": "Any value, sent as a JSON body with Content-Type application/json (unless headers set one)."},
    "ok_status": {
      "type": "array",
      "minItems": 1,
      "items": {"type": "integer", "minimum": 100, "maximum": 599},
      "description": "Status codes that mean success; any other fails the action. Default: any 2xx."
    }
  }
}`),
	Outputs: httpOutputs,
	Mutates: true,
}

var httpProbeSpec = Spec{
	Name:    "http",
	Summary: "Send an HTTP GET or HEAD request and observe the response",
	Args: json.RawMessage(`{
  "type": "object",
  "description": "Arguments of the http probe. Every status is observed; only a failed exchange is an error.",
  "additionalProperties": false,
  "required": ["url"],
  "properties": {
    "method": {"type": "string", "enum": ["GET", "HEAD"], "default": "GET", "description": "The request method: GET (the default) or HEAD; a probe never changes the world."},` + httpArgsCommon + `
  }
}`),
	Outputs: httpOutputs,
}

// httpArgs are the parsed arguments of http.
type httpArgs struct {
	method   string
	url      *url.URL
	headers  map[string]string
	body     []byte
	jsonBody bool
	caFile   string
	timeout  time.Duration
	follow   bool  // follow redirects
	okStatus []int // nil: any 2xx
}

var (
	actionMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	probeMethods  = []string{"GET", "HEAD"}
)

func parseHTTP(args map[string]any, probe bool) (httpArgs, error) {
	var a httpArgs
	var err error
	methods := actionMethods
	if probe {
		methods = probeMethods
	}
	if a.method, err = OptStringArg(args, "method", "GET"); err != nil {
		return a, err
	}
	if !slices.Contains(methods, a.method) {
		return a, ArgErrorf("method", "want one of %s, got %q", strings.Join(methods, ", "), a.method)
	}
	raw, err := StringArg(args, "url")
	if err != nil {
		return a, err
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL is not quoted back: it may hold credentials.
		return a, ArgErrorf("url", "want an absolute http:// or https:// URL")
	}
	a.url = u
	if a.headers, err = OptStringMapArg(args, "headers"); err != nil {
		return a, err
	}
	for _, k := range slices.Sorted(maps.Keys(a.headers)) {
		if !validHeaderName(k) {
			return a, ArgErrorf("headers", "invalid header name %q", k)
		}
		if strings.ContainsAny(a.headers[k], "\r\n\x00") {
			return a, ArgErrorf("headers", "header %q: the value contains a line break or NUL", k)
		}
	}
	if a.caFile, err = OptStringArg(args, "ca_file", ""); err != nil {
		return a, err
	}
	if a.timeout, err = OptDurationArg(args, "timeout", 30*time.Second); err != nil {
		return a, err
	}
	if a.timeout == 0 {
		return a, ArgErrorf("timeout", "must be positive")
	}
	if a.follow, err = OptBoolArg(args, "follow_redirects", false); err != nil {
		return a, err
	}
	if probe {
		for _, k := range []string{"body", "json", "ok_status"} {
			if _, ok := args[k]; ok {
				return a, ArgErrorf(k, "is not an argument of the http probe")
			}
		}
		return a, nil
	}
	hasBody := HasArg(args, "body")
	body, err := OptStringArg(args, "body", "")
	if err != nil {
		return a, err
	}
	if v, ok := args["json"]; ok {
		if hasBody {
			return a, ArgErrorf("json", "give either body or json, not both")
		}
		b, err := json.Marshal(v)
		if err != nil {
			return a, ArgErrorf("json", "cannot be encoded as JSON: %v", err)
		}
		a.body, a.jsonBody = b, true
	} else if hasBody {
		a.body = []byte(body)
	}
	if a.okStatus, err = OptIntsArg(args, "ok_status", nil); err != nil {
		return a, err
	}
	if a.okStatus != nil && len(a.okStatus) == 0 {
		return a, ArgErrorf("ok_status", "must list at least one status code")
	}
	for _, s := range a.okStatus {
		if s < 100 || s > 599 {
			return a, ArgErrorf("ok_status", "%d is not an HTTP status code", s)
		}
	}
	return a, nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// safeURL is the URL for messages: without credentials and query, which may
// hold secrets.
func safeURL(u *url.URL) string {
	s := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" {
		s += "?..."
	}
	return s
}

// maxRedirects is the most redirects that http follows in one exchange.
const maxRedirects = 10

// RedirectError reports a redirect that the http action or probe did not
// follow, and the rule that stopped it. Errors holding one are permanent:
// trying again meets the same rule.
type RedirectError struct {
	// Status is the status code of the redirect, such as 302.
	Status int
	// Location is where the redirect pointed, without credentials and
	// query (they may hold secrets), control characters escaped.
	Location string
	// Rule says why the redirect was not followed, such as "not followed
	// (follow_redirects is false)" or "refused: it would downgrade
	// https:// to http://".
	Rule string
}

// Error says "status 302 Found: redirect to URL", then the rule.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("status %d %s: redirect to %s %s", e.Status, http.StatusText(e.Status), e.Location, e.Rule)
}

// The rules of a RedirectError.
const (
	ruleNotFollowed = "not followed (follow_redirects is false)"
	ruleDowngrade   = "refused: it would downgrade https:// to http://"
	ruleBody        = "refused: it would send the request body to another host"
)

// origin is the scheme and host:port of u, with the default port made
// explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// locationOf returns the Location of a redirect response for messages: the
// URL resolved against the request's, without credentials and query; ""
// when there is none.
func locationOf(resp *http.Response) string {
	raw := resp.Header.Get("Location")
	if raw == "" {
		return ""
	}
	u, err := resp.Location()
	if err != nil {
		raw, _, _ = strings.Cut(raw, "?")
		return termsafe.String(firstLine(raw, 200)) + " (unparsable)"
	}
	return termsafe.String(safeURL(u))
}

// checkRedirect returns the redirect policy of a: none is followed unless
// a.follow; never one from https to http, nor more than maxRedirects. The
// headers of a.headers, which may hold secrets, and Referer, which may hold
// the query, are never carried; to another origin than the first
// request's, no header at all is, and a body is refused.
func checkRedirect(a httpArgs) func(req *http.Request, via []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !a.follow {
			return http.ErrUseLastResponse
		}
		refuse := func(rule string) error {
			return Permanent(&RedirectError{Status: req.Response.StatusCode, Location: termsafe.String(safeURL(req.URL)), Rule: rule})
		}
		if len(via) > maxRedirects {
			return refuse(fmt.Sprintf("refused: more than %d redirects", maxRedirects))
		}
		if req.URL.Scheme != "https" {
			for _, r := range via {
				if r.URL.Scheme == "https" {
					return refuse(ruleDowngrade)
				}
			}
		}
		if origin(req.URL) != origin(via[0].URL) {
			if req.Body != nil && req.Body != http.NoBody {
				return refuse(ruleBody)
			}
			req.Header = http.Header{}
			return nil
		}
		for k := range a.headers {
			req.Header.Del(k)
		}
		req.Header.Del("Referer")
		return nil
	}
}

// newHTTPClient returns a client that verifies TLS with the certificate
// authorities of caFile, or the system's when caFile is empty.
func newHTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, Permanent(fmt.Errorf("argument \"ca_file\": %w", err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, Permanent(fmt.Errorf("argument \"ca_file\": %s holds no PEM certificate", caFile))
		}
		cfg.RootCAs = pool
	}
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}, nil
}

// httpDo sends the request of a and returns the observation {status,
// headers, body, json}, and for a redirect it did not follow, where the
// redirect pointed (see locationOf).
func httpDo(ctx context.Context, call *Call, a httpArgs) (obs map[string]any, location string, err error) {
	where := fmt.Sprintf("http %s %s", a.method, safeURL(a.url))
	client, err := newHTTPClient(a.caFile)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", where, err)
	}
	defer client.CloseIdleConnections()
	client.CheckRedirect = checkRedirect(a)
	ctx, cancel := clockOf(call).WithTimeout(ctx, a.timeout)
	defer cancel()
	fail := func(err error) error {
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				return fmt.Errorf("%s: no response within %s: %w", where, a.timeout, ContextError(ctx))
			}
			return fmt.Errorf("%s: %w", where, ContextError(ctx))
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, which may hold secrets
		}
		if IsPermanent(err) {
			return Permanent(fmt.Errorf("%s: %w", where, err))
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	var body io.Reader
	if a.body != nil {
		body = bytes.NewReader(a.body)
	}
	req, err := http.NewRequestWithContext(ctx, a.method, a.url.String(), body)
	if err != nil {
		return nil, "", Permanent(fail(err))
	}
	for _, k := range slices.Sorted(maps.Keys(a.headers)) {
		req.Header.Set(k, a.headers[k])
	}
	if a.jsonBody && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", fail(err)
	}
	defer resp.Body.Close()
	buf := newCappedBuffer(maxOutput)
	if _, err := io.Copy(buf, resp.Body); err != nil {
		return nil, "", fail(fmt.Errorf("reading the response: %w", err))
	}
	headers := make(map[string]any, len(resp.Header))
	for k, v := range resp.Header {
		headers[k] = strings.Join(v, ", ")
	}
	var parsed any
	if buf.dropped() == 0 && isJSON(resp.Header.Get("Content-Type")) {
		parsed = parseJSON(buf.head)
	}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		location = locationOf(resp)
	}
	return map[string]any{
		"status":  int64(resp.StatusCode),
		"headers": headers,
		"body":    buf.String(),
		"json":    parsed,
	}, location, nil
}

// isJSON reports whether a Content-Type is JSON.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// parseJSON decodes b into JSON-like values (integers as int64), or returns
// nil when b is not one JSON value.
func parseJSON(b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil
	}
	return Normalize(v)
}

// httpAction sends a request and fails unless the status is acceptable.
type httpAction struct{}

var (
	_ Action    = (*httpAction)(nil)
	_ Validator = (*httpAction)(nil)
)

// Validate checks the arguments.
func (*httpAction) Validate(args map[string]any) error {
	_, err := parseHTTP(args, false)
	return err
}

// Run sends the request. When the status is not acceptable, the outputs are
// returned together with an error naming the status.
func (*httpAction) Run(ctx context.Context, call *Call) (Outputs, error) {
	if err := ContextError(ctx); err != nil {
		return nil, err
	}
	a, err := parseHTTP(call.Args, false)
	if err != nil {
		return nil, err
	}
	obs, location, err := httpDo(ctx, call, a)
	if err != nil {
		return nil, err
	}
	status := int(obs["status"].(int64))
	ok := status >= 200 && status <= 299
	want := "2xx"
	if a.okStatus != nil {
		ok = slices.Contains(a.okStatus, status)
		want = fmt.Sprint(a.okStatus)
	}
	if !ok {
		where := fmt.Sprintf("http %s %s", a.method, safeURL(a.url))
		if location != "" {
			rule := ruleNotFollowed
			if a.follow {
				rule = "not followed (not a redirect that can be followed)"
			}
			return Outputs(obs), Permanent(fmt.Errorf("%s: %w", where, &RedirectError{Status: status, Location: location, Rule: rule}))
		}
		msg := fmt.Sprintf("%s: status %d %s (want %s)", where, status, http.StatusText(status), want)
		if b := firstLine(obs["body"].(string), 200); b != "" {
			msg += ": " + termsafe.String(b)
		}
		return Outputs(obs), errors.New(msg)
	}
	return Outputs(obs), nil
}

// firstLine returns the first non-empty line of s, at most n bytes.
func firstLine(s string, n int) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > n {
				l = strings.ToValidUTF8(l[:n], "") + "..."
			}
			return l
		}
	}
	return ""
}

// httpProbe sends a GET or HEAD request and observes the response.
type httpProbe struct{}

var (
	_ Probe     = (*httpProbe)(nil)
	_ Validator = (*httpProbe)(nil)
)

// Validate checks the arguments.
func (*httpProbe) Validate(args map[string]any) error {
	_, err := parseHTTP(args, true)
	return err
}

// Observe sends the request; any status is observed, only a failed exchange
// is an error.
func (*httpProbe) Observe(ctx context.Context, call *Call) (any, error) {
	if err := ContextError(ctx); err != nil {
		return nil, err
	}
	a, err := parseHTTP(call.Args, true)
	if err != nil {
		return nil, err
	}
	obs, _, err := httpDo(ctx, call, a)
	if err != nil {
		return nil, err
	}
	return obs, nil
}

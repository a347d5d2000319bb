package runner_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/internal/hostiletest"
	"github.com/csmplan/csmplan/runner"
)

// hardPassword holds what JSON, Go quoting, HTML and URLs escape.
const hardPassword = `S3cr3t Pw"&\/é%x<>`

// leakyRunbook shows its secret param through every channel: unmet value
// conditions (a list, a string), an http probe and http actions whose
// server echoes the token it was sent in other encodings.
const leakyRunbook = `
params:
  password: {type: string, secret: true}
  url: {type: string}
  ca: {type: string}
steps:
  - id: list
    pre:
      - value: ["${params.password}"]
        expect: {equals: ["x"]}
    on_failure: continue
  - id: scalar
    pre:
      - value: ${params.password}
        expect: {equals: "x"}
    on_failure: continue
  - id: probe
    pre:
      - probe: http
        with: {url: "${params.url}/echo", ca_file: "${params.ca}", headers: {X-Auth-Token: "${params.password}"}}
        expect: {path: body, equals: "x"}
    on_failure: continue
  - id: call
    action: http
    with: {url: "${params.url}/echo", ca_file: "${params.ca}", headers: {X-Auth-Token: "${params.password}"}}
  - id: fail
    action: http
    with: {url: "${params.url}/fail", ca_file: "${params.ca}", headers: {X-Auth-Token: "${params.password}"}}
`

// echoServer answers /echo with the password in many encodings, in a JSON
// body and a header, and /fail with a 500 that quotes it.
func echoServer(t *testing.T, password string) *hostiletest.Server {
	t.Helper()
	s := hostiletest.NewTLSServer(t)
	enc := hostiletest.Encodings(password)
	body, err := json.Marshal(map[string]any{
		"token": password,
		"auth":  "Basic " + base64.StdEncoding.EncodeToString([]byte("root:"+password)),
		"path":  "/p/" + enc["url-segment"],
		"query": "?t=" + enc["url-query"],
		"html":  "<b>" + enc["html"] + "</b>",
		"note":  "you sent " + enc["json"],
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Script("/echo", hostiletest.Reply{
		Header: http.Header{"Content-Type": {"application/json"}, "X-Echo": {"t=" + enc["url-query"] + "; b=" + enc["base64"]}},
		Body:   string(body),
	})
	s.Script("/fail", hostiletest.Reply{Status: http.StatusForbidden, Body: fmt.Sprintf("bad token %q, %s\n", password, enc["url-path"])})
	return s
}

// TestRunRedactsEveryEncoding runs a plan that shows a secret through every
// channel, for real and dry, and looks for any encoding of the secret in
// what each channel wrote: the events encoded as JSON and logged with slog,
// the report, the journal's lines and the error.
func TestRunRedactsEveryEncoding(t *testing.T) {
	t.Parallel()
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry=%t", dry), func(t *testing.T) {
			t.Parallel()
			s := echoServer(t, hardPassword)
			kit := actionstest.NewKit()
			var events, logged bytes.Buffer
			enc := json.NewEncoder(&events)
			opts := runner.Options{
				DryRun: dry,
				Params: map[string]any{"password": hardPassword, "url": s.URL, "ca": s.CAFile},
				Observers: []runner.Observer{
					runner.ObserverFunc(func(e runner.Event) { _ = enc.Encode(e) }),
					runner.SlogObserver(slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))),
				},
			}
			path := filepath.Join(t.TempDir(), "run.journal")
			j, err := runner.OpenJournal(path, false)
			if err != nil {
				t.Fatal(err)
			}
			opts.Journal = j
			rep, runErr := runWith(t, kit, leakyRunbook, opts)
			j.Close()
			errText := ""
			switch {
			case runErr != nil:
				errText = runErr.Error()
			case !dry:
				t.Fatal("the run succeeded; want the failures that show the secret")
			}
			report, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			journal, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			channels := map[string]string{
				"events":  events.String(),
				"slog":    logged.String(),
				"report":  string(report) + fmt.Sprintf("%+v", rep),
				"journal": string(journal),
				"error":   errText,
			}
			for name, text := range channels {
				if found := hostiletest.FindSecret(text, hardPassword); len(found) > 0 {
					t.Errorf("%s shows the password as %v:\n%s", name, found, text)
				}
			}
			// The channels did carry what the secret was replaced in.
			wantRedacted := []string{"events", "slog", "report"}
			if !dry { // a dry run writes no journal, and its blocked steps are no error
				wantRedacted = append(wantRedacted, "journal", "error")
				out := rep.Step("call").Outputs
				if body, _ := out["body"].(string); !strings.Contains(body, runner.Redacted) || !strings.Contains(body, `"path":"/p/`) {
					t.Errorf("the http action's body output %q: want it kept, with the password redacted", body)
				}
			}
			for _, name := range wantRedacted {
				if !strings.Contains(channels[name], runner.Redacted) {
					t.Errorf("%s does not hold %s: the test does not show the secret there:\n%s", name, runner.Redacted, channels[name])
				}
			}
		})
	}
}

func runWith(t *testing.T, kit *actionstest.Kit, body string, opts runner.Options) (*runner.Report, error) {
	t.Helper()
	reg := kit.Registry()
	opts.Registry = reg
	opts.Clock = kit.Clock
	return runner.Run(context.Background(), load(t, reg, body), opts)
}

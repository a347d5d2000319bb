package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/internal/hostiletest"
	"github.com/csmplan/csmplan/runner"
)

// redactPassword holds what JSON, Go quoting, HTML and URLs escape.
const redactPassword = `S3cr3t Pw"&\/é%x<>`

// redactRunbook shows its secret param every way a run can: unmet value
// conditions on a list and a string, an http probe and http actions whose
// server echoes the token in other encodings, and fails quoting it.
const redactRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: redact
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

// TestCLIRedactsEveryEncoding runs the binary on redactRunbook with --json,
// plainly and with plan, and looks for any encoding of the password in
// stdout, stderr and the journal.
func TestCLIRedactsEveryEncoding(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := hostiletest.NewTLSServer(t)
	enc := hostiletest.Encodings(redactPassword)
	body, err := json.Marshal(map[string]any{
		"token": redactPassword,
		"auth":  "Basic " + base64.StdEncoding.EncodeToString([]byte("root:"+redactPassword)),
		"path":  "/p/" + enc["url-segment"],
		"query": "?t=" + enc["url-query"],
		"html":  "<b>" + enc["html"] + "</b>",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Script("/echo", hostiletest.Reply{
		Header: http.Header{"Content-Type": {"application/json"}, "X-Echo": {"t=" + enc["url-query"] + "; b=" + enc["base64"]}},
		Body:   string(body),
	})
	s.Script("/fail", hostiletest.Reply{Status: http.StatusForbidden, Body: fmt.Sprintf("bad token %q, %s\n", redactPassword, enc["url-path"])})
	runbook := filepath.Join(dir, "redact.yaml")
	if err := os.WriteFile(runbook, []byte(redactRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	params := []string{"-p", "password=" + redactPassword, "-p", "url=" + s.URL, "-p", "ca=" + s.CAFile}

	tests := []struct {
		name    string
		args    []string
		journal bool
		code    int
		want    []string // in stdout
	}{
		{"run --json", []string{"run", "--json"}, true, exitFailed, []string{`"type":"run.end"`, runner.Redacted}},
		{"run", []string{"run"}, true, exitFailed, []string{"Failed: 5 steps", runner.Redacted}},
		// The blocked steps go on (on_failure: continue), and the dry run
		// ends failed, as a run would.
		{"plan", []string{"plan"}, false, exitFailed, []string{"3 blocked", runner.Redacted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := tt.args
			journal := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "")+".journal")
			if tt.journal {
				args = append(args, "--journal", journal)
			}
			r := cli(t, dir, append(append(args, params...), runbook)...)
			r.want(t, tt.code, "stdout", tt.want...)
			for stream, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
				if found := hostiletest.FindSecret(text, redactPassword); len(found) > 0 {
					t.Errorf("%s shows the password as %v; %v", stream, found, r)
				}
			}
			if !tt.journal {
				return
			}
			data, err := os.ReadFile(journal)
			if err != nil {
				t.Fatal(err)
			}
			if found := hostiletest.FindSecret(string(data), redactPassword); len(found) > 0 {
				t.Errorf("the journal shows the password as %v:\n%s", found, data)
			}
			recs := journalRecords(t, journal)
			if last := recs[len(recs)-1]; last["type"] != "run.end" || !strings.Contains(fmt.Sprint(last["error"]), runner.Redacted) {
				t.Errorf("the journal ends with %v, want run.end with the failures, redacted", last)
			}
		})
	}
}

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan"
)

// Problems with values of a --params file say FILE:LINE:COL, as a
// runbook's do; a value given again with -p is not the file's.
func TestParamsFileLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "p.yaml", "# params\nprimry: csm1\nmaintain_dr: maybe\nsync_timeout: soon\npassword: s3cret-pw\n")
	r := cli(t, dir, "plan", "--params", "p.yaml", "-p", "sync_timeout=1m")
	r.want(t, exitUsage, "stderr",
		`p.yaml:2:1: param primry: unknown param; did you mean "primary"?`,
		`p.yaml:3:14: param maintain_dr: "maybe" is not a boolean`)
	if strings.Contains(r.stderr, "sync_timeout") || strings.Contains(r.stderr, "s3cret") {
		t.Errorf("stderr names a value given with -p, or shows a secret: %v", r)
	}
	for name, tc := range map[string]struct{ src, want string }{
		"syntax":    {"primary: csm1\ninstaller: [/opt/setup.bin\n", "bad.yaml:2:12: unclosed '['"},
		"list":      {"- primary\n", "bad.yaml:1:1: want a mapping of param names to values"},
		"duplicate": {"primary: a\nprimary: b\n", "bad.yaml:2:1: param primary is given twice (first at line 1)"},
		"two docs":  {"primary: a\n---\nprimary: b\n", "bad.yaml:2:1: a params file holds one YAML document"},
	} {
		writeFile(t, dir, "bad.yaml", tc.src)
		r := cli(t, dir, "plan", "--params", "bad.yaml")
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, tc.want) {
			t.Errorf("%s: want exit 2 and stderr starting %q; %v", name, tc.want, r)
		}
	}
	r = cli(t, dir, "plan", "--params", "missing.yaml")
	r.want(t, exitUsage, "stderr", "--params: missing.yaml: no such file or directory")
	if strings.Contains(r.stderr, "open ") {
		t.Errorf("stderr shows Go's open: %v", r)
	}
}

// A place in the built-in runbook says that it is built in, and how to get
// a copy; a place in a runbook file does not.
func TestBuiltinRunbookPlaces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := 0
	for i, l := range strings.Split(string(csmplan.DefaultRunbook()), "\n") {
		if strings.TrimSpace(l) == "- id: upgrade-primary" {
			line = i + 1
		}
	}
	at := fmt.Sprintf("csm-upgrade.yaml:%d", line)
	r := cli(t, dir, "run", "--simulate", "--yes", "--fault", "installer-fails")
	r.want(t, exitFailed, "stdout", "at "+at+" (the built-in runbook; 'csmplan init' writes a copy)\n")
	r.want(t, exitFailed, "stderr", `error: step "upgrade-primary" (`+at+`, the built-in runbook; 'csmplan init' writes a copy): `)
	cli(t, dir, "init").want(t, exitOK, "stdout")
	r = cli(t, dir, "run", "--simulate", "--yes", "--fault", "installer-fails", "csm-upgrade.yaml")
	r.want(t, exitFailed, "stdout", "at "+at+"\n")
	r.want(t, exitFailed, "stderr", `error: step "upgrade-primary" (`+at+`): `)
	if strings.Contains(r.stdout+r.stderr, "built-in") {
		t.Errorf("a runbook file is called built in: %v", r)
	}
}

// The simulator's control key is in a file, never on the installer's
// command line: neither the params that csmplan sim writes nor a run's
// events (which show the installer's argv) hold it.
func TestControlKeyNotOnCommandLines(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	sim := startSim(t, ctx, dir, "--install-time", "0s")
	src, err := os.ReadFile(sim.params)
	if err != nil {
		t.Fatal(err)
	}
	var params map[string]any
	if err := yaml.Unmarshal(src, &params); err != nil {
		t.Fatal(err)
	}
	argv, _ := params["installer"].([]any)
	var keyFile string
	for i, a := range argv {
		if a == "--key-file" && i+1 < len(argv) {
			keyFile, _ = argv[i+1].(string)
		}
	}
	key, err := os.ReadFile(keyFile)
	if err != nil || len(strings.TrimSpace(string(key))) < 16 {
		t.Fatalf("installer %q: key file %q: %q, %v", argv, keyFile, key, err)
	}
	k := strings.TrimSpace(string(key))
	if filepath.Dir(keyFile) != filepath.Dir(params["ca_file"].(string)) || strings.Contains(string(src), k) {
		t.Fatalf("the params file shows the control key, or the key file is not the pair's:\n%s", src)
	}
	r := cli(t, dir, "run", "--params", sim.params, "--json", "--yes")
	r.want(t, exitOK, "stdout", "--key-file")
	if strings.Contains(r.stdout+r.stderr, k) {
		t.Errorf("the run's output shows the control key: %v", r)
	}
	sim.stop(syscall.SIGTERM)
}

// A secret too short to redact is refused, and not shown.
func TestShortSecretRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cliEnv(t, dir, []string{"CSMPLAN_PARAM_PASSWORD=q7"}, "plan", "--simulate")
	r.want(t, exitUsage, "stderr", "param password: a secret of fewer than 4 characters cannot be redacted")
	if strings.Contains(r.stdout+r.stderr, "q7") {
		t.Errorf("the output shows the secret: %v", r)
	}
}

// A dry run checks what the mutating steps need, and blocks the first
// that lacks it with the reason.
func TestPlanPreflight(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	row := func(r result, step string, subs ...string) {
		t.Helper()
		for _, l := range strings.Split(r.stdout, "\n") {
			if f := strings.Fields(l); len(f) > 2 && f[1] == step {
				for _, s := range subs {
					if !strings.Contains(l, s) {
						t.Errorf("the row of step %s does not say %q: %q", step, s, l)
					}
				}
				return
			}
		}
		t.Errorf("no row for step %s; %v", step, r)
	}
	r := cli(t, dir, "plan", "--simulate", "-p", "installer=/nonexistent")
	r.want(t, exitFailed, "stdout", "Dry run: blocked: 15 steps: 6 would run, 1 blocked, 8 not run")
	row(r, "upgrade-primary", " blocked ", "not ready to run: csm.install: the program /nonexistent cannot be run on primary (127.0.0.1:", "): no such file or directory")
	file := writeFile(t, dir, "file", "")
	r = cli(t, dir, "plan", "--simulate", "-p", "backup_dir="+file)
	r.want(t, exitFailed, "stdout")
	row(r, "backup", " blocked ", "not ready to run: csm.backup: backup directory "+file+": it is not a directory")
	r = cli(t, dir, "plan", "--simulate", "-p", "backup_dir="+filepath.Join(dir, "new"))
	r.want(t, exitOK, "stdout", "Dry run: 15 steps: 13 would run, 2 skipped")
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Error("the dry run made the backup directory")
	}
}

// repeatedPhrase returns a phrase of 5 words that occurs twice in s, or "".
func repeatedPhrase(s string) string {
	words := strings.Fields(s)
	seen := map[string]bool{}
	for i := 0; i+5 <= len(words); i++ {
		p := strings.Join(words[i:i+5], " ")
		if seen[p] {
			return p
		}
		seen[p] = true
	}
	return ""
}

// The messages of common mistakes say the cause once, in the user's words:
// no Go names, no library's request lines, no phrase said twice.
func TestErrorMessages(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	sim := startSim(t, ctx, dir, "--install-time", "0s")
	defer sim.stop(syscall.SIGTERM)
	writeFile(t, dir, "wrong-pw", "not-the-password\n")
	otherCA := writeFile(t, dir, "other-ca.pem", string(selfSignedPEM(t)))
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"wrong password": {[]string{"plan", "--params", sim.params, "-p", "password=@wrong-pw"}, exitFailed,
			"): error: csm login on 127.0.0.1:"},
		"missing CA file": {[]string{"plan", "--params", sim.params, "-p", "ca_file=" + filepath.Join(dir, "none.pem")}, exitFailed,
			`error: target "primary": ca_file: ` + filepath.Join(dir, "none.pem") + ": no such file or directory"},
		"not a CA file": {[]string{"plan", "--params", sim.params, "-p", "ca_file=wrong-pw"}, exitFailed,
			`error: target "primary": ca_file: wrong-pw holds no PEM certificate`},
		"wrong CA file": {[]string{"plan", "--params", sim.params, "-p", "ca_file=" + otherCA}, exitFailed,
			"TLS verification failed: certificate signed by unknown authority; the server presented a certificate with SHA-256 fingerprint"},
		"unknown host": {[]string{"plan", "--params", sim.params, "-p", "primary=csm1.invalid"}, exitFailed,
			"server unavailable: the host name csm1.invalid does not resolve (no such host)"},
		"unknown fault": {[]string{"plan", "--simulate", "--fault", "installer-fail"}, exitUsage,
			"csmplan plan: --fault installer-fail: unknown fault (did you mean installer-fails?); the faults are "},
		"timeout": {[]string{"run", "--simulate", "--yes", "--fault", "no-restart", "-p", "install_timeout=300ms"}, exitFailed,
			"timed out after 300ms\n"}, // after the installer exited 0, or while it ran on a busy machine
		"missing installer": {[]string{"run", "--simulate", "--yes", "-p", "installer=/nonexistent"}, exitFailed,
			`action failed: csm.install on target "primary": running /nonexistent on primary (127.0.0.1:`},
		"wrong type": {[]string{"plan", "--simulate", "-p", "maintain_dr=maybe"}, exitUsage,
			`param maintain_dr: "maybe" is not a boolean: want true or false`},
	} {
		r := cli(t, dir, tc.args...)
		out := r.stdout + r.stderr
		if r.code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("%s: want exit %d and %q; %v", name, tc.code, tc.want, r)
			continue
		}
		for _, internal := range []string{"CAFile", "Options.", "context deadline exceeded", `Get "http`, `Post "http`, "url.Error", "csm: config", "stat ", "open /", "x509: ", "tls: ", "dial tcp", "fork/exec", "remote: local"} {
			if strings.Contains(out, internal) {
				t.Errorf("%s: the output shows %q; %v", name, internal, r)
			}
		}
		errLine := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "error: ") || strings.HasPrefix(l, "csmplan ") || strings.HasPrefix(l, "  param ") {
				errLine += l + "\n"
			}
		}
		if name == "wrong CA file" {
			errLine, _, _ = strings.Cut(errLine, "; if the server") // the hint repeats the fingerprint to give
		}
		if p := repeatedPhrase(errLine); p != "" {
			t.Errorf("%s: %q is said twice in %q", name, p, errLine)
		}
	}
}

// selfSignedPEM is the PEM of a CA certificate that signed nothing the
// simulator serves.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

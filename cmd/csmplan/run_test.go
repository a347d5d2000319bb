package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/csmplan/csmplan"
)

const heldSimulator = "simulator: invariants held"

func TestRunSimulate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want []string // in stdout
		last string   // the last line of stdout is this or starts with it
	}{
		{"full upgrade", nil, exitOK, []string{
			"Running Upgrade IBM Copy Services Manager", "[5/15] ✓ Take over on the secondary (succeeded",
			"csm.install on primary", "[15/15] ✓ Re-establish the HA relationship and compare with step 1 (succeeded",
			"\nSucceeded: 15 steps: 13 succeeded, 2 skipped in ", "\nsimulated pair: both servers could run scheduled tasks for "}, heldSimulator},
		{"without DR", []string{"-p", "maintain_dr=false"}, exitOK, []string{
			"[2/15] - Check the pair is the pair, the standby is synchronized and at the primary's level (skipped)",
			"[5/15] - Take over on the secondary (skipped)", "[7/15] ✓ Run the installer on the primary (succeeded",
			"[14/15] - Run the installer on the secondary (skipped)", "\nSucceeded: 15 steps: 4 succeeded, 11 skipped in "}, heldSimulator},
		{"installer fails", []string{"--fault", "installer-fails"}, exitFailed, []string{
			"[7/15] ✗ Run the installer on the primary (failed)", "at csm-upgrade.yaml:", "\nFailed: 15 steps: 6 succeeded, 1 failed, 8 not run",
		}, heldSimulator + " (the upgrade stopped before the end"},
		{"token expiry", []string{"--fault", "token-expiry"}, exitOK, []string{"\nSucceeded: 15 steps"}, heldSimulator},
		{"the other reading of levels", []string{"--fault", "reconnect-across-levels"}, exitOK, []string{"\nSucceeded: 15 steps"}, heldSimulator},
		{"levels written differently", []string{"--fault", "version-suffix"}, exitOK, []string{"\nSucceeded: 15 steps"}, heldSimulator},
		{"odd serverinfo", []string{"--fault", "serverinfo-odd"}, exitOK, []string{"\nSucceeded: 15 steps"}, heldSimulator},
		{"the pair is not the pair", []string{"--fault", "partner-mismatch"}, exitFailed, []string{
			"[2/15] ✗ Check the pair is the pair", `observed "the partner is 127.0.0.9, not 127.0.0.2"`,
			"\nFailed: 15 steps: 1 succeeded, 1 failed, 13 not run"}, heldSimulator + " (the upgrade stopped before the end"},
		{"a renewed certificate", []string{"--fault", "cert-renewed"}, exitFailed, []string{
			"[7/15] ✗ Run the installer on the primary (failed)", "the server presented a certificate with SHA-256 fingerprint ",
			"trust it with param primary_fingerprint (-p primary_fingerprint="}, heldSimulator + " (the upgrade stopped before the end"},
		{"dry run", []string{"--dry-run"}, exitOK, []string{"Dry run of", "(would run", "\nDry run: 15 steps: 13 would run, 2 skipped"}, heldSimulator},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, dir, append([]string{"run", "--simulate"}, tt.args...)...)
			r.want(t, tt.code, "stdout", tt.want...)
			last := lastLine(r.stdout)
			if last != tt.last && !strings.HasPrefix(last, tt.last) {
				t.Errorf("last line %q, want %q; %v", last, tt.last, r)
			}
			if got := strings.Count(r.stdout, "simulator:"); got != 1 {
				t.Errorf("%d simulator: lines, want 1; %v", got, r)
			}
		})
	}
}

func TestRunParamErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "list.yaml", "- not\n- a mapping\n")
	tests := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"required params", []string{"run"}, []string{"param primary: required", "param password: required",
			"param target_version: required", "param installer: required", "-p NAME=VALUE"}},
		{"unknown param", []string{"run", "--simulate", "-p", "nope=1"}, []string{"param nope: unknown param", "primary", "maintain_dr"}},
		{"not a boolean", []string{"run", "--simulate", "-p", "maintain_dr=maybe"}, []string{"maintain_dr", `"maybe" is not a boolean`}},
		{"not a boolean without simulate", []string{"run", "-p", "maintain_dr=maybe"}, []string{"param maintain_dr", `"maybe" is not a boolean`}},
		{"not a duration", []string{"run", "--simulate", "-p", "sync_timeout=soon"}, []string{"param sync_timeout", `"soon" is not a duration`}},
		{"bad pattern", []string{"plan", "--simulate", "-p", "target_version=latest"}, []string{"param target_version", `"latest" does not match the pattern`}},
		{"unknown fault", []string{"run", "--simulate", "--fault", "bogus"}, []string{"--fault bogus: unknown fault; the faults are ", "installer-fails", "token-expiry"}},
		{"params file not a mapping", []string{"run", "--params", "list.yaml"}, []string{"list.yaml:1:1: want a mapping of param names to values"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, dir, tt.args...)
			r.want(t, exitUsage, "stderr", tt.want...)
			if strings.Contains(r.stdout, "Running") || strings.Contains(r.stdout, "Dry run") {
				t.Errorf("a run started; %v", r)
			}
		})
	}
}

func TestRunJSON(t *testing.T) {
	t.Parallel()
	r := cli(t, t.TempDir(), "run", "--simulate", "--json")
	r.want(t, exitOK, "stderr", "\nSucceeded: 15 steps", heldSimulator)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) < 30 {
		t.Fatalf("%d JSON lines; %v", len(lines), r)
	}
	kinds := map[string]int{}
	var first, last map[string]any
	for i, line := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("stdout line %d is not JSON: %v: %q", i+1, err, line)
		}
		kind, ok := ev["type"].(string)
		if !ok || kind == "" {
			t.Fatalf("stdout line %d has no type: %q", i+1, line)
		}
		kinds[kind]++
		if i == 0 {
			first = ev
		}
		last = ev
	}
	if first["type"] != "run.start" || last["type"] != "run.end" {
		t.Errorf("first event %v, last %v: want run.start and run.end", first["type"], last["type"])
	}
	if last["outcome"] != "succeeded" {
		t.Errorf("run.end outcome %v, want succeeded", last["outcome"])
	}
	if kinds["step.start"] != 15 || kinds["step.end"] != 15 || kinds["action.log"] == 0 {
		t.Errorf("event counts %v: want 15 step.start and step.end, and action.log", kinds)
	}
}

func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	const secret = "Zz9-secret-Q"
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.jsonl")
	tests := []struct {
		name string
		args []string
		code int
	}{
		// The simulated pair takes the given password: the upgrade
		// succeeds only if every login used it.
		{"run", []string{"run", "--simulate", "-p", "password=" + secret, "--journal", journal}, exitOK},
		{"json", []string{"run", "--simulate", "--json", "-p", "password=" + secret}, exitOK},
		{"failed run", []string{"run", "--simulate", "--json", "--fault", "installer-fails", "-p", "password=" + secret}, exitFailed},
		{"dry run", []string{"plan", "--simulate", "--fault", "standby-unsynchronized", "-p", "password=" + secret}, exitFailed},
		{"usage error", []string{"run", "-p", "password=" + secret, "-p", "maintain_dr=maybe"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, dir, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit code %d, want %d; %v", r.code, tt.code, r)
			}
			if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
				t.Errorf("the password is shown; %v", r)
			}
		})
	}
	// Cleanups run after the parallel subtests: the first one wrote the journal.
	t.Cleanup(func() {
		data, err := os.ReadFile(journal)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), secret) {
			t.Error("the password is in the journal")
		}
		if recs := journalRecords(t, journal); runEnd(recs)["outcome"] != "succeeded" {
			t.Errorf("the journal's last record is %v", runEnd(recs))
		}
	})
}

func TestPlanSimulate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cli(t, dir, "plan", "--simulate")
	r.want(t, exitOK, "stdout", "Dry run of", "#   STEP                   OUTCOME     CHECKS                                 WHY\n",
		"5   takeover-to-secondary  would run   1 held, 2 not checked, 1 after action  runs csm.takeover\n",
		"11  stop-secondary         would skip  1 unmet                                when: maintain_dr and stop_secondary_during_validation are both true does not hold\n",
		"\nDry run: 15 steps: 13 would run, 2 skipped in ")
	if !strings.HasPrefix(lastLine(r.stdout), heldSimulator) {
		t.Errorf("last line %q; %v", lastLine(r.stdout), r)
	}

	r = cli(t, dir, "plan", "--simulate", "--fault", "standby-unsynchronized")
	line := runbookLine(t, "- title: the HA relationship is synchronized")
	r.want(t, exitFailed, "stdout", "2   check-standby          blocked    7 held, 1 unmet  the HA relationship is synchronized (line "+line+"): in [\"Synchronized\"]: observed \"Synchronization Pending\"",
		"3   backup                 not run    -                not reached: step \"check-standby\" is blocked", "Dry run: blocked:")
	if !strings.HasPrefix(lastLine(r.stdout), heldSimulator) {
		t.Errorf("last line %q; %v", lastLine(r.stdout), r)
	}
}

// installWait is the line csm.install writes when the installer has exited
// and it waits for the primary to answer again.
var installWait = []string{"csm.install on primary", "waiting up to"}

func TestInterrupt(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only: the test waits on events
	defer cancel()
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.jsonl")
	p := start(t, ctx, dir, "run", "--simulate", "--install-time", "30s", "--journal", journal)
	p.waitFor(installWait...)
	p.signal(os.Interrupt)
	if code := p.exitCode(2 * time.Minute); code != exitInterrupted {
		t.Fatalf("exit code %d, want %d: %v", code, exitInterrupted, p)
	}
	out := p.output()
	for _, s := range []string{"[7/15] ! Run the installer on the primary (cancelled", "\nInterrupted: 15 steps: 6 succeeded, 1 cancelled, 8 not run",
		// A simulated pair does not outlive its process: a resume of the
		// journal would meet a new pair, so the hint says what works.
		"\nstate: the secondary is the active server; the primary, at the old level, is its standby\n",
		"\nnext: step 7 \"Run the installer on the primary\" (upgrade-primary): a simulated pair does not outlive the process that started it, so this run cannot be resumed nor continued: run 'csmplan run --simulate' again\n",
		"\n" + heldSimulator} {
		if !strings.Contains(out, s) {
			t.Errorf("stdout does not contain %q: %v", s, p)
		}
	}

	recs := journalRecords(t, journal)
	if recs[0]["type"] != "run" {
		t.Errorf("first journal record %v, want the run header", recs[0])
	}
	if end := runEnd(recs); end["type"] != "run.end" || end["outcome"] != "cancelled" {
		t.Errorf("last journal record %v, want run.end cancelled", end)
	}
	ends := stepEnds(recs)
	for _, id := range []string{"check-primary", "check-standby", "backup", "takeover-to-secondary", "primary-standby"} {
		if ends[id] != "succeeded" {
			t.Errorf("journal: step %s ended %q, want succeeded", id, ends[id])
		}
	}
	if o, ok := ends["upgrade-primary"]; ok {
		t.Errorf("journal: the interrupted step upgrade-primary is recorded as ended %q: a resume would not check it", o)
	}

	// The journal holds a run: a new run must resume it, and a resume with
	// other params (a new simulated pair) is refused.
	cli(t, dir, "run", "--simulate", "--journal", journal).want(t, exitUsage, "stderr", "journal holds an earlier run", "--resume")
	r := cli(t, dir, "run", "--simulate", "--journal", journal, "--resume")
	r.want(t, exitUsage, "stderr", "journal belongs to a different run", "primary")
	if strings.Contains(r.stdout, "Failed:") {
		t.Errorf("a refused resume reports a failed run; %v", r)
	}
}

func TestJournalInUse(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only: the test waits on events
	defer cancel()
	dir := t.TempDir()
	p := start(t, ctx, dir, "run", "--simulate", "--install-time", "30s", "--journal", "j.jsonl")
	p.waitFor(installWait...)
	cli(t, dir, "run", "--simulate", "--journal", "j.jsonl").want(t, exitUsage, "stderr", "j.jsonl", "in use")
	cli(t, dir, "run", "--simulate", "--journal", "j.jsonl", "--resume").want(t, exitUsage, "stderr", "in use")
	p.signal(os.Interrupt)
	if code := p.exitCode(2 * time.Minute); code != exitInterrupted {
		t.Fatalf("exit code %d, want %d: %v", code, exitInterrupted, p)
	}
}

// TestSimResume upgrades a standalone simulated pair with the params file
// of `sim`, interrupted with Ctrl-C while the primary's installer runs,
// then resumed.
func TestSimResume(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only: the test waits on events
	defer cancel()
	dir := t.TempDir()
	sim := startSim(t, ctx, dir, "--install-time", "2s")
	if fi, err := os.Stat(sim.params); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("params file (it holds the password): %v, %v; want mode 0600", fi.Mode(), err)
	}

	run := start(t, ctx, dir, "run", "--params", sim.params, "--journal", "j.jsonl")
	run.waitFor(installWait...)
	run.signal(os.Interrupt)
	if code := run.exitCode(2 * time.Minute); code != exitInterrupted {
		t.Fatalf("exit code %d, want %d: %v", code, exitInterrupted, run)
	}
	if !strings.Contains(run.output(), "\nnext: step 7 \"Run the installer on the primary\" (upgrade-primary): resume with 'csmplan run --journal j.jsonl --resume' and the same runbook and params\n") {
		t.Errorf("the interrupted run does not say how to resume: %v", run)
	}

	r := cli(t, dir, "run", "--params", sim.params, "--journal", "j.jsonl", "--resume")
	r.want(t, exitOK, "stdout",
		"[1/15] - Check the primary is active, its sessions are steady, and it is older than the target (done earlier)",
		"[5/15] - Take over on the secondary (done earlier)",
		"[6/15] - Wait for the primary to reconnect as standby (done earlier)",
		"[7/15] ✓ Run the installer on the primary (succeeded",
		"[14/15] ✓ Run the installer on the secondary (succeeded",
		"\nSucceeded: 15 steps: 7 succeeded, 6 done earlier, 2 skipped in ")
	// Ended, the pair is upgraded: the simulator checks the final state too.
	if line := sim.stop(syscall.SIGTERM); line != heldSimulator || !strings.Contains(sim.output(), "\nsimulated pair: upgraded to ") {
		t.Errorf("sim said %q, want %q after a line that the pair is upgraded: %v", line, heldSimulator, sim.proc)
	}
}

// TestKillAndResume kills the runner (SIGKILL: no clean up) right after the
// takeover to the secondary, then resumes: the takeover is not sent again
// and the upgrade completes safely.
func TestKillAndResume(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only: the test waits on events
	defer cancel()
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.jsonl")
	sim := startSim(t, ctx, dir, "--install-time", "1s")

	run := start(t, ctx, dir, "run", "--params", sim.params, "--journal", journal)
	run.waitFor("Take over on the secondary (succeeded")
	run.signal(os.Kill)
	if code := run.exitCode(2 * time.Minute); code != -1 {
		t.Fatalf("exit code %d, want -1 (killed): %v", code, run)
	}
	if ends := stepEnds(journalRecords(t, journal)); ends["takeover-to-secondary"] != "succeeded" {
		t.Errorf("journal after the kill: takeover-to-secondary ended %q, want succeeded (synced at the step's end)", ends["takeover-to-secondary"])
	}

	r := cli(t, dir, "run", "--params", sim.params, "--journal", journal, "--resume")
	r.want(t, exitOK, "stdout", "[5/15] - Take over on the secondary (done earlier)", "[15/15] ✓ Re-establish the HA relationship and compare with step 1 (succeeded", "\nSucceeded: 15 steps")
	if line := sim.stop(os.Interrupt); line != heldSimulator {
		t.Errorf("sim said %q, want %q: %v", line, heldSimulator, sim.proc)
	}
	if recs := journalRecords(t, journal); runEnd(recs)["outcome"] != "succeeded" {
		t.Errorf("last journal record %v, want a succeeded run.end", runEnd(recs))
	}
}

// gateRunbook has a list and an integer param and a manual approval gate.
const gateRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: manual-gate
params:
  greeting:
    type: list
    default: [echo, hello]
  count:
    type: integer
    default: 1
steps:
  - id: greet
    action: exec
    with: {argv: "${params.greeting}"}
  - id: gate
    action: manual
    with: {prompt: "Proceed?"}
  - id: after
    action: log
    with: {message: "count is ${params.count}, greeting ${params.greeting}"}
`

func TestRunRunbookFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "gate.yaml", gateRunbook)
	writeFile(t, dir, "params.yaml", "greeting: [echo, from-file]\ncount: 7\n")

	// Not on a terminal, a manual gate is refused unless --yes.
	r := cli(t, dir, "run", "gate.yaml")
	r.want(t, exitFailed, "stdout", "Running manual-gate (3 steps)", "[2/3] ✗ gate (failed", "at gate.yaml:15", "run with --yes")
	if strings.Contains(r.stdout, "simulator:") {
		t.Errorf("a run without --simulate has a simulator line; %v", r)
	}

	// -p values are typed by the params' declarations; -p wins over --params.
	cli(t, dir, "run", "gate.yaml", "--yes", "-p", "greeting=[echo, hi]", "-p", "count=3").
		want(t, exitOK, "stdout", `count is 3, greeting ["echo","hi"]`, "\nSucceeded: 3 steps: 3 succeeded in ")
	cli(t, dir, "run", "--yes", "--params", "params.yaml", "-p", "count=8", "gate.yaml").
		want(t, exitOK, "stdout", `count is 8, greeting ["echo","from-file"]`)
	cli(t, dir, "run", "gate.yaml", "--yes", "-p", "count=x").want(t, exitUsage, "stderr", `param count: "x" is not an integer`)

	// The dry run says the gate would run, and asks nothing.
	cli(t, dir, "plan", "gate.yaml").want(t, exitOK, "stdout", "Dry run of manual-gate", "2  gate   would run  -       runs manual")
}

// runbookLine returns the number of the first line of the default runbook
// that contains text, as a string.
func runbookLine(t *testing.T, text string) string {
	t.Helper()
	for i, l := range strings.Split(string(csmplan.DefaultRunbook()), "\n") {
		if strings.Contains(l, text) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("%q is not in the default runbook", text)
	return ""
}

// TestCertRenewedThenResume: an upgrade that renews the servers'
// certificates stops at each, showing the new fingerprint and the -p that
// takes it; resuming with it goes on, and the upgrade finishes safely.
func TestCertRenewedThenResume(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.jsonl")
	sim := startSim(t, ctx, dir, "--fault", "cert-renewed", "--install-time", "1s")
	pin := regexp.MustCompile(`-p ((primary|secondary)_fingerprint=[0-9A-F:]{95})\)`)
	args := []string{"run", "--params", sim.params, "--journal", journal}
	for _, step := range []string{"[7/15] ✗ Run the installer on the primary (failed", "[14/15] ✗ Run the installer on the secondary (failed"} {
		r := cli(t, dir, args...)
		r.want(t, exitFailed, "stdout", step, "the server presented a certificate with SHA-256 fingerprint")
		m := pin.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no -p NAME_fingerprint=... to resume with: %v", r)
		}
		args = append(args, "-p", m[1])
		if !slices.Contains(args, "--resume") {
			args = append(args, "--resume")
		}
	}
	r := cli(t, dir, args...)
	r.want(t, exitOK, "stdout", "[15/15] ✓ Re-establish the HA relationship", "\nSucceeded: 15 steps")
	if line := sim.stop(syscall.SIGTERM); line != heldSimulator {
		t.Errorf("sim said %q, want %q: %v", line, heldSimulator, sim.proc)
	}
}

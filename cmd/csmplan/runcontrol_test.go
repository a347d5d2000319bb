package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// --from and --only leave steps out, by the operator; the steps that run
// are guarded as always.
func TestFromAndOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The primary is not in standby: the installer's own guard refuses,
	// honestly, and nothing is installed.
	r := cli(t, dir, "run", "--simulate", "--from", "upgrade-primary")
	r.want(t, exitFailed, "stdout", "[1/15] - Check the primary is active, its sessions are steady, and it is older than the target (skipped)\n      skipped by the operator (--from upgrade-primary)\n",
		"[6/15] - Wait for the primary to reconnect as standby (skipped)\n      skipped by the operator (--from upgrade-primary)\n",
		"refusing to run the installer on primary", "Failed: 15 steps: 6 skipped, 1 failed, 8 not run",
		"\n"+heldSimulator)
	if strings.Contains(r.stdout, "\nstate: ") {
		t.Errorf("no step with a state succeeded, yet a state is shown; %v", r)
	}
	// A later step refers to what a skipped step saves: the message says why it has no value.
	r = cli(t, dir, "run", "--simulate", "--only", "check-standby")
	r.want(t, exitFailed, "stdout", "${vars.version_before.version} has no value: the condition that saves it did not run (steps were skipped by the operator, and a skipped step saves nothing)")

	// A read-only step alone works, and changes nothing.
	r = cli(t, dir, "run", "--simulate", "--only", "check-primary", "--json")
	r.want(t, exitOK, "stderr", "Succeeded: 15 steps: 1 succeeded, 14 skipped")
	r.want(t, exitOK, "stdout", `"type":"step.end","time":`, `"step":"backup",`, `"outcome":"skipped","message":"skipped by the operator (--only check-primary)"`)
	if strings.Contains(r.stderr, "csm.backup on primary") {
		t.Errorf("a skipped step ran; %v", r)
	}
	r = cli(t, dir, "plan", "--simulate", "--only", "check-primary,check-standby")
	r.want(t, exitOK, "stdout", "3   backup                 would skip  -       skipped by the operator (--only check-primary,check-standby)\n")

	// Mistakes are usage errors, with a suggestion.
	cli(t, dir, "run", "--simulate", "--from", "upgrade-primry").want(t, exitUsage, "stderr", `step selection: runbook "csm-upgrade" has no step "upgrade-primry"; did you mean "upgrade-primary"?`)
	cli(t, dir, "plan", "--simulate", "--only", "backup", "--only", "nosuchstepatall").want(t, exitUsage, "stderr", `has no step "nosuchstepatall"; its steps: check-primary, check-standby,`)
	cli(t, dir, "run", "--simulate", "--from", "backup", "--only", "backup").want(t, exitUsage, "stderr", "not both")
	journal := filepath.Join(dir, "j.jsonl")
	cli(t, dir, "run", "--simulate", "--only", "check-primary", "--journal", journal).want(t, exitOK, "stdout")
	cli(t, dir, "run", "--simulate", "--from", "backup", "--journal", journal, "--resume").want(t, exitUsage, "stderr", "holds an earlier run to resume")
}

// After a failure, the state of the last succeeded step with one and the
// next step with how to go on.
func TestStateAndNextAfterAFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rb := writeFile(t, dir, "rb.yaml", `apiVersion: csmplan/v1
kind: Runbook
name: t
steps:
  - id: one
    title: The first step
    state: the first step is done
    action: log
    with: {message: one}
  - id: quiet
    action: log
    with: {message: no state}
  - id: fail
    title: A step that fails
    state: never
    action: exec
    with: {argv: ["false"]}
  - id: after
    action: log
    with: {message: after}
`)
	r := cli(t, dir, "run", rb)
	r.want(t, exitFailed, "stdout", "\nstate: the first step is done\nnext: step 3 \"A step that fails\" (fail): once the cause is fixed, go on with 'csmplan run --from fail' and the same runbook and params (its preconditions are checked again); next time run with --journal FILE to be able to resume\n")
	r = cli(t, dir, "run", rb, "--journal", "j.jsonl")
	r.want(t, exitFailed, "stdout", "\nstate: the first step is done\nnext: step 3 \"A step that fails\" (fail): resume with 'csmplan run --journal j.jsonl --resume' and the same runbook and params\n")
	if strings.Contains(r.stdout, "never") {
		t.Errorf("the failed step's state is shown; %v", r)
	}

	// A simulated fault in a middle step of the default runbook.
	r = cli(t, dir, "run", "--simulate", "--fault", "installer-fails")
	r.want(t, exitFailed, "stdout", "\nstate: the secondary is the active server; the primary, at the old level, is its standby\n",
		"\nnext: step 7 \"Run the installer on the primary\" (upgrade-primary): a simulated pair does not outlive the process that started it, so this run cannot be resumed nor continued: run 'csmplan run --simulate' again\n")
}

// --simulate gates an edited runbook: a violated invariant is exit 1, even
// when every step succeeded.
func TestSimulateViolatedInvariantExits1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cli(t, dir, "init", "rb.yaml").want(t, exitOK, "stdout")
	src, err := os.ReadFile(filepath.Join(dir, "rb.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The edit drops the step that closes the both-active window before
	// the sessions are validated.
	s := string(src)
	i := strings.Index(s, "  - id: close-window")
	j := i + strings.Index(s[i:], "    when: ${params.maintain_dr}\n")
	if i < 0 || j < i {
		t.Fatal("the default runbook has no close-window step with when: ${params.maintain_dr}")
	}
	s = s[:j] + "    when: false\n" + s[j+len("    when: ${params.maintain_dr}\n"):]
	writeFile(t, dir, "rb.yaml", s)
	r := cli(t, dir, "run", "--simulate", "rb.yaml")
	r.want(t, exitFailed, "stdout", "\nSucceeded: 15 steps", "\nsimulator: violated: window-open-at-validation (")
	r.want(t, exitFailed, "stderr", "csmplan run: the simulator reports a violated invariant: exit 1")
	// The default runbook holds them: exit 0.
	cli(t, dir, "run", "--simulate").want(t, exitOK, "stdout", "\n"+heldSimulator+"\n")
}

// A wrong password stops the run at once (no wait polls it), and a client
// logs in at most csm.DefaultMaxFailedLogins times per server: the
// simulator counts the logins.
func TestWrongPasswordFailsFast(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	sim := startSim(t, ctx, dir)
	r := cli(t, dir, "run", "--params", sim.params, "-p", "password=wrong")
	// The first step checks its four probes of the primary: three logins
	// are refused, the fourth is not tried.
	r.want(t, exitFailed, "stdout", "IWNR9001E", "[1/15] ✗ Check the primary is active", "the wait stopped at once",
		"too many refused logins: the server refused 3 login(s) of user \"csmadmin\", and no more are tried, so that the CSM account is not locked")
	if strings.Contains(r.stdout, "after waiting") {
		t.Errorf("a wait polled a refused login; %v", r)
	}

	// A runbook whose steps go on after a failure, each trying the primary.
	data, err := os.ReadFile(sim.params)
	if err != nil {
		t.Fatal(err)
	}
	var params map[string]any
	if err := yaml.Unmarshal(data, &params); err != nil {
		t.Fatal(err)
	}
	step := `
  - id: s%d
    on_failure: continue
    pre:
      - probe: csm.ha
        with: {target: primary}
        expect: {path: role, equals: Active}
        wait: {timeout: 30m, interval: 1s}
`
	body := "apiVersion: csmplan/v1\nkind: Runbook\nname: logins\nparams:\n  primary: {type: string}\n  username: {type: string}\n  password: {type: string, secret: true}\n  ca_file: {type: string}\n" +
		"targets:\n  primary: {host: \"${params.primary}\", username: \"${params.username}\", password: \"${params.password}\", ca_file: \"${params.ca_file}\"}\nsteps:"
	for i := range 5 {
		body += strings.Replace(step, "%d", string(rune('1'+i)), 1)
	}
	writeFile(t, dir, "logins.yaml", body)
	r = cli(t, dir, "run", "logins.yaml", "-p", "primary="+params["primary"].(string), "-p", "username="+params["username"].(string),
		"-p", "ca_file="+params["ca_file"].(string), "-p", "password=wrong")
	r.want(t, exitFailed, "stdout", "Failed: 5 steps: 5 failed", "too many refused logins: the server refused 3 login(s) of user")
	sim.stop(os.Interrupt)
	if !strings.Contains(sim.output(), "simulated pair: logins: primary 6 (6 refused), secondary 0\n") {
		t.Errorf("the simulator counted other logins (3 for each run): %v", sim.proc)
	}
}

// An interrupted plan does not suggest a --journal flag that plan does not
// have.
func TestInterruptedPlanSuggestsNoJournal(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only
	defer cancel()
	// Every reply of the simulated pair is slowed down, so that the plan
	// is still running when the signal comes.
	p := start(t, ctx, t.TempDir(), "plan", "--simulate", "--fault", "slow-response", "--json")
	p.waitFor(`"type":"condition.start"`, `"condition":"the primary is the active server"`)
	p.signal(os.Interrupt)
	if code := p.exitCode(2 * time.Minute); code != exitInterrupted {
		t.Fatalf("exit code %d, want %d: %v", code, exitInterrupted, p)
	}
	if out := p.String(); strings.Contains(out, "journal") || strings.Contains(out, "resume") {
		t.Errorf("plan suggests a journal or a resume: %v", p)
	}
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunSimulatePairs: run --simulate --pairs runs the canary, then the
// other pairs; off a terminal each line is prefixed with its unit; the
// final line is the simulator's verdict over all pairs.
func TestRunSimulatePairs(t *testing.T) {
	t.Parallel()
	r := cli(t, t.TempDir(), "run", "--simulate", "--pairs", "4", "--max-parallel", "2")
	r.want(t, exitOK, "stdout",
		"[pair-001] started\n",
		"[pair-003] [7/15] ✓ Run the installer on the primary (succeeded)\n",
		"[pair-004] ✓ succeeded in ",
		"Fleet simulated-fleet: Succeeded: 4 units: 4 succeeded in ")
	if got, want := lastLine(r.stdout), "simulator: invariants held on 4 pairs"; got != want {
		t.Errorf("last line %q, want %q: %v", got, want, r)
	}
	// The canary ends before any other pair starts.
	if c, o := strings.Index(r.stdout, "[pair-001] ✓ succeeded"), strings.Index(r.stdout, "[pair-002] started"); c < 0 || o < c {
		t.Errorf("pair-002 started before the canary ended: %v", r)
	}
}

// TestRunSimulatePairsJSON: with --json every event is a JSON line that
// carries its unit.
func TestRunSimulatePairsJSON(t *testing.T) {
	t.Parallel()
	r := cli(t, t.TempDir(), "run", "--simulate", "--pairs", "2", "--json")
	r.want(t, exitOK, "stderr", "simulator: invariants held on 2 pairs")
	units, kinds := map[string]bool{}, map[string]bool{}
	for _, ev := range jsonLines(t, r.stdout) { // each checked against the events schema
		kind, _ := ev["type"].(string)
		kinds[kind] = true
		if u, _ := ev["unit"].(string); u != "" {
			units[u] = true
		} else if strings.HasPrefix(kind, "unit.") || strings.HasPrefix(kind, "step.") {
			t.Errorf("event without its unit: %v", ev)
		}
	}
	for _, k := range []string{"fleet.start", "unit.start", "step.end", "unit.end", "fleet.end"} {
		if !kinds[k] {
			t.Errorf("no %s event in %s", k, r.stdout)
		}
	}
	if !units["pair-001"] || !units["pair-002"] {
		t.Errorf("units seen: %v", units)
	}
}

// TestRunSimulatePairsFault: a fault of one pair fails that pair alone
// (its installer installs the wrong version, which the runbook catches);
// the exit is 1.
func TestRunSimulatePairsFault(t *testing.T) {
	t.Parallel()
	r := cli(t, t.TempDir(), "run", "--simulate", "--pairs", "3", "--fault", "pair-003:wrong-version", "--max-failures", "5")
	r.want(t, exitFailed, "stdout", "pair-003: failed: ", "1 failed")
	if got := lastLine(r.stdout); got != "simulator: invariants held on 3 pairs" {
		t.Errorf("last line %q: %v", got, r)
	}
}

// TestFleetCanaryFails: a failing canary stops the rollout: no other unit
// runs (no journal of theirs), and their servers stay at the old version.
func TestFleetCanaryFails(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	sim, file := startFleetSim(t, ctx, dir, 5, "--fault", "pair-001:installer-fails")
	jdir := filepath.Join(dir, "journals")
	r := cli(t, dir, "run", "--fleet", file, "--journal-dir", jdir, "--max-parallel", "4")
	r.want(t, exitFailed, "stdout", "[pair-001] ✗ failed", "not run (canary pair-001 failed): pair-002, pair-003, pair-004, pair-005")
	r.want(t, exitFailed, "stderr", "canary failed")
	for _, name := range []string{"pair-002", "pair-003", "pair-004", "pair-005"} {
		if strings.Contains(r.stdout, "["+name+"] started") {
			t.Errorf("%s started: %v", name, r)
		}
		if _, err := os.Stat(filepath.Join(jdir, name+".journal")); err == nil {
			t.Errorf("%s has a journal", name)
		}
	}
	sim.signal(os.Interrupt)
	sim.waitFor("simulator:")
	out := sim.output()
	for _, want := range []string{"simulated pairs: 0 of 5 upgraded", "installers: 10 servers none, 0 once"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q: %v", want, sim)
		}
	}
}

// TestFleetMaxFailures: once more units failed than max_failures allows,
// no new unit starts, and the units already running finish.
func TestFleetMaxFailures(t *testing.T) {
	t.Parallel()
	r := cli(t, t.TempDir(), "run", "--simulate", "--pairs", "7", "--max-parallel", "3", "--max-failures", "0",
		"--fault", "pair-002:installer-fails")
	r.want(t, exitFailed, "stdout", "[pair-002] ✗ failed", "pair-002: failed: ")
	// pair-002..004 start together; pair-003 and pair-004 run to their end.
	for _, name := range []string{"pair-003", "pair-004"} {
		if !strings.Contains(r.stdout, "["+name+"] ✓ succeeded") {
			t.Errorf("%s did not finish: %v", name, r)
		}
	}
	for _, name := range []string{"pair-005", "pair-006", "pair-007"} {
		if strings.Contains(r.stdout, "["+name+"] started") {
			t.Errorf("%s started after the failure budget was spent: %v", name, r)
		}
	}
	if !regexp.MustCompile(`not run \(.*\): pair-005, pair-006, pair-007`).MatchString(r.stdout) {
		t.Errorf("the units not run are not listed: %v", r)
	}
}

// TestFleetKilledResumes: a fleet killed with SIGKILL in the middle of a
// wave resumes with --resume; every pair ends upgraded and no installer ran
// twice on any server.
func TestFleetKilledResumes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	sim := start(t, ctx, dir, "sim", "--pairs", "6", "--fleet-out", file, "--install-time", "1s")
	sim.waitFor("Press Ctrl-C")
	jdir := filepath.Join(dir, "journals")
	run := start(t, ctx, dir, "run", "--fleet", file, "--journal-dir", jdir, "--max-parallel", "5")
	// In the middle of the wave: a pair has run its first installer, the
	// others of the wave are under way.
	run.waitFor("[pair-00", "[7/15] ✓ Run the installer on the primary")
	run.waitFor("[pair-00", "[8/15]")
	if err := run.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := run.exitCode(time.Minute); code != -1 {
		t.Fatalf("exit %d after SIGKILL: %v", code, run)
	}
	r := cli(t, dir, "run", "--fleet", file, "--journal-dir", jdir, "--max-parallel", "5", "--resume")
	r.want(t, exitOK, "stdout", "6 units:")
	if !strings.Contains(r.stdout, "done earlier") {
		t.Errorf("no unit was done before the kill: %v", r)
	}
	sim.signal(os.Interrupt)
	sim.waitFor("simulator:")
	out := sim.output()
	for _, want := range []string{"simulated pairs: 6 of 6 upgraded", "installers: 0 servers none, 12 once, 0 more than once"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q: %v\nthe resumed run: %v", want, sim, r)
		}
	}
}

// TestFleetReportAndDoc: --report writes the fleet record with a row per
// unit linking to each unit's change record, written next to its journal;
// csmplan doc renders the fleet's rollout plan.
func TestFleetReportAndDoc(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	sim, file := startFleetSim(t, ctx, dir, 3)
	doc := cli(t, dir, "doc", file)
	doc.want(t, exitOK, "stdout", "# Fleet: Upgrade 3 simulated CSM pairs", "| Canaries | pair-001, first;", "| max_parallel | 10 units at once",
		"1. **Wave 1 (canaries)**: pair-001", "2. **Wave 2**: pair-002, pair-003", "| pair-003 | site=s1 zone=z1 | backup\\_dir, ca\\_file, installer, primary, secondary, server\\_start, server\\_stop |", "Shared by every unit: install\\_timeout, maintain\\_dr, password,")
	// validate checks a fleet file as a fleet, and a broken one at its line.
	cli(t, dir, "validate", file).want(t, exitOK, "stdout", "ok  "+file+" (a fleet of 3 units in 2 waves)")
	src, _ := os.ReadFile(file)
	bad := filepath.Join(dir, "bad-fleet.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(src), "max_parallel:", "max_paralel:", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	v := cli(t, dir, "validate", bad)
	v.want(t, exitFailed, "stdout", `unknown key "max_paralel"`, "bad-fleet.yaml: 1 problem\n")
	if strings.Contains(v.stdout, `"kind" must be "Runbook"`) {
		t.Errorf("a fleet file checked as a runbook: %v", v)
	}
	cli(t, dir, "schema", "--fleet").want(t, exitOK, "stdout", `"$id": "https://github.com/csmplan/csmplan/schema/fleet.schema.json"`)

	jdir := filepath.Join(dir, "journals")
	for _, ext := range []string{"md", "html"} {
		report := filepath.Join(dir, "fleet-record."+ext)
		args := []string{"run", "--fleet", file, "--journal-dir", jdir, "--report", report}
		if ext == "html" {
			args = append(args, "--resume")
		}
		cli(t, dir, args...).want(t, exitOK, "stdout", "fleet record written to "+report)
		data, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"pair-001", "pair-002", "pair-003"} {
			rec := filepath.Join(jdir, name+"."+ext)
			if _, err := os.Stat(rec); err != nil {
				t.Errorf("no change record of %s: %v", name, err)
			}
			link := "journals/" + name + "." + ext
			if !strings.Contains(string(data), link) {
				t.Errorf("the %s fleet record has no link %s:\n%s", ext, link, data)
			}
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "fleet-record.md"))
	if !strings.Contains(string(md), "| pair-002 | site=s1 zone=z2 | 2 | succeeded |") {
		t.Errorf("no row of pair-002:\n%s", md)
	}
	sim.signal(os.Interrupt)
	sim.waitFor("simulator:")
}

// TestFleetUsage: the flags of a fleet that do not go together.
func TestFleetUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--fleet", "f.yaml"}, "--fleet needs --journal-dir"},
		{[]string{"run", "--pairs", "3"}, "--pairs needs --simulate"},
		{[]string{"run", "--limit", "site=a"}, "need --fleet FILE"},
		{[]string{"run", "--fleet", "f.yaml", "--journal-dir", "j", "--journal", "x"}, "--journal is for one run"},
		{[]string{"run", "--simulate", "--pairs", "2", "--max-parallel", "x"}, "is not a count"},
	} {
		cli(t, dir, tt.args...).want(t, exitUsage, "stderr", tt.want)
	}
}

// TestFleetLimit: --limit selects units by label or name; the others are
// skipped, not failures; a selector that selects nothing is refused
// before anything runs.
func TestFleetLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cli(t, dir, "run", "--simulate", "--pairs", "4", "--limit", "zone=z2")
	r.want(t, exitOK, "stdout", "[pair-002] ✓ succeeded", "[pair-004] ✓ succeeded", "4 units: 2 succeeded, 2 skipped")
	for _, name := range []string{"pair-001", "pair-003"} {
		if strings.Contains(r.stdout, "["+name+"] started") {
			t.Errorf("%s started outside the limit: %v", name, r)
		}
	}
	cli(t, dir, "run", "--simulate", "--pairs", "4", "--limit", "pair-003").want(t, exitOK, "stdout", "[pair-003] ✓ succeeded", "1 succeeded, 3 skipped")
	cli(t, dir, "run", "--simulate", "--pairs", "4", "--limit", "site=zz").want(t, exitUsage, "stderr", "site=zz selects no unit")
}

// TestFleetApproval: a rollout that asks for an approval after its canary
// is refused off a terminal without --yes (the waves do not start), and
// approved with --yes.
func TestFleetApproval(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	sim, file := startFleetSim(t, ctx, dir, 3)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	approve := strings.Replace(string(data), "    canary:\n", "    canary:\n        approve: true\n", 1)
	if approve == string(data) {
		t.Fatalf("no canary in the fleet file:\n%s", data)
	}
	if err := os.WriteFile(file, []byte(approve), 0o600); err != nil {
		t.Fatal(err)
	}
	jdir := filepath.Join(dir, "journals")
	r := cli(t, dir, "run", "--fleet", file, "--journal-dir", jdir)
	r.want(t, exitFailed, "stdout", "[pair-001] ✓ succeeded", "2 not run")
	if strings.Contains(r.stdout, "[pair-002] started") {
		t.Errorf("a wave started without the approval: %v", r)
	}
	cli(t, dir, "run", "--fleet", file, "--journal-dir", jdir, "--resume", "--yes").want(t, exitOK, "stdout", "1 done earlier", "2 succeeded")
	sim.signal(os.Interrupt)
	if line := sim.waitFor("simulator:"); line != "simulator: invariants held on 3 pairs" {
		t.Errorf("verdict %q", line)
	}
}

// TestFleetInterrupted: the first SIGINT stops a fleet gently: no new unit
// starts, the run exits 130, and --resume finishes it without running an
// installer twice.
func TestFleetInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	sim := start(t, ctx, dir, "sim", "--pairs", "4", "--fleet-out", file, "--install-time", "1s")
	sim.waitFor("Press Ctrl-C")
	jdir := filepath.Join(dir, "journals")
	run := start(t, ctx, dir, "run", "--fleet", file, "--journal-dir", jdir, "--max-parallel", "1")
	run.waitFor("[pair-002] started")
	run.signal(os.Interrupt)
	if code := run.exitCode(2 * time.Minute); code != exitInterrupted {
		t.Fatalf("exit %d, want %d: %v", code, exitInterrupted, run)
	}
	if out := run.output(); strings.Contains(out, "[pair-003] started") || !strings.Contains(out, "Interrupted") {
		t.Errorf("the fleet did not stop gently: %v", run)
	}
	cli(t, dir, "run", "--fleet", file, "--journal-dir", jdir, "--max-parallel", "4", "--resume").want(t, exitOK, "stdout", "1 done earlier")
	sim.signal(os.Interrupt)
	sim.waitFor("simulator:")
	if out := sim.output(); !strings.Contains(out, "installers: 0 servers none, 8 once, 0 more than once") {
		t.Errorf("installers: %v", sim)
	}
}

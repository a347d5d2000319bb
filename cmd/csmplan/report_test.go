package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// runEnd is the last run.end record of a journal's records (notes, such
// as the simulator's verdict, may follow it), or its last record.
func runEnd(recs []map[string]any) map[string]any {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i]["type"] == "run.end" {
			return recs[i]
		}
	}
	return recs[len(recs)-1]
}

// recordPassword is the password of the simulated pairs of these tests,
// given in the environment: it must appear in no journal and no record.
const recordPassword = "Rec0rd-Pa55-word"

// fileSum is the hex SHA-256 of the only file in dir.
func fileSum(t *testing.T, dir string) (string, string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("backup dir %s: %v, %d files", dir, err, len(entries))
	}
	data, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return filepath.Join(dir, entries[0].Name()), hex.EncodeToString(sum[:])
}

// TestRunReport: run --simulate --report writes the change record in the
// format its extension names; `csmplan report JOURNAL` renders the same
// bytes afterwards from the journal alone; the record has the versions
// before and after, the backup with the sha256 of the file on disk, the
// simulator's verdict; the password is in neither journal nor record.
func TestRunReport(t *testing.T) {
	t.Parallel()
	for _, ext := range []string{"md", "json", "html"} {
		t.Run(ext, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			backups := filepath.Join(dir, "backups")
			env := []string{"CSMPLAN_PARAM_PASSWORD=" + recordPassword}
			r := cliEnv(t, dir, env, "run", "--simulate", "-p", "maintain_dr=false", "-p", "backup_dir="+backups, "--journal", "j.jsonl", "--report", "record."+ext)
			r.want(t, exitOK, "stdout", "change record written to record."+ext)
			written, err := os.ReadFile(filepath.Join(dir, "record."+ext))
			if err != nil {
				t.Fatal(err)
			}
			journal, _ := os.ReadFile(filepath.Join(dir, "j.jsonl"))
			for what, b := range map[string][]byte{"journal": journal, "record": written} {
				if strings.Contains(string(b), recordPassword) {
					t.Errorf("the password is in the %s", what)
				}
			}
			cli(t, dir, "report", "-o", "again."+ext, "j.jsonl").want(t, exitOK, "stdout")
			again, _ := os.ReadFile(filepath.Join(dir, "again."+ext))
			if string(again) != string(written) {
				t.Errorf("report -o differs from run --report:\n--- run:\n%s\n--- report:\n%s", written, again)
			}
			out := cli(t, dir, "report", "--format", ext, "j.jsonl")
			out.want(t, exitOK, "stdout")
			if out.stdout != string(written) {
				t.Errorf("report on stdout differs from run --report:\n%s", out.stdout)
			}
			file, sum := fileSum(t, backups)
			switch ext {
			case "md":
				for _, s := range []string{"# Change record: csm-upgrade (succeeded)", "| `version_before` | `{\"version\":\"6.3.10.0\"}` |",
					"| `version_after` | `{\"version\":\"6.3.10.1\"}` |", "| `backup` | `" + file + "` | `" + sum + "` |",
					"| `password` | *[redacted]* (secret) |", "## Simulator's verdict", "simulator: invariants held", "Run by |"} {
					if !strings.Contains(out.stdout, s) {
						t.Errorf("the record lacks %q:\n%s", s, out.stdout)
					}
				}
				if strings.Index(out.stdout, "version_after") > strings.Index(out.stdout, "primary_ha") {
					t.Errorf("the versions do not come first among the values")
				}
			case "json":
				var rec struct {
					Start   string `json:"start"`
					Backups []struct{ File, SHA256 string }
					Steps   []struct {
						ID         string
						DurationMS *int64 `json:"duration_ms"`
						Attempts   []struct{ Start, End string }
					}
					Notes []struct{ Key, Value string }
				}
				if err := json.Unmarshal([]byte(out.stdout), &rec); err != nil {
					t.Fatal(err)
				}
				if _, err := time.Parse(time.RFC3339, rec.Start); err != nil {
					t.Errorf("start %q: %v", rec.Start, err)
				}
				if len(rec.Backups) != 1 || rec.Backups[0].SHA256 != sum || rec.Backups[0].File != file {
					t.Errorf("backups %+v, want %s %s", rec.Backups, file, sum)
				}
				if len(rec.Notes) != 1 || rec.Notes[0].Key != "simulation" || !strings.Contains(rec.Notes[0].Value, "invariants held") {
					t.Errorf("notes %+v", rec.Notes)
				}
				for _, s := range rec.Steps {
					if s.DurationMS == nil {
						t.Errorf("step %s has no duration_ms", s.ID)
					}
				}
			case "html":
				for _, s := range []string{"<svg ", "installer", "Simulator's verdict", sum} {
					if !strings.Contains(out.stdout, s) {
						t.Errorf("the page lacks %q", s)
					}
				}
				for _, s := range []string{"http://", "https://", " src=", " href="} {
					if strings.Contains(out.stdout, s) {
						t.Errorf("the page has %q: not self-contained", s)
					}
				}
			}
		})
	}
}

// TestRunReportWithoutJournal: --report without --journal records the run
// in a temporary journal; wrong uses of the flags are usage errors.
func TestRunReportWithoutJournal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cli(t, dir, "run", "--simulate", "-p", "maintain_dr=false", "--report", "r.txt", "--report-format", "md")
	r.want(t, exitOK, "stdout", "change record written to r.txt")
	data, _ := os.ReadFile(filepath.Join(dir, "r.txt"))
	if !strings.Contains(string(data), "# Change record: csm-upgrade (succeeded)") || !strings.Contains(string(data), "invariants held") {
		t.Errorf("record:\n%s", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the run left %d files, want only the record", len(entries))
	}
	// The temporary journal is gone: no csmplan-record-* directory stays
	// in the run's TMPDIR.
	tmp := t.TempDir()
	cliEnv(t, dir, []string{"TMPDIR=" + tmp}, "run", "--simulate", "-p", "maintain_dr=false", "--report", "r2.md").want(t, exitOK, "stdout", "change record written to r2.md")
	if left, _ := filepath.Glob(filepath.Join(tmp, "csmplan-record-*")); len(left) != 0 {
		t.Errorf("the temporary journal stays: %v", left)
	}
	// With --json, stdout holds only the events.
	js := cli(t, dir, "run", "--simulate", "-p", "maintain_dr=false", "--json", "--report", "r.json")
	js.want(t, exitOK, "stderr", "change record written to r.json")
	for _, line := range strings.Split(strings.TrimSpace(js.stdout), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("stdout of --json has a line that is no JSON: %q", line)
		}
	}
	cli(t, dir, "run", "--report", "r.txt").want(t, exitUsage, "stderr", "--report r.txt: give a file ending .md, .json or .html, or --report-format")
	cli(t, dir, "run", "--report", "r.md", "--report-format", "pdf").want(t, exitUsage, "stderr", `unknown record format "pdf"`)
	cli(t, dir, "run", "--report-format", "md").want(t, exitUsage, "stderr", "--report-format needs --report FILE")
	cli(t, dir, "run", "--dry-run", "--report", "r.md").want(t, exitUsage, "stderr", "a dry run changes nothing and has no record")
	cli(t, dir, "report", "none.jsonl").want(t, exitFailed, "stderr", "none.jsonl", "does not exist")
	cli(t, dir, "report").want(t, exitUsage, "stderr", "want one journal file")
	cli(t, dir, "report", "--format", "pdf", "x").want(t, exitUsage, "stderr", `unknown record format "pdf"`)
	cli(t, dir, "status").want(t, exitUsage, "stderr", "want --journal FILE")
	cli(t, dir, "status", "--journal", "none.jsonl").want(t, exitFailed, "stderr", "does not exist")
}

// TestStatus: the status of a run against a background simulated pair,
// stopped by a failed installer: what is done and next; with the params,
// the servers' roles and versions asked read-only, and the command that
// resumes the run, which does not hold the password. Then the status of a
// finished simulated run.
func TestStatus(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	sim := startSim(t, ctx, dir, "--fault", "installer-fails", "--install-time", "1s")
	var params map[string]any
	data, _ := os.ReadFile(sim.params)
	if err := yaml.Unmarshal(data, &params); err != nil {
		t.Fatal(err)
	}
	password := params["password"].(string)

	cli(t, dir, "run", "--params", sim.params, "--journal", "j.jsonl").want(t, exitFailed, "stdout")
	st := cli(t, dir, "status", "--journal", "j.jsonl")
	st.want(t, exitOK, "stdout", "journal j.jsonl: runbook csm-upgrade", "last run: failed at ",
		"  done  5 takeover-to-secondary", "  next  7 upgrade-primary       failed", "        8 verify-primary        not run",
		"next: step upgrade-primary (Run the installer on the primary): it failed: action failed: csm.install",
		"last lines of stderr:\n  csmtest-control: install on ",
		"resume: csmplan run --journal j.jsonl --resume -p ca_file=", "CSMPLAN_PARAM_PASSWORD set in the environment")
	if strings.Contains(st.stdout, "servers now") {
		t.Errorf("servers probed without params: %v", st)
	}

	live := cli(t, dir, "status", "--journal", "j.jsonl", "--params", sim.params)
	live.want(t, exitOK, "stdout", "servers now (read-only probes):", "  primary    127.0.0.1:", "role Standby, version 6.3.10.0",
		"role Active, version 6.3.10.0", "the secondary is now the active server",
		"resume: csmplan run --journal j.jsonl --resume --params "+sim.params)
	for _, r := range []result{st, live} {
		if strings.Contains(r.stdout+r.stderr, password) {
			t.Errorf("status shows the password: %v", r)
		}
	}
	given := cli(t, dir, "status", "--journal", "j.jsonl", "--params", sim.params, "-p", "password="+password)
	given.want(t, exitOK, "stdout", "-p password=@FILE")
	if strings.Contains(given.stdout, password) {
		t.Errorf("the resume command holds the password: %v", given)
	}
	// The simulator says the pair is not upgraded, which is no violated
	// invariant: it cannot know that the upgrade stopped.
	if line := sim.stop(os.Interrupt); line != heldSimulator || !strings.Contains(sim.output(), "\nsimulated pair: not upgraded to 6.3.10.1: final-version (") {
		t.Errorf("sim said %q, want %q after a line that the pair is not upgraded: %v", line, heldSimulator, sim.proc)
	}

	cli(t, dir, "run", "--simulate", "-p", "maintain_dr=false", "--journal", "done.jsonl").want(t, exitOK, "stdout")
	cli(t, dir, "status", "--journal", "done.jsonl").want(t, exitOK, "stdout", "last run: succeeded", "every step is done",
		"The run was simulated (--simulate)")
	other := filepath.Join(dir, "other.yaml")
	src := strings.Replace(string(mustRead(t, "../../actions/csm/upgrade.yaml")), "title: Upgrade", "title: Upgraded", 1)
	os.WriteFile(other, []byte(src), 0o600)
	cli(t, dir, "status", "--journal", "done.jsonl", other).want(t, exitOK, "stdout", "is not the one the journal records (sha256 differs)")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStatusOfInterruptedRun: a run interrupted (Ctrl-C) while the
// primary's installer is awaited: status says the run was cancelled, what
// is next, and how to resume; the record of the journal shows the
// installer's run.
func TestStatusOfInterruptedRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only: the test waits on events
	defer cancel()
	dir := t.TempDir()
	sim := startSim(t, ctx, dir, "--install-time", "2s")
	run := start(t, ctx, dir, "run", "--params", sim.params, "--journal", "j.jsonl")
	run.waitFor(installWait...)
	run.signal(os.Interrupt)
	if code := run.exitCode(2 * time.Minute); code != exitInterrupted {
		t.Fatalf("exit code %d, want %d: %v", code, exitInterrupted, run)
	}
	st := cli(t, dir, "status", "--journal", "j.jsonl", "--params", sim.params)
	st.want(t, exitOK, "stdout", "last run: cancelled", "  done  6 primary-standby", "next: step ", "servers now (read-only probes):",
		"resume: csmplan run --journal j.jsonl --resume --params "+sim.params)
	md := cli(t, dir, "report", "j.jsonl")
	md.want(t, exitOK, "stdout", "# Change record: csm-upgrade (cancelled)", "attempt 1 of `csm.install`")
	sim.stop(os.Interrupt)
}

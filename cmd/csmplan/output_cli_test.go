package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/schema"
)

// TestErrorsOnStderr: error messages go to stderr, whatever the command;
// step lines and the summary stay on stdout.
func TestErrorsOnStderr(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t.Run("failed run", func(t *testing.T) {
		t.Parallel()
		r := cli(t, dir, "run", "--simulate", "--fault", "installer-fails")
		r.want(t, exitFailed, "stdout", "[7/15] ✗ Run the installer on the primary (failed)", "\nFailed: 15 steps")
		r.want(t, exitFailed, "stderr", "error: step \"upgrade-primary\"", "last lines of stderr:\n  csmtest-control: ", "fault installer-fails")
		r.want(t, exitFailed, "stdout", "last lines of stderr:\n        csmtest-control: ")
		if strings.Contains(r.stdout, "error: step") {
			t.Errorf("the run's error is on stdout: %v", r)
		}
	})
	t.Run("failed dry run", func(t *testing.T) {
		t.Parallel()
		r := cli(t, dir, "plan", "--simulate", "--fault", "standby-unsynchronized")
		r.want(t, exitFailed, "stdout", "check-standby", "blocked", "Dry run: blocked")
		r.want(t, exitFailed, "stderr", "error: step \"check-standby\"")
		if strings.Contains(r.stdout, "error:") {
			t.Errorf("the dry run's error is on stdout: %v", r)
		}
	})
	for _, args := range [][]string{
		{"frobnicate"},
		{"run", "--bogus"},
		{"plan", "a.yaml", "b.yaml"},
		{"run", "--resume"},
		{"plan", "--fault", "installer-fails"},
		{"run", "--simulate", "--log-file", filepath.Join(dir, "no", "such", "dir", "log")},
		{"validate"},
		{"actions", "nosuch"},
		{"schema", "extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := cli(t, dir, args...)
			if r.code != exitUsage || r.stdout != "" || r.stderr == "" {
				t.Errorf("want exit 2, the message on stderr and nothing on stdout: %v", r)
			}
		})
	}
}

// jsonLines decodes each line of out as a JSON value, and checks it
// against the events schema.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	sc, err := schema.Compile(schema.EventsURL, schema.Events())
	if err != nil {
		t.Fatal(err)
	}
	var evs []map[string]any
	for i, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %d is not JSON: %v: %q", i+1, err, line)
		}
		if err := sc.Validate(v); err != nil {
			t.Errorf("line %d does not match schema/events.schema.json: %v\n%s", i+1, err, line)
		}
		m, _ := v.(map[string]any)
		evs = append(evs, m)
	}
	return evs
}

// TestJSONEventsMatchSchema checks every event of real simulated runs
// (a success, a failure, a dry run that is blocked) against the schema.
func TestJSONEventsMatchSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		last string // the outcome of run.end
		want string // a type of event that must be there
	}{
		{"run", []string{"run", "--simulate", "--json"}, exitOK, "succeeded", "action.log"},
		{"failed run", []string{"run", "--simulate", "--json", "--fault", "installer-fails"}, exitFailed, "failed", "attempt.end"},
		{"plan", []string{"plan", "--simulate", "--json"}, exitOK, "would run", "condition.end"},
		{"blocked plan", []string{"plan", "--simulate", "--json", "--fault", "standby-unsynchronized"}, exitFailed, "failed", "condition.end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, dir, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %v", r.code, tt.code, r)
			}
			evs := jsonLines(t, r.stdout)
			types := map[any]bool{}
			for _, ev := range evs {
				types[ev["type"]] = true
			}
			last := evs[len(evs)-1]
			if evs[0]["type"] != "run.start" || last["type"] != "run.end" || last["outcome"] != tt.last || !types[tt.want] {
				t.Errorf("first %v, last %v (outcome %v), types %v: want run.start, run.end %s and %s", evs[0]["type"], last["type"], last["outcome"], types, tt.last, tt.want)
			}
			if strings.Contains(r.stderr, `"schema_version"`) {
				t.Errorf("events on stderr: %v", r)
			}
			if tt.args[0] == "plan" && !strings.Contains(r.stderr, "STEP") {
				t.Errorf("plan --json: no table on stderr: %v", r)
			}
		})
	}
}

// TestEventsSchemaDocumented: the schema is printed by schema --events,
// and run -h and plan -h describe the events.
func TestEventsSchemaDocumented(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cli(t, dir, "schema", "--events")
	if r.code != exitOK || r.stdout != string(schema.Events()) {
		t.Errorf("schema --events is not schema.Events(): %v", r)
	}
	for _, cmd := range []string{"run", "plan"} {
		cli(t, dir, cmd, "-h").want(t, exitOK, "stdout", `"schema_version":1`, "elapsed_ms", "schema --events")
	}
}

var stamp = regexp.MustCompile(`^[0-2][0-9]:[0-5][0-9]:[0-6][0-9] `)

// TestTimestamps: --timestamps starts each line of the progress, and the
// error, with the time.
func TestTimestamps(t *testing.T) {
	t.Parallel()
	r := cli(t, t.TempDir(), "run", "--simulate", "--timestamps", "--fault", "installer-fails")
	r.want(t, exitFailed, "stdout", "✗ Run the installer on the primary (failed)")
	for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			if !stamp.MatchString(line) {
				t.Errorf("%s line without a time: %q", name, line)
			}
		}
	}
	plain := cli(t, t.TempDir(), "run", "--simulate", "-p", "maintain_dr=false")
	if stamp.MatchString(plain.stdout) {
		t.Errorf("a time without --timestamps: %v", plain)
	}
}

// TestLogFile: --log-file writes every event, as plain lines with their
// times, or as JSON lines for a .jsonl file; secrets redacted; the
// terminal's output is the same as without it.
func TestLogFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const secret = "S3cr3t-in-the-log"
	for _, name := range []string{"run.log", "run.jsonl"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			log := filepath.Join(dir, name)
			r := cli(t, dir, "run", "--simulate", "--log-file", log, "-p", "password="+secret)
			r.want(t, exitOK, "stdout", "\nSucceeded: 15 steps")
			if strings.Contains(r.stdout, "time=") || strings.Contains(r.stdout, "schema_version") {
				t.Errorf("the log is on stdout: %v", r)
			}
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			if strings.Contains(text, secret) {
				t.Errorf("the secret is in the log:\n%s", text)
			}
			lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
			if strings.HasSuffix(name, ".jsonl") {
				evs := jsonLines(t, text)
				if evs[len(evs)-1]["type"] != "run.end" {
					t.Errorf("last event %v, want run.end", evs[len(evs)-1])
				}
				return
			}
			timeRE := regexp.MustCompile(`^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z level=`)
			for _, l := range lines {
				if !timeRE.MatchString(l) {
					t.Errorf("log line without its time: %q", l)
				}
			}
			for _, want := range []string{"event=run.start", "event=step.end step=upgrade-primary outcome=succeeded", "event=run.end"} {
				if !strings.Contains(text, want) {
					t.Errorf("log lacks %q:\n%s", want, text)
				}
			}
		})
	}
}

// TestPlanTableFitsAndExplains: the table of plan fits $COLUMNS, a legend
// explains the conditions it did not check, and nothing speaks of a
// stopped or interrupted upgrade.
func TestPlanTableFitsAndExplains(t *testing.T) {
	t.Parallel()
	r := cliEnv(t, t.TempDir(), []string{"COLUMNS=64"}, "plan", "--simulate")
	r.want(t, exitOK, "stdout", "not checked: ", "after action: ", "simulator: invariants held (a dry run")
	for _, line := range tableLines(r.stdout) {
		if w := console.DisplayWidth(line); w > 64 {
			t.Errorf("line of %d columns: %q", w, line)
		}
	}
	for _, bad := range []string{"stopped", "interrupt", "resume", "final state"} {
		if strings.Contains(strings.ToLower(r.stdout), bad) {
			t.Errorf("plan speaks of %q: %v", bad, r)
		}
	}
	// Without $COLUMNS, off a terminal, lines are whole.
	wide := cli(t, t.TempDir(), "plan", "--simulate")
	if !strings.Contains(wide.stdout, "when: maintain_dr and stop_secondary_during_validation are both true does not hold") {
		t.Errorf("a cut line off a terminal: %v", wide)
	}
}

// tableLines are the lines of plan's table and legend in out.
func tableLines(out string) []string {
	var lines []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "#   STEP") {
			in = true
		}
		if strings.HasPrefix(line, "Dry run: ") {
			break
		}
		if in {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestPlanTableNotReached: the conditions of a blocked step after the one
// that failed are counted as not reached, and the legend says why.
func TestPlanTableNotReached(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "rb.yaml", `apiVersion: csmplan/v1
kind: Runbook
name: blocked
steps:
  - id: gate
    pre: [{title: ready, value: false, expect: {equals: true}}]
    action: log
    with: {message: hi}
    post: [{title: done, value: true}]
`)
	r := cli(t, dir, "plan", "rb.yaml")
	r.want(t, exitFailed, "stdout", "1 unmet, 1 not reached", "not reached: not checked, as an earlier condition")
}

// TestLongActionTicksOffTerminal: off a terminal, an action that runs a
// while without saying anything gets a plain line every
// --progress-interval, and so does its passing status (action.progress).
func TestLongActionTicksOffTerminal(t *testing.T) {
	t.Parallel()
	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		// A real process that runs 1.5s without a word.
		dir := t.TempDir()
		writeFile(t, dir, "slow.yaml", "apiVersion: csmplan/v1\nkind: Runbook\nname: slow\nsteps:\n  - id: slow\n    action: exec\n    with: {argv: [sleep, \"1.5\"]}\n")
		r := cli(t, dir, "run", "slow.yaml", "--progress-interval", "200ms")
		r.want(t, exitOK, "stdout", "[1/1]   running exec: ", "\nSucceeded: 1 step")
		if strings.Contains(r.stdout, "\r") {
			t.Errorf("a redraw off a terminal: %q", r.stdout)
		}
	})
	t.Run("progress", func(t *testing.T) {
		t.Parallel()
		// The installer's wait for its server reports every poll (100ms):
		// off a terminal, a line of it is printed at most every interval.
		r := cli(t, t.TempDir(), "run", "--simulate", "-p", "maintain_dr=false", "--install-time", "2s", "--progress-interval", "200ms")
		r.want(t, exitOK, "stdout", "[7/15]   still waiting for primary ", "\nSucceeded: 15 steps")
		if n := strings.Count(r.stdout, "]   still waiting for primary "); n > 11 {
			t.Errorf("%d lines of the installer's wait in 2s, every 200ms: want at most 11:\n%s", n, r.stdout)
		}
	})
}

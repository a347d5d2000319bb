//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fake installer of the graceful-interrupt tests, run by the exec
// action of gracefulRunbook: it notes each run in DIR/runs.log, starts a
// child (a real process tree, one process group), says "started" through
// the FIFO DIR/started.fifo once both have set their traps, and runs until
// the file DIR/release exists (polling: it is the fake process, not the
// test, that waits), then ends normally. Each records every SIGTERM it
// gets in DIR/leader.log and DIR/child.log; in mode "graceful" both exit
// on it, in mode "ignore" they go on, and so they do in "ignore-notify",
// where the installer also says "TERM" through the FIFO DIR/term.fifo.
const (
	cliInstaller = `d=$1; mode=$2
echo run >> "$d/runs.log"
echo $$ > "$d/leader.pid"
if [ "$mode" = ignore-notify ]; then
  trap 'echo TERM >> "$d/leader.log"; echo TERM > "$d/term.fifo"' TERM
elif [ "$mode" = ignore ]; then
  trap 'echo TERM >> "$d/leader.log"' TERM
else
  trap 'echo TERM >> "$d/leader.log"; wait $child; exit 143' TERM
fi
sh "$d/child.sh" "$d" "$mode" &
child=$!
while [ ! -e "$d/child.ready" ]; do sleep 0.01; done
echo started > "$d/started.fifo"
while [ ! -e "$d/release" ]; do sleep 0.05; done
wait $child
echo finished > "$d/finished"
`
	cliChild = `d=$1; mode=$2
echo $$ > "$d/child.pid"
if [ "$mode" != graceful ]; then
  trap 'echo TERM >> "$d/child.log"' TERM
else
  trap 'echo TERM >> "$d/child.log"; exit 143' TERM
fi
: > "$d/child.ready"
while [ ! -e "$d/release" ]; do sleep 0.05; done
`
	gracefulRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: graceful
params:
  dir: {type: string, required: true}
  mode: {type: string, default: graceful}
steps:
  - id: install
    title: Upgrade the primary
    action: exec
    with: {argv: [sh, "${params.dir}/installer.sh", "${params.dir}", "${params.mode}"]}
    post:
      - probe: exec
        with: {argv: [test, -e, "${params.dir}/release"]}
        expect: {path: exit_code, equals: 0}
  - id: after
    action: log
    with: {message: all done}
`
)

// installerRun is a run of gracefulRunbook whose installer has started.
type installerRun struct {
	*proc
	dir, journal string
	args         []string
}

// startInstallerRun writes the runbook and the fake installer into a new
// directory, starts `csmplan run --json` on it with extra args, and
// returns once the installer and its child run.
func startInstallerRun(t *testing.T, ctx context.Context, mode string, extra ...string) *installerRun {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "graceful.yaml", gracefulRunbook)
	writeFile(t, dir, "installer.sh", cliInstaller)
	writeFile(t, dir, "child.sh", cliChild)
	fifo := filepath.Join(dir, "started.fifo")
	for _, f := range []string{fifo, filepath.Join(dir, "term.fifo")} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	journal := filepath.Join(dir, "j.jsonl")
	args := []string{"run", "graceful.yaml", "-p", "dir=" + dir, "-p", "mode=" + mode, "--journal", journal}
	p := start(t, ctx, dir, append(append(args, "--json"), extra...)...)
	r := &installerRun{proc: p, dir: dir, journal: journal, args: args}
	r.hear("started.fifo", "started")
	return r
}

// hear waits until the installer says what through the FIFO name.
func (r *installerRun) hear(name, what string) {
	r.t.Helper()
	heard := make(chan string, 1)
	go func() {
		// Opening blocks until the installer opens the FIFO to write.
		b, err := os.ReadFile(filepath.Join(r.dir, name))
		if err != nil {
			heard <- err.Error()
		}
		heard <- string(b)
	}()
	select {
	case s := <-heard:
		if s != what+"\n" {
			r.t.Fatalf("the installer said %q, want %s: %v", s, what, r.proc)
		}
	case <-r.exited:
		r.t.Fatalf("csmplan ended before the installer said %s: %v", what, r.proc)
	case <-r.ctx.Done():
		r.t.Fatalf("the installer did not say %s: %v", what, r.proc)
	}
}

func (r *installerRun) file(name string) string {
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil && !os.IsNotExist(err) {
		r.t.Fatal(err)
	}
	return string(b)
}

// alive reports whether the process whose pid the installer wrote into
// the file name runs (exists and is not a zombie).
func (r *installerRun) alive(name string) bool {
	r.t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(r.file(name)))
	if err != nil {
		r.t.Fatalf("%s: %v", name, err)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z' && s[i+2] != 'X'
}

// stderrLine is the line of stderr that holds sub, or "".
func (r *installerRun) stderrLine(sub string) string {
	for _, l := range strings.Split(r.stderr.String(), "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestInterruptLetsTheInstallerFinish: one Ctrl-C while the installer runs
// says what the run waits for, and signals nothing; once the installer
// has finished, the run stops (130) with the action's end in the journal,
// and a resume checks the postcondition without running the installer
// again.
func TestInterruptLetsTheInstallerFinish(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a guard only
	defer cancel()
	r := startInstallerRun(t, ctx, "graceful")
	r.signal(os.Interrupt)
	r.waitFor(`"type":"run.stopping"`, `"step":"install"`)
	if !r.alive("leader.pid") || !r.alive("child.pid") || r.file("leader.log")+r.file("child.log") != "" {
		t.Fatalf("after one Ctrl-C the installer runs %v, its child %v, and they got %q; want both running, no signal",
			r.alive("leader.pid"), r.alive("child.pid"), r.file("leader.log")+r.file("child.log"))
	}
	writeFile(t, r.dir, "release", "")
	if code := r.exitCode(time.Minute); code != exitInterrupted {
		t.Fatalf("exit code %d, want %d: %v", code, exitInterrupted, r.proc)
	}
	if r.file("finished") != "finished\n" || r.file("leader.log")+r.file("child.log") != "" {
		t.Errorf("the installer did not finish undisturbed: finished %q, signals %q", r.file("finished"), r.file("leader.log")+r.file("child.log"))
	}
	// stderr is complete once the process has ended.
	const want = `stopping: waiting for exec (step 1 "Upgrade the primary") to finish; press Ctrl-C again to stop it (SIGTERM, then SIGKILL after 10s)`
	if line := r.stderrLine("stopping"); line != want {
		t.Errorf("stderr line %q, want %q: %v", line, want, r.proc)
	}
	if !strings.Contains(r.stderr.String(), "resume with 'csmplan run --journal "+r.journal+" --resume'") {
		t.Errorf("no resume hint: %v", r.proc)
	}
	// Every event, run.stopping included, is in the documented form.
	if evs := jsonLines(t, r.output()); evs[len(evs)-1]["type"] != "run.end" {
		t.Errorf("the last event is %v, want run.end", evs[len(evs)-1]["type"])
	}
	ended := false
	for _, rec := range journalRecords(t, r.journal) {
		if rec["type"] == "action.end" && rec["step"] == "install" && rec["outcome"] == "succeeded" {
			ended = true
		}
	}
	if !ended {
		t.Errorf("the journal does not record the installer's end: %v", journalRecords(t, r.journal))
	}

	res := cli(t, r.dir, append(r.args, "--resume", "--json")...)
	res.want(t, exitOK, "stdout", `"step":"install"`, `"message":"interrupted earlier; its postconditions hold"`, "all done")
	if runs := r.file("runs.log"); runs != "run\n" {
		t.Errorf("the installer ran %d times, want once", strings.Count(runs, "run"))
	}
}

// TestInterruptTwiceStopsTheInstaller: a second Ctrl-C stops the installer:
// it and its child get SIGTERM; one that ignores SIGTERM is killed, with
// its child, once the grace (--kill-grace) has passed.
func TestInterruptTwiceStopsTheInstaller(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"graceful", "ignore"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a guard only
			defer cancel()
			var extra []string
			grace := "10s"
			if mode == "ignore" {
				grace = "200ms"
				extra = []string{"--kill-grace", grace}
			}
			r := startInstallerRun(t, ctx, mode, extra...)
			r.forceStop()
			if code := r.exitCode(time.Minute); code != exitInterrupted {
				t.Fatalf("exit code %d, want %d: %v", code, exitInterrupted, r.proc)
			}
			if want := "stopping now: running commands get SIGTERM, then SIGKILL after " + grace; r.stderrLine("stopping now") != want+"; press Ctrl-C again to exit at once" {
				t.Errorf("stderr does not say %q: %v", want, r.proc)
			}
			if r.file("finished") != "" {
				t.Errorf("the installer finished")
			}
			if r.alive("leader.pid") || r.alive("child.pid") {
				t.Errorf("a process of the installer's tree survived: leader %v, child %v", r.alive("leader.pid"), r.alive("child.pid"))
			}
			if mode == "graceful" {
				if got := r.file("leader.log") + r.file("child.log"); got != "TERM\nTERM\n" {
					t.Errorf("the installer and its child got %q, want one TERM each", got)
				}
			}
			for _, rec := range journalRecords(t, r.journal) {
				if rec["type"] == "action.end" {
					t.Errorf("the journal records the end of the stopped installer: %v", rec)
				}
			}
		})
	}
}

// TestInterruptThriceExits: the third Ctrl-C exits at once (130), even
// while the second waits out a long kill grace.
func TestInterruptThriceExits(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a guard only
	defer cancel()
	r := startInstallerRun(t, ctx, "ignore-notify", "--kill-grace", "1h")
	t.Cleanup(func() {
		// The installer outlives csmplan, which exited at once: kill its group.
		if pid, err := strconv.Atoi(strings.TrimSpace(r.file("leader.pid"))); err == nil {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	r.forceStop()
	r.hear("term.fifo", "TERM") // the second signal was handled
	r.signal(os.Interrupt)
	if code := r.exitCode(time.Minute); code != exitInterrupted {
		t.Fatalf("exit code %d, want %d: %v", code, exitInterrupted, r.proc)
	}
}

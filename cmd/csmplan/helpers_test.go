package main

// The tests of this package run the real csmplan binary as a subprocess:
// TestMain builds it once, then each test runs it in a temporary directory
// and checks its output and exit code. Waiting for something a process does
// is a bounded read of its output, never a sleep.
//
// When the tests run with coverage (go test -cover), the binary is built
// with -cover too and its processes write their counters where the test
// binary writes its own (-test.gocoverdir, else GOCOVERDIR), so that what
// the runs of the binary execute counts: `go tool covdata percent` over that
// directory (see .ci/coverage) merges both.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// binPath is the csmplan binary built by TestMain.
var binPath string

// buildFlags are extra flags of go build (-race under the race detector).
var buildFlags []string

// coverDir is where the binary's processes write their coverage counters
// (GOCOVERDIR), or "" when the binary is not built with -cover.
var coverDir string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "csmplan-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "csmplan")
	//lint:ignore SA1019 the go tool of the toolchain running the tests, as in the Go distribution's own tests
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	args := append([]string{"build"}, buildFlags...)
	if mode, dir := coverage(); dir != "" {
		// Only this package's statements: each package's figure comes
		// from its own tests, as with go test -cover.
		args = append(args, "-cover", "-covermode="+mode, "-coverpkg=.")
		coverDir = dir
	}
	cmd := exec.Command(goTool, append(args, "-o", binPath, ".")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building csmplan: %v\n", err)
		return 1
	}
	return m.Run()
}

// coverage returns the coverage mode of the tests and the directory where
// counters go, or "", "" when the tests do not measure coverage or have
// nowhere to write it.
func coverage() (mode, dir string) {
	mode = testing.CoverMode()
	if mode == "" {
		return "", ""
	}
	if !flag.Parsed() {
		flag.Parse()
	}
	if f := flag.Lookup("test.gocoverdir"); f != nil {
		dir = f.Value.String()
	}
	if dir == "" {
		dir = os.Getenv("GOCOVERDIR")
	}
	if dir == "" {
		return "", ""
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // the processes run in other directories
	}
	return mode, dir
}

// testEnv is the environment of the processes: no color, so that output is
// plain text whatever the terminal; a binary built with -race does not
// sleep a second at exit (a race it finds still makes it exit 66); a binary
// built with -cover writes its counters to coverDir.
func testEnv() []string {
	env := append(os.Environ(), "NO_COLOR=1", "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	if coverDir != "" {
		env = append(env, "GOCOVERDIR="+coverDir)
	}
	return env
}

// result is what a finished csmplan process did.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("csmplan %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// cli runs the binary in dir with args and returns what it did; the
// test fails if it does not end within a minute.
func cli(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return cliEnv(t, dir, nil, args...)
}

// cliEnv is cli with variables (NAME=VALUE) added to the environment.
func cliEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a guard only
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = dir, append(testEnv(), env...), 5*time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("did not end within the time limit: %v", res)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("csmplan %s: %v", strings.Join(args, " "), err)
	}
	res.code = cmd.ProcessState.ExitCode()
	return res
}

// want checks the exit code and that each of the strings occurs in the
// output stream named ("stdout" or "stderr").
func (r result) want(t *testing.T, code int, stream string, subs ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d; %v", r.code, code, r)
	}
	out := r.stdout
	if stream == "stderr" {
		out = r.stderr
	}
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("%s does not contain %q; %v", stream, s, r)
		}
	}
}

// proc is a csmplan process running in the background. Its stdout is read
// line by line as it comes; its stderr is collected.
type proc struct {
	t      *testing.T
	ctx    context.Context
	args   []string
	cmd    *exec.Cmd
	lines  chan string
	exited chan struct{}

	mu     sync.Mutex
	stdout strings.Builder
	stderr lockedBuffer
	code   int
}

// lockedBuffer is a bytes.Buffer safe for a writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start starts the binary in dir; ctx bounds its life. The process is
// killed at the end of the test if it is still running.
func start(t *testing.T, ctx context.Context, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, ctx: ctx, args: args, lines: make(chan string, 10000), exited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, binPath, args...)
	p.cmd.Dir, p.cmd.Env, p.cmd.WaitDelay = dir, testEnv(), 5*time.Second
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.cmd.Wait()
		p.mu.Lock()
		p.code = p.cmd.ProcessState.ExitCode()
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *proc) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("csmplan %s\n--- stdout so far:\n%s--- stderr so far:\n%s", strings.Join(p.args, " "), p.stdout.String(), p.stderr.String())
}

// output is all of stdout read so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

// waitFor reads stdout until a line holds all of subs and returns it. It
// fails the test when the process ends first or the context is done.
func (p *proc) waitFor(subs ...string) string {
	p.t.Helper()
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("the process ended before a line with %q: %v", subs, p)
			}
			all := true
			for _, s := range subs {
				all = all && strings.Contains(line, s)
			}
			if all {
				return line
			}
		case <-p.ctx.Done():
			p.t.Fatalf("no line with %q in time: %v", subs, p)
		}
	}
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// exitCode waits at most d for the process to end and returns its exit
// code (-1 when a signal killed it).
func (p *proc) exitCode(d time.Duration) int {
	p.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		p.t.Fatalf("the process did not end within %s: %v", d, p)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code
}

// simPair is a background `csmplan sim` with its params file.
type simPair struct {
	*proc
	params string
}

// startSim starts `csmplan sim --params-out FILE` in dir and waits until
// the pair is up.
func startSim(t *testing.T, ctx context.Context, dir string, args ...string) *simPair {
	t.Helper()
	params := filepath.Join(dir, "sim-params.yaml")
	p := start(t, ctx, dir, append([]string{"sim", "--params-out", params}, args...)...)
	p.waitFor("Press Ctrl-C")
	return &simPair{proc: p, params: params}
}

// stop sends sig (SIGINT or SIGTERM) to the simulator and returns its
// "simulator:" line.
func (s *simPair) stop(sig os.Signal) string {
	s.t.Helper()
	s.signal(sig)
	line := s.waitFor("simulator:")
	if code := s.exitCode(2 * time.Minute); code != exitOK {
		s.t.Errorf("sim exit code %d, want 0: %v", code, s.proc)
	}
	return line
}

// journalRecords reads a journal: every complete line must be a JSON
// object; an incomplete last line (a crash in the middle of a write) is
// ignored.
func journalRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("journal: %v", err)
	}
	var recs []map[string]any
	for i, line := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasSuffix(line, "\n") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("journal line %d is not a JSON object: %v: %q", i+1, err, line)
			continue
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		t.Fatalf("journal %s holds no record", path)
	}
	return recs
}

// stepEnds maps each step the journal records as ended to its outcome.
func stepEnds(recs []map[string]any) map[string]string {
	out := map[string]string{}
	for _, r := range recs {
		if r["type"] == "step.end" {
			out[r["step"].(string)], _ = r["outcome"].(string)
		}
	}
	return out
}

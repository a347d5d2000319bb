package main

// The end-to-end tests run real processes: the csmplan-temporal binary
// (dev server, workers, run, status, report) and the csmplan binary (the
// simulated CSM pair), built once by TestMain. Waiting for what a process
// does is a read of its output; the contexts are guards of minutes only.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// temporalBin and csmplanBin are the binaries TestMain builds.
var temporalBin, csmplanBin string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "csmplan-temporal-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	temporalBin, csmplanBin = filepath.Join(dir, "csmplan-temporal"), filepath.Join(dir, "csmplan")
	//lint:ignore SA1019 the go tool of the toolchain running the tests
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, b := range []struct{ dir, pkg, out string }{{".", ".", temporalBin}, {"../../..", "./cmd/csmplan", csmplanBin}} {
		args := []string{"build", "-o", b.out}
		if mode := testing.CoverMode(); mode != "" && os.Getenv("GOCOVERDIR") != "" && b.dir == "." {
			// Its processes write their counters to GOCOVERDIR too:
			// `go tool covdata percent -i $GOCOVERDIR` counts them.
			args = append(args, "-cover", "-covermode="+mode, "-coverpkg=.")
		}
		cmd := exec.Command(goTool, append(args, b.pkg)...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = b.dir, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", b.out, err)
			return 1
		}
	}
	return m.Run()
}

// proc is a process running in the background; its stdout and stderr are
// read line by line, together, as they come.
type proc struct {
	t      testing.TB
	ctx    context.Context
	name   string
	cmd    *exec.Cmd
	lines  chan string
	exited chan struct{}

	mu   sync.Mutex
	out  strings.Builder
	code int
}

// start starts bin with args in dir; ctx bounds its life, and the test's
// end kills it.
func start(t testing.TB, ctx context.Context, dir, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, ctx: ctx, name: filepath.Base(bin) + " " + strings.Join(args, " "), lines: make(chan string, 100000), exited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Dir, p.cmd.Env, p.cmd.WaitDelay = dir, append(os.Environ(), "NO_COLOR=1"), 5*time.Second
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.mu.Lock()
		p.code = p.cmd.ProcessState.ExitCode()
		p.mu.Unlock()
		pw.Close() // after the code: EOF says it is known
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
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
	return fmt.Sprintf("%s\n--- output so far:\n%s", p.name, p.out.String())
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor reads the output until a line holds all of subs, and returns it.
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

// kill kills the process with SIGKILL, as a machine that dies.
func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill: %v", err)
	}
	<-p.exited
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// exitCode waits for the process to end and returns its exit code.
func (p *proc) exitCode() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-p.ctx.Done():
		p.t.Fatalf("did not end in time: %v", p)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code
}

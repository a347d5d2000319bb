package csmtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/actions/remote"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

func TestControlExecutor(t *testing.T) {
	t.Parallel()
	clk := actionstest.NewClock(actionstest.Epoch)
	pair := csmtest.NewPairForTest(t, csmtest.Options{Clock: clk, InstallTime: time.Minute})
	ctx := context.Background()
	var ex remote.Executor = csmtest.ControlExecutor{}
	env := pair.Primary().Env()
	env["CSM_TARGET_VERSION"] = pair.TargetVersion()
	argv := pair.InstallerArgv(csmtest.ControlProgram)

	var out, errOut bytes.Buffer
	code, err := ex.Run(ctx, remote.Command{Argv: argv, Env: env, Stdout: &out, Stderr: &errOut})
	if err != nil || code != 0 {
		t.Fatalf("install: exit %d, err %v, stderr %q", code, err, errOut.String())
	}
	if want := "install on " + pair.Primary().Addr(); !strings.Contains(out.String(), want) {
		t.Errorf("stdout %q, want %q in it", out.String(), want)
	}
	if pair.Primary().Up() {
		t.Error("the primary is up while the installer runs")
	}
	clk.Advance(time.Minute)
	if v := pair.Primary().Version(); v != pair.TargetVersion() {
		t.Errorf("primary at %s after the install, want %s", v, pair.TargetVersion())
	}

	// The environment is the command's: without CSM_HOST the program does
	// not know the server.
	errOut.Reset()
	code, err = ex.Run(ctx, remote.Command{Argv: pair.ServerArgv(csmtest.ControlProgram, "stop"), Env: map[string]string{"CSM_PORT": "1"}, Stderr: &errOut})
	if err != nil || code != 2 || !strings.Contains(errOut.String(), "CSM_HOST and CSM_PORT must name the server") {
		t.Errorf("stop without CSM_HOST: exit %d, err %v, stderr %q; want exit 2 and the usage message", code, err, errOut.String())
	}

	// A failing operation exits 1 with its message on stderr.
	if err := pair.Inject(csmtest.FaultInstallerFails); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	code, err = ex.Run(ctx, remote.Command{Argv: argv, Env: env, Stderr: &errOut})
	if err != nil || code != 1 || errOut.Len() == 0 {
		t.Errorf("install with installer-fails: exit %d, err %v, stderr %q; want exit 1 and a message", code, err, errOut.String())
	}

	// Another program is not found.
	_, err = ex.Run(ctx, remote.Command{Argv: []string{"/opt/setup.bin", "-i", "silent"}, Env: env})
	if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), `"/opt/setup.bin" is not csmtest-control`) {
		t.Errorf("another program: err = %v, want exec.ErrNotFound naming it", err)
	}
	if _, err := ex.Run(ctx, remote.Command{}); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("no argv: err = %v, want exec.ErrNotFound", err)
	}

	// A done context runs nothing.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := pair.Clear(csmtest.FaultInstallerFails); err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Run(cancelled, remote.Command{Argv: pair.ServerArgv(csmtest.ControlProgram, "stop"), Env: pair.Primary().Env()}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	if !pair.Primary().Up() {
		t.Error("a cancelled stop stopped the primary")
	}
}

// A context done while the control program waits for its server ends the
// run with an error wrapping ctx.Err(), and drops the program's output.
func TestControlExecutorCancelledWhileRunning(t *testing.T) {
	t.Parallel()
	pair := csmtest.NewPairForTest(t, csmtest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	accepted := make(chan net.Conn, 1)
	go func() {
		// The server answers nothing: the program waits for it.
		conn, err := ln.Accept()
		if err == nil {
			accepted <- conn
			cancel()
		}
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	var out, errOut bytes.Buffer
	_, err = csmtest.ControlExecutor{}.Run(ctx, remote.Command{
		Argv:   pair.ServerArgv(csmtest.ControlProgram, "stop"),
		Env:    map[string]string{"CSM_HOST": host, "CSM_PORT": port},
		Stdout: &out, Stderr: &errOut,
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if out.Len() != 0 || errOut.Len() != 0 {
		t.Errorf("output of a cancelled run: %q %q, want none", out.String(), errOut.String())
	}
	(<-accepted).Close() // the program fails and returns
}

func TestParams(t *testing.T) {
	t.Parallel()
	for _, standby := range []bool{true, false} {
		pair := csmtest.NewPairForTest(t, csmtest.Options{Standby: standby, ControlKey: "k"})
		got := pair.Params()
		dir, _ := got["backup_dir"].(string)
		if !strings.HasPrefix(dir, strings.TrimSuffix(pair.CAFile(), "ca.pem")) {
			t.Errorf("backup_dir %q is not in the pair's directory %s", dir, pair.CAFile())
		}
		want := map[string]any{
			"primary":        pair.Primary().Addr(),
			"username":       csmtest.DefaultUsername,
			"password":       csmtest.DefaultPassword,
			"ca_file":        pair.CAFile(),
			"target_version": "6.3.10.1",
			"maintain_dr":    standby,
			"installer":      []any{"csmtest-control", "install", "--version", "6.3.10.1", "--ca", pair.CAFile(), "--key-file", pair.ControlKeyFile()},
			"server_stop":    []any{"csmtest-control", "stop", "--ca", pair.CAFile(), "--key-file", pair.ControlKeyFile()},
			"server_start":   []any{"csmtest-control", "start", "--ca", pair.CAFile(), "--key-file", pair.ControlKeyFile()},
			"backup_dir":     dir,
		}
		if standby {
			want["secondary"] = pair.Secondary().Addr()
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("standby %v: Params (-want +got):\n%s", standby, diff)
		}
		got["primary"] = "changed"
		if pair.Params()["primary"] == "changed" {
			t.Error("Params returned the same map twice")
		}
	}
	// The params bind to the default runbook.
	p, err := csmplan.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runner.BindParams(p, csmtest.NewPairForTest(t, csmtest.Options{Standby: true}).Params()); err != nil {
		t.Errorf("BindParams: %v", err)
	}
}

// fatalT stands for a test whose Fatalf ends it.
type fatalT struct {
	msg      string
	cleanups []func()
}

func (f *fatalT) Helper()           {}
func (f *fatalT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func TestNewPairForTest(t *testing.T) {
	t.Parallel()
	var addr, ca string
	t.Run("pair", func(t *testing.T) {
		pair := csmtest.NewPairForTest(t, csmtest.Options{Standby: true})
		addr, ca = pair.Primary().Addr(), pair.CAFile()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("the pair does not listen: %v", err)
		}
		conn.Close()
	})
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Errorf("the pair still listens on %s after its test ended", addr)
	}
	if _, err := os.Stat(ca); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the CA file is still there after the test ended: %v", err)
	}

	f := &fatalT{}
	func() {
		defer func() {
			if r := recover(); r != f {
				t.Errorf("recovered %v, want the Fatalf", r)
			}
		}()
		csmtest.NewPairForTest(f, csmtest.Options{Faults: []string{"no-such-fault"}})
	}()
	if !strings.Contains(f.msg, `unknown fault "no-such-fault"`) || len(f.cleanups) != 0 {
		t.Errorf("Fatalf(%q) with %d cleanups, want the unknown fault and none", f.msg, len(f.cleanups))
	}
}

// The default runbook upgrades a simulated pair in-process, on a virtual
// clock: the installer and the stop/start commands run as ControlMain in
// the test's own process, and 2 installs of 20 minutes take milliseconds.
func ExamplePair_Params() {
	clk := actionstest.NewClock(actionstest.Epoch)
	pair, err := csmtest.NewPair(csmtest.Options{Standby: true, Clock: clk, InstallTime: 20 * time.Minute, SyncTime: 5 * time.Minute, ReconnectDelay: 2 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pair.Close()

	reg, err := csmplan.NewRegistry(pair.CSMOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := plan.Parse(csmplan.DefaultRunbookName, csmplan.DefaultRunbook(), plan.WithRegistry(reg))
	if err != nil {
		fmt.Println(err)
		return
	}
	params := pair.Params()
	params["stop_secondary_during_validation"] = true
	rep, err := runner.Run(context.Background(), p, runner.Options{Registry: reg, Clock: clk, Params: params})
	fmt.Println("run:", rep.Outcome, err)
	fmt.Println("steps succeeded:", rep.Count(runner.Succeeded))
	fmt.Println(pair.Summary(pair.TargetVersion()))
	// Output:
	// run: succeeded <nil>
	// steps succeeded: 15
	// simulator: invariants held
}

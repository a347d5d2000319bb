package csmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions/csm"
)

func TestArgv(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{ControlKey: "k1"})
	got := p.InstallerArgv("/bin/prog", "sim-control")
	want := []string{"/bin/prog", "sim-control", "install", "--version", "6.3.10.1", "--ca", p.CAFile(), "--key-file", p.ControlKeyFile()}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("InstallerArgv = %q, want %q", got, want)
	}
	got = p.ServerArgv("prog", "stop")
	want = []string{"prog", "stop", "--ca", p.CAFile(), "--key-file", p.ControlKeyFile()}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ServerArgv = %q, want %q", got, want)
	}
	if data, err := os.ReadFile(p.CAFile()); err != nil || string(data) != string(p.CAPEM()) {
		t.Fatalf("CA file: %v", err)
	}
	// The key is in a file only the user reads, never on a command line.
	if data, err := os.ReadFile(p.ControlKeyFile()); err != nil || strings.TrimSpace(string(data)) != "k1" {
		t.Fatalf("key file: %q, %v", data, err)
	}
	if fi, err := os.Stat(p.ControlKeyFile()); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("key file mode: %v, %v", fi, err)
	}
	for _, argv := range [][]string{p.InstallerArgv("prog"), p.ServerArgv("prog", "start"), p.ServerArgv("prog", "")} {
		if strings.Contains(strings.Join(argv, " "), "k1") {
			t.Errorf("argv %q shows the control key", argv)
		}
	}
}

func TestControlMainErrors(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Clock: newFakeClock()})
	env := p.Primary().Env()
	getenv := func(k string) string { return env[k] }
	wrongKey := filepath.Join(t.TempDir(), "wrong.key")
	if err := os.WriteFile(wrongKey, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := p.ControlKeyFile()
	for _, tc := range []struct {
		name   string
		args   []string
		getenv func(string) string
		code   int
		stderr string
	}{
		{"no op", nil, getenv, 2, "missing operation"},
		{"flags only", []string{"--ca", "x"}, getenv, 2, "missing operation"},
		{"bad op", []string{"upgrade"}, getenv, 2, `unknown operation "upgrade"`},
		{"no version", []string{"install", "--ca", p.CAFile(), "--key-file", key}, getenv, 2, "--version (or CSM_TARGET_VERSION) is required"},
		{"version for stop", []string{"stop", "--version", "1", "--ca", p.CAFile(), "--key-file", key}, getenv, 2, "--version is only for install"},
		{"no ca", []string{"stop", "--key-file", key}, getenv, 2, "--ca is required"},
		{"bad flag", []string{"stop", "--nope"}, getenv, 2, "flag provided but not defined"},
		{"no env", p.ServerArgv("x", "stop")[1:], func(string) string { return "" }, 2, "CSM_HOST and CSM_PORT must name the server"},
		{"bad port", p.ServerArgv("x", "stop")[1:], func(k string) string { return map[string]string{"CSM_HOST": "127.0.0.1", "CSM_PORT": "http"}[k] }, 2, "not a port number"},
		{"no key file", []string{"stop", "--ca", p.CAFile()}, getenv, 2, "--key-file is required"},
		{"missing key file", []string{"stop", "--ca", p.CAFile(), "--key-file", wrongKey + ".none"}, getenv, 1, "the control key"},
		{"wrong key", []string{"stop", "--ca", p.CAFile(), "--key-file", wrongKey}, getenv, 1, "HTTP 403: wrong control key"},
		{"bad ca", []string{"stop", "--ca", os.DevNull, "--key-file", key}, getenv, 1, "holds no PEM certificate"},
	} {
		var out, errb strings.Builder
		code := ControlMain(tc.args, tc.getenv, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.stderr) || out.Len() != 0 {
			t.Errorf("%s: exit %d stdout %q stderr %q, want %d and %q", tc.name, code, out.String(), errb.String(), tc.code, tc.stderr)
		}
		if strings.Contains(errb.String(), p.ControlKey()) {
			t.Errorf("%s: stderr shows the control key", tc.name)
		}
	}
	if !p.Primary().Up() {
		t.Fatal("a failed control call changed the server")
	}
}

// The variables the csm actions set stand in for the operation and version.
func TestControlMainEnvironment(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Clock: newFakeClock()})
	env := p.Primary().Env()
	env["CSM_SERVER_OP"] = "stop"
	getenv := func(k string) string { return env[k] }
	argv := p.ServerArgv("x", "")
	if len(argv) != 5 || argv[1] != "--ca" {
		t.Fatalf("ServerArgv without op = %q", argv)
	}
	var out, errb strings.Builder
	if code := ControlMain(argv[1:], getenv, &out, &errb); code != 0 || p.Primary().Up() {
		t.Fatalf("stop from CSM_SERVER_OP: exit %d %q %q", code, out.String(), errb.String())
	}
	env["CSM_SERVER_OP"] = "start"
	if code := ControlMain(argv[1:], getenv, &out, &errb); code != 0 || !p.Primary().Up() {
		t.Fatalf("start from CSM_SERVER_OP: exit %d %q", code, errb.String())
	}
	env["CSM_TARGET_VERSION"] = "7.0.0.0"
	if code := ControlMain([]string{"install", "--ca", p.CAFile(), "--key-file", p.ControlKeyFile()}, getenv, &out, &errb); code != 0 || p.Primary().Version() != "7.0.0.0" {
		t.Fatalf("install from CSM_TARGET_VERSION: exit %d %q, version %s", code, errb.String(), p.Primary().Version())
	}
}

// TestInstallerSubprocess runs the installer argv for real: the test binary
// re-executes itself and TestMain recognises the prefix.
func TestInstallerSubprocess(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock()})
	sec := newClient(t, p, p.Secondary())
	wantMsg(t, "takeover", sec.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	argv := p.InstallerArgv(os.Args[0], controlPrefix)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	for k, v := range p.Primary().Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "install on "+p.Primary().Addr()) {
		t.Fatalf("installer: %v\n%s", err, out)
	}
	if v := p.Primary().Version(); v != p.TargetVersion() {
		t.Fatalf("primary at %s after the installer", v)
	}
	if vs := p.Violations(); len(vs) != 0 {
		t.Fatalf("violations %v", vs)
	}
}

func TestConcurrency(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Standby: true, Clock: clk, SyncTime: time.Minute, InstallTime: time.Minute})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 8 {
		wg.Go(func() {
			s := p.Servers()[i%2]
			c := newClient(t, p, s)
			for j := range 15 {
				path := []string{"/system/ha", "/sessions/short", "/system/version", "/sessions/scheduledtasks"}[j%4]
				if code, err := c.call("GET", path, nil, nil); err != nil || code != 200 {
					errs <- fmt.Errorf("%s %s: HTTP %d %v", s.Name(), path, code, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			clk.Advance(10 * time.Minute)
			_ = p.Timeline()
			_ = p.Violations()
			_ = p.Inject(FaultSessionTransitory)
			_ = p.Clear(FaultSessionTransitory)
			_ = p.Summary("")
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := p.Requests(); n < 8*15 {
		t.Fatalf("Requests() = %d, want at least %d", n, 8*15)
	}
	if vs := p.Violations(); len(vs) != 0 {
		t.Fatalf("violations %v", vs)
	}
}

//go:build unix

package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// privsepDir is where OpenSSH's sshd insists on a privilege-separation
// directory (Debian and Ubuntu builds).
const privsepDir = "/run/sshd"

// realSSHD is an OpenSSH sshd started by a test on 127.0.0.1.
type realSSHD struct {
	port       int
	keyFile    string // the user's private key
	knownHosts string
	log        *syncBuffer
}

// findSSHD returns the absolute path of sshd. When there is none it skips
// the test, or fails it when CI=true: CI must run the real-sshd tests.
func findSSHD(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("sshd")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/sshd"); statErr == nil {
			path, err = "/usr/sbin/sshd", nil
		}
	}
	if err == nil {
		// sshd refuses to run unless exec'd by absolute path.
		if abs, absErr := filepath.Abs(path); absErr == nil {
			return abs
		}
		return path
	}
	const msg = "OpenSSH sshd not found in PATH or /usr/sbin; install it with `apt-get install openssh-server` (or run .ci/sshd-setup.sh as root) to run this test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: this test must not be skipped)")
	}
	t.Skip(msg)
	return ""
}

// ensurePrivsepDir creates /run/sshd when it is missing, or fails the test
// with a clear message when it cannot.
func ensurePrivsepDir(t *testing.T) {
	t.Helper()
	if fi, err := os.Stat(privsepDir); err == nil && fi.IsDir() {
		return
	}
	if err := os.MkdirAll(privsepDir, 0o755); err != nil {
		t.Fatalf("sshd needs its privilege-separation directory %s, which is missing and cannot be created (%v); run .ci/sshd-setup.sh as root or `sudo mkdir -p %s`", privsepDir, err, privsepDir)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRealSSHD starts `sshd -D -e -f config` on a free loopback port with a
// generated host key, authorizing a generated user key for the current
// user, and stops it when the test ends.
func startRealSSHD(t *testing.T) *realSSHD {
	t.Helper()
	sshdPath := findSSHD(t)
	ensurePrivsepDir(t)
	u, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}

	dir := t.TempDir()
	hostKey := newEd25519Key(t)
	userKey := newEd25519Key(t)
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	hostKeyFile := hostKey.writePrivate(t, dir, "ssh_host_ed25519_key")
	authorizedKeys := writeFile(t, filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(userKey.pub), 0o600)
	config := strings.Join([]string{
		"ListenAddress 127.0.0.1",
		"Port " + strconv.Itoa(port),
		"HostKey " + hostKeyFile,
		"AuthorizedKeysFile " + authorizedKeys,
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"StrictModes no",
		"UsePAM no",
		"PermitRootLogin yes", // tests may run as root (containers, CI)
		"AllowUsers " + u.Username,
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PrintMotd no",
		"LogLevel VERBOSE",
		"",
	}, "\n")
	configFile := writeFile(t, filepath.Join(dir, "sshd_config"), []byte(config), 0o600)

	var log syncBuffer
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", configFile)
	cmd.Stdout = &log
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", sshdPath, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.String())
		}
	})

	// Wait for the real process to listen: bounded dial attempts on a
	// ticker, abandoned if sshd exits.
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.NewTimer(failAfter)
	defer deadline.Stop()
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("sshd exited before listening on %s: %v\n%s", addr, waitErr, log.String())
		case <-deadline.C:
			t.Fatalf("sshd did not listen on %s within %s: %v\n%s", addr, failAfter, err, log.String())
		case <-ticker.C:
		}
	}

	return &realSSHD{
		port:       port,
		keyFile:    userKey.writePrivate(t, dir, "id_ed25519"),
		knownHosts: writeKnownHosts(t, dir, hostKey.pub, addr),
		log:        &log,
	}
}

func (d *realSSHD) config(t *testing.T) SSHConfig {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return SSHConfig{
		Host:           "127.0.0.1",
		Port:           d.port,
		User:           u.Username,
		KeyFile:        d.keyFile,
		KnownHostsFile: d.knownHosts,
		Timeout:        failAfter,
	}
}

// TestRealSSHD runs commands through a real OpenSSH server on loopback. It
// needs sshd installed (.ci/sshd-setup.sh); without it the test is skipped,
// except under CI=true where it fails.
func TestRealSSHD(t *testing.T) {
	t.Parallel()
	d := startRealSSHD(t)
	cfg := d.config(t)
	s := newTestSSH(t, cfg)

	// A first command tells a broken setup from a broken executor.
	if _, err := s.Run(context.Background(), Command{Argv: []string{"true"}}); err != nil {
		if strings.Contains(d.log.String(), "account is locked") {
			t.Fatalf("sshd refuses user %s because the account is locked (its password field starts with '!'); "+
				"allow key-only login with `sudo usermod -p '*' %s` (.ci/sshd-setup.sh does it when CI=true): %v", cfg.User, cfg.User, err)
		}
		t.Fatalf("first command through sshd: %v", err)
	}

	t.Run("exit codes", func(t *testing.T) {
		for _, tc := range []struct {
			argv []string
			want int
		}{
			{[]string{"true"}, 0},
			{[]string{"sh", "-c", "exit 3"}, 3},
			{[]string{"csmplan-no-such-program"}, 127},
		} {
			code, err := s.Run(context.Background(), Command{Argv: tc.argv})
			if err != nil || code != tc.want {
				t.Errorf("Run(%q) = %d, %v; want %d, nil", tc.argv, code, err, tc.want)
			}
		}
	})

	t.Run("streams", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code, err := s.Run(context.Background(), Command{
			Argv:   []string{"sh", "-c", "tr a-z A-Z; echo warn >&2"},
			Stdin:  strings.NewReader("hello over ssh\n"),
			Stdout: &stdout,
			Stderr: &stderr,
		})
		if err != nil || code != 0 {
			t.Fatalf("Run = %d, %v; want 0, nil", code, err)
		}
		if stdout.String() != "HELLO OVER SSH\n" || stderr.String() != "warn\n" {
			t.Errorf("stdout %q, stderr %q; want HELLO OVER SSH and warn", stdout.String(), stderr.String())
		}
	})

	t.Run("env, dir and quoting", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "it's a \"dir\" $HOME")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		realDir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			t.Fatal(err)
		}
		tricky := "it's \"x\" $HOME `id` \\ \n; exit 9"
		got := roundTrip(t, s, map[string]string{"TRICKY": tricky}, dir, trickyArgs)
		want := append([]string{tricky, realDir}, trickyArgs...)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("round trip through sshd:\n got %q\nwant %q", got, want)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		// The remote command blocks reading a stdin that is never
		// written or closed. sshd honours the "signal" request only
		// with privilege separation, which a root login lacks; then
		// closing the session (its stdin reaches EOF) is what ends it.
		stdinR, stdinW := io.Pipe()
		defer stdinW.Close()
		stdoutR, stdoutW := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := s.Run(ctx, Command{Argv: []string{"sh", "-c", "echo $$; exec cat"}, Stdin: stdinR, Stdout: stdoutW})
			stdoutW.Close()
			done <- err
		}()
		line, err := bufio.NewReader(stdoutR).ReadString('\n')
		if err != nil {
			t.Fatalf("reading the remote pid: %v", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("remote pid %q: %v", line, err)
		}
		go func() { _, _ = io.Copy(io.Discard, stdoutR) }()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run error = %v, want context.Canceled", err)
			}
		case <-time.After(failAfter):
			t.Fatal("Run did not return after cancel")
		}
		// sshd ran the command on this machine: it must be gone.
		waitProcessGone(t, pid)
	})
}

// waitProcessGone waits, boundedly, until pid no longer runs (absent or a
// zombie): SIGKILL is delivered asynchronously.
func waitProcessGone(t *testing.T, pid int) {
	t.Helper()
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.NewTimer(failAfter)
	defer deadline.Stop()
	for {
		if !processRunning(pid) {
			return
		}
		select {
		case <-deadline.C:
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still runs %s after Run was cancelled", pid, failAfter)
		case <-ticker.C:
		}
	}
}

// processRunning reports whether pid exists and is not a zombie.
func processRunning(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// Format: pid (comm) state ...; comm may contain spaces.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	state := s[i+2]
	return state != 'Z' && state != 'X'
}

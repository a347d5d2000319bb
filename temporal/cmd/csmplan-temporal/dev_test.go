package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// devGuard bounds the waits on the dev server: a failure guard, not a
// budget.
const devGuard = 2 * time.Minute

func TestDevListensUntilCancelled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args func(dir string) []string
		db   func(dir string) string
	}{
		{"in memory", func(string) []string { return []string{"--port", "0"} }, func(string) string { return "in memory" }},
		{"file", func(dir string) []string {
			return []string{"--port", "0", "--db", filepath.Join(dir, "dev.db"), "--namespace", "ops"}
		}, func(dir string) string { return filepath.Join(dir, "dev.db") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out, w := io.Pipe()
			var stderr devSyncBuffer
			code := make(chan int, 1)
			go func() {
				code <- cmdDev(ctx, tc.args(dir), w, &stderr)
				w.Close()
			}()
			lines := make(chan string)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			next := func() string {
				t.Helper()
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("stdout ended early; stderr: %s", stderr.String())
					}
					return l
				case <-time.After(devGuard):
					t.Fatalf("no line on stdout after %v; stderr: %s", devGuard, stderr.String())
				}
				return ""
			}

			ns := "default"
			if tc.name == "file" {
				ns = "ops"
			}
			want := regexp.MustCompile(`^temporal dev server listening on (127\.0\.0\.1:[1-9][0-9]*) \(namespace ` +
				ns + `, db ` + regexp.QuoteMeta(tc.db(dir)) + `\)$`)
			first := next()
			m := want.FindStringSubmatch(first)
			if m == nil {
				t.Fatalf("first line %q, want it to match %s", first, want)
			}
			if l := next(); l != "Press Ctrl-C to stop." {
				t.Errorf("second line %q, want %q", l, "Press Ctrl-C to stop.")
			}
			conn, err := net.Dial("tcp", m[1])
			if err != nil {
				t.Fatalf("the printed address %s does not accept connections: %v", m[1], err)
			}
			conn.Close()

			cancel()
			var rest []string
			for l := range lines {
				rest = append(rest, l)
			}
			if len(rest) == 0 || rest[len(rest)-1] != "temporal dev server stopped" {
				t.Errorf("the lines after the cancel %q, want the last %q", rest, "temporal dev server stopped")
			}
			if tc.name == "in memory" && !strings.Contains(strings.Join(rest, "\n"), "lost at exit") {
				t.Errorf("the output %q does not say the in-memory state is lost at exit", rest)
			}
			if c := <-code; c != 0 {
				t.Errorf("exit code %d, want 0; stderr: %s", c, stderr.String())
			}
		})
	}
}

func TestDevBadUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--port", "seven"}, 2, "Usage: csmplan-temporal dev"},
		{[]string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"extra"}, 2, `unexpected arguments ["extra"]`},
		{[]string{"--help"}, 0, "--db FILE"},
		{[]string{"--db", "/nonexistent-dir-of-csmplan/dev.db"}, 1,
			"csmplan-temporal dev: devserver: the database file /nonexistent-dir-of-csmplan/dev.db: its directory /nonexistent-dir-of-csmplan must exist"},
	} {
		var stdout, stderr bytes.Buffer
		code := cmdDev(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code {
			t.Errorf("cmdDev(%q) = %d, want %d; stderr: %s", tc.args, code, tc.code, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("cmdDev(%q) stderr %q, want it to contain %q", tc.args, stderr.String(), tc.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("cmdDev(%q) stdout %q, want nothing", tc.args, stdout.String())
		}
	}
}

// devSyncBuffer is a bytes.Buffer the server's goroutines may write to.
type devSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *devSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *devSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

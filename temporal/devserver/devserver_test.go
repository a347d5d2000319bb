package devserver_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/csmplan/csmplan/temporal/devserver"
)

// guard bounds each test's waits on the server: a failure guard, not a
// budget (a short workflow takes well under a second).
const guard = 2 * time.Minute

// Greet is the test's workflow: one activity, its result returned.
func Greet(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var greeting string
	err := workflow.ExecuteActivity(ctx, Hello, name).Get(ctx, &greeting)
	return greeting, err
}

// Hello is the test's activity.
func Hello(_ context.Context, name string) (string, error) {
	return "hello " + name, nil
}

func start(t *testing.T, cfg devserver.Config) *devserver.Server {
	t.Helper()
	s, err := devserver.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, address, namespace string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  address,
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", address, err)
	}
	t.Cleanup(c.Close)
	return c
}

func startWorker(t *testing.T, c client.Client, queue string) {
	t.Helper()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(Greet)
	w.RegisterActivity(Hello)
	if err := w.Start(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	t.Cleanup(w.Stop)
}

func TestInMemoryServerRunsAWorkflow(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	s := start(t, devserver.Config{Log: &log})
	host, _, err := net.SplitHostPort(s.Address())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Address() = %q, want 127.0.0.1:PORT", s.Address())
	}
	c := dial(t, s.Address(), "default")
	startWorker(t, c, "devserver-test")

	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "devserver-test"}, Greet, "dev")
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("the workflow: %v", err)
	}
	if got != "hello dev" {
		t.Errorf("the workflow's result = %q, want %q", got, "hello dev")
	}

	// The services' chatter while they stop (the worker still polls) is
	// not logged.
	before := log.String()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if after := log.String(); after != before {
		t.Errorf("log lines written while stopping:\n%s", after[len(before):])
	}
}

func TestFileDatabaseKeepsWorkflowsAndNamespacesAcrossARestart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "dev.db")
	var log syncBuffer
	first, err := devserver.Start(devserver.Config{DBFile: db, Namespaces: []string{"ops"}, Log: &log})
	if err != nil {
		t.Fatalf("first Start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	c := dial(t, first.Address(), "ops")
	// No worker polls this queue yet: the execution stays running.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "restart-me", TaskQueue: "after-restart"}, Greet, "again")
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	c.Close()
	if err := first.Stop(); err != nil {
		t.Fatalf("first Stop: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Errorf("a second Stop: %v, want the first's nil", err)
	}

	// The second start registers only "default": "ops" must come from the file.
	second := start(t, devserver.Config{DBFile: db, Log: &log})
	c = dial(t, second.Address(), "ops")
	desc, err := c.DescribeWorkflowExecution(ctx, "restart-me", run.GetRunID())
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution after the restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the execution's status after the restart = %v, want running", st)
	}
	startWorker(t, c, "after-restart")
	var got string
	if err := c.GetWorkflow(ctx, "restart-me", run.GetRunID()).Get(ctx, &got); err != nil {
		t.Fatalf("the workflow after the restart: %v", err)
	}
	if got != "hello again" {
		t.Errorf("the workflow's result = %q, want %q", got, "hello again")
	}
}

func TestDatabaseInAMissingDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "missing")
	db := filepath.Join(dir, "dev.db")
	s, err := devserver.Start(devserver.Config{DBFile: db})
	if err == nil {
		_ = s.Stop()
		t.Fatal("Start with a database in a missing directory: no error")
	}
	for _, want := range []string{db, "directory " + dir + " must exist"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the error %q does not wrap fs.ErrNotExist", err)
	}
}

func TestFileThatIsNotADatabase(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(db, bytes.Repeat([]byte("not a database\n"), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := devserver.Start(devserver.Config{DBFile: db})
	if err == nil {
		_ = s.Stop()
		t.Fatal("Start on a file that is not a database: no error")
	}
	if !strings.Contains(err.Error(), "database file "+db) {
		t.Errorf("the error %q does not name the file", err)
	}
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	s, err := devserver.Start(devserver.Config{Port: port})
	if err == nil {
		_ = s.Stop()
		t.Fatalf("Start on port %d in use: no error", port)
	}
	if want := "127.0.0.1:" + strconv.Itoa(port) + " is not free"; !strings.Contains(err.Error(), want) {
		t.Errorf("the error %q does not say %q", err, want)
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  devserver.Config
		want string
	}{
		{devserver.Config{IP: "localhost"}, `IP "localhost" is not an IP address`},
		{devserver.Config{Port: 70000}, "port 70000 is out of range"},
		{devserver.Config{Namespaces: []string{""}}, "empty namespace"},
		{devserver.Config{DBFile: os.TempDir()}, "is a directory"},
	} {
		s, err := devserver.Start(tc.cfg)
		if err == nil {
			_ = s.Stop()
			t.Errorf("Start(%+v): no error, want %q", tc.cfg, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start(%+v) = %q, want it to say %q", tc.cfg, err, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer the server's goroutines may write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

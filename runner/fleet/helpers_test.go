package fleet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner/fleet"
)

// testRunbook is the runbook of the tests: one mutating step per unit,
// whose host argument names the unit.
const testRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: up
params:
  host: {type: string, required: true, pattern: "^[a-z0-9.-]+$"}
  port: {type: integer, default: 9559}
  password: {type: string, secret: true}
steps:
  - id: install
    action: up.install
    with: {host: "${params.host}"}
`

// noEnv is an environment without secrets.
func noEnv(string) (string, bool) { return "", false }

// writeFiles writes files (name -> content) into a new directory and
// returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fleetOf returns a fleet file of the units (each with host: its name)
// and the rollout (YAML lines indented by two spaces under rollout:).
func fleetOf(units []string, labels map[string]string, rollout string) string {
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Fleet\nname: test-fleet\nrunbook: rb.yaml\nunits:\n")
	for _, u := range units {
		fmt.Fprintf(&b, "  - name: %s\n    params: {host: %s}\n", u, u)
		if l := labels[u]; l != "" {
			fmt.Fprintf(&b, "    labels: {%s}\n", l)
		}
	}
	if rollout != "" {
		b.WriteString("rollout:\n" + rollout)
	}
	return b.String()
}

// loadFleet writes the runbook and the fleet file and loads it with the
// kit's registry.
func loadFleet(t *testing.T, kit *actionstest.Kit, fleetYAML string) (*fleet.Fleet, string) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"rb.yaml": testRunbook, "fleet.yaml": fleetYAML})
	f, err := fleet.Load(filepath.Join(dir, "fleet.yaml"), kit.Registry(), fleet.WithEnv(noEnv))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return f, dir
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%02d", i+1)
	}
	return out
}

// gate is a fake install that blocks until released: each call says
// which host started, and waits for its release. It counts the calls
// in flight.
type gate struct {
	started  chan string
	mu       sync.Mutex
	release  map[string]chan error
	inFlight int
	most     int
}

func newGate() *gate {
	return &gate{started: make(chan string, 100), release: map[string]chan error{}}
}

func (g *gate) ch(host string) chan error {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.release[host]
	if c == nil {
		c = make(chan error, 1)
		g.release[host] = c
	}
	return c
}

func (g *gate) result() actionstest.Result {
	return actionstest.Answers(func(call *actions.Call) (any, error) {
		host, _ := call.Args["host"].(string)
		g.mu.Lock()
		g.inFlight++
		g.most = max(g.most, g.inFlight)
		g.mu.Unlock()
		g.started <- host
		err := <-g.ch(host)
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
		return nil, err
	})
}

// open lets host's call return err.
func (g *gate) open(host string, err error) { g.ch(host) <- err }

// next waits for the next call to start and returns its host.
func (g *gate) next(t *testing.T) string {
	t.Helper()
	select {
	case h := <-g.started:
		return h
	case <-time.After(2 * time.Minute): // a failure guard, never reached when the code works
		t.Fatal("no unit started")
		return ""
	}
}

// noMore checks that no call started.
func (g *gate) noMore(t *testing.T) {
	t.Helper()
	select {
	case h := <-g.started:
		t.Errorf("unit %s started, want none", h)
	default:
	}
}

// runAsync runs the fleet in a goroutine.
func runAsync(ctx context.Context, f *fleet.Fleet, opts fleet.Options) func() (*fleet.Report, error) {
	type result struct {
		rep *fleet.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := fleet.Run(ctx, f, opts)
		done <- result{rep, err}
	}()
	return func() (*fleet.Report, error) {
		r := <-done
		return r.rep, r.err
	}
}

// outcomes returns "name=outcome" of every row.
func outcomes(rep *fleet.Report) string {
	var parts []string
	for _, u := range rep.Units {
		parts = append(parts, u.Name+"="+string(u.Outcome))
	}
	return strings.Join(parts, " ")
}

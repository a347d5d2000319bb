package csmtest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/runner"
)

// TestSharedCA: pairs made with one CA present certificates that CA
// verifies, and write it as their CA file; each keeps its own control key
// file.
func TestSharedCA(t *testing.T) {
	t.Parallel()
	ca, err := csmtest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	a := csmtest.NewPairForTest(t, csmtest.Options{Standby: true, CA: ca})
	b := csmtest.NewPairForTest(t, csmtest.Options{Standby: true, CA: ca})
	own := csmtest.NewPairForTest(t, csmtest.Options{Standby: true})
	if string(a.CAPEM()) != string(ca.PEM()) || string(b.CAPEM()) != string(ca.PEM()) {
		t.Error("a pair made with Options.CA does not report that CA")
	}
	if string(own.CAPEM()) == string(ca.PEM()) {
		t.Error("a pair without Options.CA has the shared CA")
	}
	if a.ControlKeyFile() == b.ControlKeyFile() || a.ControlKey() == b.ControlKey() {
		t.Error("pairs sharing a CA share a control key")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	for _, s := range append(a.Servers(), b.Servers()...) {
		resp, err := client.Get(s.URL() + "/CSM/web/system/ha")
		if err != nil {
			t.Fatalf("%s: verified with the shared CA: %v", s, err)
		}
		resp.Body.Close()
	}
	if _, err := client.Get(own.Primary().URL() + "/CSM/web/system/ha"); err == nil {
		t.Error("a pair with a CA of its own verified with the shared CA")
	}
}

// TestInstallsPerServer: each server counts the installers that started on
// it; a refused one does not count.
func TestInstallsPerServer(t *testing.T) {
	t.Parallel()
	clk := actionstest.NewClock(actionstest.Epoch)
	pair := csmtest.NewPairForTest(t, csmtest.Options{Standby: true, Clock: clk, InstallTime: time.Minute})
	p, err := csmplan.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := csmplan.NewRegistry(pair.CSMOptions())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runner.Run(context.Background(), p, runner.Options{Registry: reg, Params: pair.Params(), Clock: clk})
	if err != nil {
		t.Fatalf("run: %v (%v)", err, rep.Outcome)
	}
	for _, s := range pair.Servers() {
		if n := s.Installs(); n != 1 {
			t.Errorf("%s: Installs() = %d after an upgrade, want 1", s.Name(), n)
		}
	}
	if err := pair.Inject(csmtest.FaultInstallerFails); err != nil {
		t.Fatal(err)
	}
	code, _, _ := runControlOn(pair.Primary(), pair.InstallerArgv("x")[1:])
	if code == 0 {
		t.Fatal("the installer succeeded under fault installer-fails")
	}
	if n := pair.Primary().Installs(); n != 1 {
		t.Errorf("a failed installer counted: Installs() = %d, want 1", n)
	}
}

// TestManyPairs: a thousand pairs (two thousand TLS servers) start in one
// process with a shared CA, each with its own ports and control key file,
// a fault on one alone, and close again without leaking goroutines.
func TestManyPairs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 2,000 servers")
	}
	const n = 1000
	before := runtime.NumGoroutine()
	ca, err := csmtest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	pairs := make([]*csmtest.Pair, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := csmtest.Options{Standby: true, CA: ca}
			if i == 7 {
				o.Faults = []string{csmtest.FaultInstallerFails}
			}
			p, err := csmtest.NewPair(o)
			if err != nil {
				errs <- err
				return
			}
			pairs[i] = p
		}()
	}
	wg.Wait()
	close(errs)
	defer func() {
		for _, p := range pairs {
			if p != nil {
				p.Close()
			}
		}
	}()
	for err := range errs {
		t.Fatal(err)
	}
	addrs, keys := map[string]bool{}, map[string]bool{}
	for i, p := range pairs {
		for _, s := range p.Servers() {
			if addrs[s.Addr()] {
				t.Fatalf("pair %d: address %s taken twice", i, s.Addr())
			}
			addrs[s.Addr()] = true
		}
		keys[p.ControlKeyFile()] = true
		if f := p.ActiveFaults(); (i == 7) != (len(f) == 1) {
			t.Errorf("pair %d: faults %v", i, f)
		}
	}
	if len(addrs) != 2*n || len(keys) != n {
		t.Errorf("%d addresses and %d key files for %d pairs", len(addrs), len(keys), n)
	}
	if g := runtime.NumGoroutine() - before; g > 4*n {
		t.Errorf("%d goroutines for %d idle pairs, want at most %d", g, n, 4*n)
	}
}

func runControlOn(s *csmtest.Server, args []string) (int, string, string) {
	var out, errb strings.Builder
	env := s.Env()
	code := csmtest.ControlMain(args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

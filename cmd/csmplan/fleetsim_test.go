package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// startFleetSim starts `csmplan sim --pairs N --fleet-out FILE` in dir and
// waits until the pairs are up; it returns the process and the file.
func startFleetSim(t *testing.T, ctx context.Context, dir string, n int, args ...string) (*proc, string) {
	t.Helper()
	file := filepath.Join(dir, "fleet.yaml")
	p := start(t, ctx, dir, append([]string{"sim", "--pairs", strconv.Itoa(n), "--fleet-out", file, "--install-time", "0s"}, args...)...)
	p.waitFor("Press Ctrl-C")
	return p, file
}

// unitParamsFile writes the params of one unit of a fleet file written by
// sim --pairs (shared params, the unit's own, the password read from its
// @FILE) to a params file for csmplan run, and returns its path.
func unitParamsFile(t *testing.T, fleetFile, unit string) string {
	t.Helper()
	data, err := os.ReadFile(fleetFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Params map[string]any
		Units  []struct {
			Name   string
			Params map[string]any
		}
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, u := range doc.Units {
		if u.Name != unit {
			continue
		}
		m := doc.Params
		for k, v := range u.Params {
			m[k] = v
		}
		pw := strings.TrimPrefix(m["password"].(string), "@")
		b, err := os.ReadFile(filepath.Join(filepath.Dir(fleetFile), pw))
		if err != nil {
			t.Fatal(err)
		}
		m["password"] = strings.TrimSpace(string(b))
		out, _ := yaml.Marshal(m)
		path := filepath.Join(t.TempDir(), unit+".yaml")
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Fatalf("no unit %s in %s", unit, fleetFile)
	return ""
}

// TestSimPairsFleetOut: sim --pairs writes a fleet file of one unit per
// pair, the password only in a 0600 file it names as @FILE; each pair has
// its own faults (pair-002's installer fails, pair-001's does not); on
// stop the simulator counts the upgraded pairs and the installers per
// server, and gives one verdict over all pairs.
func TestSimPairsFleetOut(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	sim, file := startFleetSim(t, ctx, dir, 3, "--fault", "pair-002:installer-fails")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"kind: Fleet", "apiVersion: csmplan/v1", "name: pair-001", "name: pair-003", "site: s1", "'@fleet.password'", "units:\n            - pair-001"} {
		if !strings.Contains(text, want) {
			t.Errorf("the fleet file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "passw0rd") {
		t.Errorf("the fleet file holds the password in clear:\n%s", text)
	}
	fi, err := os.Stat(filepath.Join(dir, "fleet.password"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", fi.Mode().Perm())
	}
	cli(t, dir, "run", "--params", unitParamsFile(t, file, "pair-001")).want(t, exitOK, "stdout", "Succeeded")
	cli(t, dir, "run", "--params", unitParamsFile(t, file, "pair-002")).want(t, exitFailed, "stdout", "fault installer-fails")
	sim.signal(os.Interrupt)
	line := sim.waitFor("simulator:")
	if want := "simulator: invariants held on 3 pairs"; line != want {
		t.Errorf("verdict %q, want %q: %v", line, want, sim)
	}
	if code := sim.exitCode(time.Minute); code != exitOK {
		t.Errorf("exit %d: %v", code, sim)
	}
	for _, want := range []string{"simulated pairs: 1 of 3 upgraded to 6.3.10.1", "installers: 4 servers none, 2 once, 0 more than once"} {
		if !strings.Contains(sim.output(), want) {
			t.Errorf("no %q: %v", want, sim)
		}
	}
}

// TestSimPairsUsage: --pairs and --fleet-out go together; a fault of an
// unknown pair is refused.
func TestSimPairsUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cli(t, dir, "sim", "--pairs", "2").want(t, exitUsage, "stderr", "--pairs N and --fleet-out FILE go together")
	cli(t, dir, "sim", "--pairs", "2", "--fleet-out", "f.yaml", "--fault", "pair-009:installer-fails").want(t, exitUsage, "stderr", `no pair "pair-009"`)
	cli(t, dir, "sim", "--pairs", "2", "--fleet-out", "f.yaml", "--fault", "pair-001:nope").want(t, exitUsage, "stderr", "unknown fault")
}

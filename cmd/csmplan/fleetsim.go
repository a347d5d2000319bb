package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/actions/csm/csmtest"
)

// A simulated fleet: many simulated pairs in one process (csmplan sim
// --pairs N, csmplan run --simulate --pairs N), named pair-001..pair-N,
// sharing one CA; each pair keeps its own servers, control key, faults and
// safety monitor.

// simFleet is a set of simulated pairs.
type simFleet struct {
	names  []string
	pairs  []*csmtest.Pair
	byName map[string]*csmtest.Pair
	tmp    string // backups of every pair and the fleet's files
	// inProcess: the installer and stop/start commands run in this process
	// (csmtest.ControlExecutor), not as sim-control processes.
	inProcess bool
	exe       string
}

// fleetFaults splits --fault values into faults of every pair (NAME) and of
// one pair (PAIR:NAME), checking the names.
func fleetFaults(values []string, names []string) (all []string, per map[string][]string, err error) {
	per = map[string][]string{}
	for _, v := range values {
		pair, name, one := strings.Cut(v, ":")
		if !one {
			name = pair
		}
		if err := checkFaults([]string{name}); err != nil {
			return nil, nil, err
		}
		if !one {
			all = append(all, name)
			continue
		}
		if !slices.Contains(names, pair) {
			return nil, nil, fmt.Errorf("--fault %s: no pair %q: the pairs are %s..%s", v, pair, names[0], names[len(names)-1])
		}
		per[pair] = append(per[pair], name)
	}
	return all, per, nil
}

// pairName is the unit name of the i-th pair (from 0): pair-001.
func pairName(i int) string { return fmt.Sprintf("pair-%03d", i+1) }

// startFleet starts n simulated pairs.
func startFleet(n int, faults []string, installTime time.Duration, exe string, inProcess bool) (*simFleet, error) {
	if n < 1 {
		return nil, fmt.Errorf("--pairs %d: want at least 1", n)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = pairName(i)
	}
	all, per, err := fleetFaults(faults, names)
	if err != nil {
		return nil, err
	}
	ca, err := csmtest.NewCA()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "csmplan-fleet-")
	if err != nil {
		return nil, err
	}
	s := &simFleet{names: names, pairs: make([]*csmtest.Pair, n), byName: map[string]*csmtest.Pair{}, tmp: tmp, inProcess: inProcess, exe: exe}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, 16)
	for i := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f := append(slices.Clone(all), per[names[i]]...)
			p, err := csmtest.NewPair(csmtest.Options{Standby: true, InstallTime: installTime, Faults: f, CA: ca})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = fmt.Errorf("%s: %w", names[i], err)
			}
			s.pairs[i] = p
		}()
	}
	wg.Wait()
	for i, p := range s.pairs {
		if p != nil {
			s.byName[names[i]] = p
		}
	}
	if first != nil {
		s.close()
		return nil, first
	}
	return s, nil
}

func (s *simFleet) close() {
	var wg sync.WaitGroup
	for _, p := range s.pairs {
		if p != nil {
			wg.Add(1)
			go func() { defer wg.Done(); p.Close() }()
		}
	}
	wg.Wait()
	os.RemoveAll(s.tmp)
}

// sharedParams are the params every unit shares: the credentials' user,
// the target and the timeouts of a simulation.
func (s *simFleet) sharedParams(installTime time.Duration) map[string]any {
	p := s.pairs[0]
	m := map[string]any{
		"username":         p.Username(),
		"target_version":   p.TargetVersion(),
		"maintain_dr":      true,
		"sync_timeout":     "10s",
		"takeover_timeout": "10s",
		"install_timeout":  "20s",
		"poll_interval":    "100ms",
	}
	if wait := installTime + time.Minute; installTime > 0 && wait > 20*time.Second {
		m["install_timeout"] = wait.String()
	}
	return m
}

// unitParams are the params of one pair's unit, its password left out.
func (s *simFleet) unitParams(i int) map[string]any {
	p := s.pairs[i]
	var m map[string]any
	if s.inProcess {
		m = p.ParamsFor(csmtest.ControlProgram)
	} else {
		m = p.ParamsFor(s.exe, simControlCommand)
	}
	for _, k := range []string{"username", "target_version", "maintain_dr", "password"} {
		delete(m, k)
	}
	m["backup_dir"] = filepath.Join(s.tmp, "backups", s.names[i])
	return m
}

// labels are a unit's labels: sites of ten pairs, two zones in each.
func (s *simFleet) labels(i int) map[string]string {
	return map[string]string{"site": "s" + strconv.Itoa(1+i/10), "zone": "z" + strconv.Itoa(1+i%2)}
}

// fleetDoc is the fleet file of a simulated fleet (spec: kind Fleet).
type fleetDoc struct {
	APIVersion string          `yaml:"apiVersion"`
	Kind       string          `yaml:"kind"`
	Name       string          `yaml:"name"`
	Title      string          `yaml:"title"`
	Params     map[string]any  `yaml:"params"`
	Units      []fleetDocUnit  `yaml:"units"`
	Rollout    fleetDocRollout `yaml:"rollout"`
}

type fleetDocUnit struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
	Params map[string]any    `yaml:"params"`
}

type fleetDocRollout struct {
	Canary      map[string]any `yaml:"canary,omitempty"`
	MaxParallel int            `yaml:"max_parallel"`
	MaxFailures int            `yaml:"max_failures"`
}

// writeFleetFile writes the fleet file that upgrades every pair to path,
// and the password of the pairs to a file of mode 0600 beside it, which
// the units name as @FILE. The first pair is the canary when there are
// several.
func (s *simFleet) writeFleetFile(path string, installTime time.Duration, maxParallel int) error {
	pwFile := strings.TrimSuffix(path, filepath.Ext(path)) + ".password"
	if err := os.WriteFile(pwFile, []byte(s.pairs[0].Password()+"\n"), 0o600); err != nil {
		return fmt.Errorf("the password file: %w", err)
	}
	if err := os.Chmod(pwFile, 0o600); err != nil { // an existing file keeps its mode
		return fmt.Errorf("the password file: %w", err)
	}
	doc := fleetDoc{
		APIVersion: "csmplan/v1", Kind: "Fleet", Name: "simulated-fleet",
		Title:   fmt.Sprintf("Upgrade %d simulated CSM pairs to %s", len(s.pairs), s.pairs[0].TargetVersion()),
		Params:  s.sharedParams(installTime),
		Rollout: fleetDocRollout{MaxParallel: max(1, maxParallel)},
	}
	if len(s.pairs) > 1 {
		doc.Rollout.Canary = map[string]any{"units": []string{s.names[0]}}
	}
	for i, name := range s.names {
		prm := s.unitParams(i)
		prm["password"] = "@" + filepath.Base(pwFile)
		doc.Units = append(doc.Units, fleetDocUnit{Name: name, Labels: s.labels(i), Params: prm})
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	head := "# A fleet of simulated CSM pairs written by csmplan sim --pairs; run it with\n#   csmplan run --fleet " + filepath.Base(path) + " --journal-dir DIR\n"
	return os.WriteFile(path, append([]byte(head), out...), 0o600)
}

// verdict is the simulator's final line over every pair: "simulator:
// invariants held on N pairs", or "simulator: violated on K of N pairs:
// pair-003: NAME (detail); ...". The final state (versions, HA, sessions)
// is checked on the pairs in completed, whose upgrade ran to its end.
func (s *simFleet) verdict(completed map[string]bool) (string, bool) {
	var bad []string
	for i, p := range s.pairs {
		vs := p.Violations()
		if completed[s.names[i]] {
			vs = append(vs, p.CheckFinal(p.TargetVersion())...)
		}
		if len(vs) == 0 {
			continue
		}
		parts := make([]string, len(vs))
		for j, v := range vs {
			parts[j] = v.String()
		}
		bad = append(bad, s.names[i]+": "+strings.Join(parts, ", "))
	}
	if len(bad) == 0 {
		return fmt.Sprintf("simulator: invariants held on %d pairs", len(s.pairs)), false
	}
	return fmt.Sprintf("simulator: violated on %d of %d pairs: %s", len(bad), len(s.pairs), strings.Join(bad, "; ")), true
}

// installs returns the installers started on each server of each pair,
// "pair-001/primary": n, for the tests that check none ran twice.
func (s *simFleet) installs() map[string]int {
	m := map[string]int{}
	for i, p := range s.pairs {
		for _, srv := range p.Servers() {
			m[s.names[i]+"/"+srv.Name()] = srv.Installs()
		}
	}
	return m
}

// simFleetFlags are the flags of csmplan sim for a fleet.
type simFleetFlags struct {
	pairs       int
	fleetOut    string
	maxParallel int
}

func (f *simFleetFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.pairs, "pairs", 0, "run `N` simulated pairs in this process (pair-001..pair-N; --fault PAIR:NAME injects a fault\ninto one pair, --fault NAME into all); with --fleet-out")
	fs.StringVar(&f.fleetOut, "fleet-out", "", "with --pairs: write a fleet `FILE` that upgrades the pairs (the password in a 0600 file beside it)")
	fs.IntVar(&f.maxParallel, "max-parallel", 10, "with --pairs: the max_parallel of the fleet file")
}

// simFleetMain is csmplan sim --pairs N --fleet-out FILE.
func simFleetMain(ctx context.Context, e *env, fl *simFleetFlags, faults []string, installTime time.Duration) int {
	if fl.pairs < 1 || fl.fleetOut == "" {
		printf(e.stderr, "csmplan sim: --pairs N and --fleet-out FILE go together (N >= 1)\n")
		return exitUsage
	}
	s, err := startFleet(fl.pairs, faults, installTime, e.exe, false)
	if err != nil {
		printf(e.stderr, "csmplan sim: %v\n", err)
		return exitUsage
	}
	defer s.close()
	if err := s.writeFleetFile(fl.fleetOut, installTime, fl.maxParallel); err != nil {
		printf(e.stderr, "csmplan sim: --fleet-out: %v\n", err)
		return exitFailed
	}
	p := s.pairs[0]
	printf(e.stdout, "%d simulated CSM pairs running (version %s, installer installs %s), %s..%s\n", len(s.pairs), p.Version(), p.TargetVersion(), s.names[0], s.names[len(s.names)-1])
	if len(faults) > 0 {
		printf(e.stdout, "  faults: %s\n", strings.Join(faults, ", "))
	}
	printf(e.stdout, "fleet written to %s: upgrade the pairs with 'csmplan run --fleet %s --journal-dir DIR'\n", fl.fleetOut, fl.fleetOut)
	printf(e.stdout, "Press Ctrl-C to stop.\n")
	<-ctx.Done()
	upgraded := map[string]bool{}
	for i, p := range s.pairs {
		if len(p.CheckFinal(p.TargetVersion())) == 0 {
			upgraded[s.names[i]] = true
		}
	}
	printf(e.stdout, "simulated pairs: %d of %d upgraded to %s\n", len(upgraded), len(s.pairs), p.TargetVersion())
	printf(e.stdout, "%s\n", s.installSummary())
	line, _ := s.verdict(nil)
	printf(e.stdout, "%s\n", line)
	return exitOK
}

// installSummary says how many installers ran per server: "simulated
// pairs: installers: 2000 servers once, 0 more than once" and names the
// servers where one ran more than once.
func (s *simFleet) installSummary() string {
	counts := s.installs()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var none, once int
	var more []string
	for _, k := range keys {
		switch n := counts[k]; {
		case n == 0:
			none++
		case n == 1:
			once++
		default:
			more = append(more, fmt.Sprintf("%s %d", k, n))
		}
	}
	line := fmt.Sprintf("simulated pairs: installers: %d servers none, %d once, %d more than once", none, once, len(more))
	if len(more) > 0 {
		line += ": " + strings.Join(more, ", ")
	}
	return line
}

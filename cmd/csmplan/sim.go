package main

import (
	"context"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/actions/csm/csmtest"
)

// simControlCommand is the hidden command that stands in for the CSM
// installer and the site's stop/start scripts of a simulated pair.
const simControlCommand = "sim-control"

func cmdSimControl(_ context.Context, e *env, args []string) int {
	return csmtest.ControlMain(args, e.getenv, e.stdout, e.stderr)
}

func cmdSim(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "sim", "", "Run a simulated CSM HA pair (two TLS servers on 127.0.0.1) until interrupted\n(Ctrl-C or SIGTERM), then print whether the safety invariants held. With\n--params-out, write a params file so that\n\n  csmplan run --params FILE\n\nupgrades the pair end to end with the default runbook, installer included.")
	var faults multiFlag
	fs.Var(&faults, "fault", "inject a fault by `NAME` (repeatable): "+strings.Join(csmtest.FaultNames(), ", "))
	installTime := fs.Duration("install-time", 5*time.Second, "how long the simulated installer keeps a server down")
	paramsOut := fs.String("params-out", "", "write the params of the default runbook for this pair to `FILE`")
	noDR := fs.Bool("no-standby", false, "a single server without standby (for maintain_dr=false)")
	version := fs.String("version", "", "the version the servers run (default 6.3.10.0)")
	target := fs.String("target-version", "", "the version the simulated installer installs")
	var fl simFleetFlags
	fl.register(fs)
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		printf(e.stderr, "csmplan sim: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	if fl.pairs > 0 || fl.fleetOut != "" {
		return simFleetMain(ctx, e, &fl, faults, *installTime)
	}
	if err := checkFaults(faults); err != nil {
		printf(e.stderr, "csmplan sim: %v\n", err)
		return exitUsage
	}
	installs := make(chan csmtest.Event, 64)
	pair, err := csmtest.NewPair(csmtest.Options{Standby: !*noDR, InstallTime: *installTime, Faults: faults, Version: *version, TargetVersion: *target,
		OnEvent: func(ev csmtest.Event) {
			if ev.Kind == csmtest.EventInstallStart || ev.Kind == csmtest.EventInstallEnd || ev.Kind == csmtest.EventInstallFailed {
				select {
				case installs <- ev:
				default: // the pair must not wait for the printing
				}
			}
		}})
	if err != nil {
		printf(e.stderr, "csmplan sim: %v\n", err)
		return exitUsage
	}
	defer pair.Close()
	params := simParams(pair, e.exe, "csm-backups")
	if *noDR {
		params["maintain_dr"] = false
	}
	for _, k := range []string{"sync_timeout", "takeover_timeout", "install_timeout", "poll_interval"} {
		delete(params, k)
	}
	params["poll_interval"] = "1s"
	params["install_timeout"] = (*installTime + 2*time.Minute).String()
	if *paramsOut != "" {
		out, err := yaml.Marshal(params)
		if err == nil {
			err = os.WriteFile(*paramsOut, out, 0o600)
		}
		if err != nil {
			printf(e.stderr, "csmplan sim: --params-out: %v\n", err)
			return exitFailed
		}
	}
	printf(e.stdout, "simulated CSM pair running (version %s, installer installs %s):\n", pair.Version(), pair.TargetVersion())
	for _, s := range pair.Servers() {
		printf(e.stdout, "  %s https://%s/CSM/web\n", s.Name(), s.Addr())
	}
	printf(e.stdout, "  user %s, CA %s (the password is in the --params-out file)\n", pair.Username(), pair.CAFile())
	if len(faults) > 0 {
		sort.Strings(faults)
		printf(e.stdout, "  faults: %s\n", strings.Join(faults, ", "))
	}
	if *paramsOut != "" {
		printf(e.stdout, "params written to %s: upgrade it with 'csmplan run --params %s'\n", *paramsOut, *paramsOut)
	}
	printf(e.stdout, "Press Ctrl-C to stop.\n")
	for ctx.Err() == nil {
		select {
		case ev := <-installs: // an operator sees the installers come and go
			printf(e.stdout, "simulated pair: %s %s: %s\n", ev.Server, ev.Kind, ev.Detail)
		case <-ctx.Done():
		}
	}
	printf(e.stdout, "%s\n%s\n", loginSummary(pair), installSummary(pair))
	printf(e.stdout, "%s\n%s\n%s\n", pair.WindowSummary(), finalState(pair), pair.InvariantsSummary())
	return exitOK
}

// finalState says whether the pair is upgraded: a simulator does not know
// whether its clients ran an upgrade to its end, so that an upgrade that
// stopped halfway is not the violation of an invariant, only a state.
func finalState(pair *csmtest.Pair) string {
	vs := pair.CheckFinal(pair.TargetVersion())
	if len(vs) == 0 {
		return "simulated pair: upgraded to " + pair.TargetVersion() + " (the final state holds)"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return "simulated pair: not upgraded to " + pair.TargetVersion() + ": " + strings.Join(parts, "; ")
}

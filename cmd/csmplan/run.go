package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// runFlags are the flags of run and plan.
type runFlags struct {
	params      multiFlag
	paramsFile  string
	journal     string
	resume      bool
	dryRun      bool
	yes         bool
	json        bool
	simulate    bool
	faults      multiFlag
	installTime time.Duration
	from        string
	only        multiFlag
	outputFlags
	killGrace time.Duration
	report    reportFlags
	fleet     fleetFlags
}

func (f *runFlags) register(fs *flag.FlagSet, withRun bool) {
	fs.Var(&f.params, "p", "set a param: `NAME=VALUE` (repeatable; the value is parsed as the param's type,\nlists and objects as JSON or YAML flow syntax: -p 'installer=[/opt/setup.bin, -i, silent]';\na list param given a value that is not a list takes it as its one item: -p installer=/opt/setup.bin).\nA secret param is best given as -p NAME=@FILE (the file's content, without its last newline;\n@@ is a literal @) or in the environment variable CSMPLAN_PARAM_<NAME>: not on the command line,\nwhere any user can see it with ps")
	fs.StringVar(&f.paramsFile, "params", "", "read params from a YAML `FILE` (a mapping of name: value); CSMPLAN_PARAM_<NAME> and -p win")
	fs.BoolVar(&f.json, "json", false, "write events as JSON lines on stdout, for other tools (progress goes to stderr)")
	fs.BoolVar(&f.simulate, "simulate", false, "start a simulated CSM HA pair on loopback and bind the connection params to it\n(the default runbook's timeouts are shortened unless given)")
	fs.Var(&f.faults, "fault", "with --simulate: inject a fault by `NAME` (repeatable): "+strings.Join(csmtest.FaultNames(), ", "))
	fs.DurationVar(&f.installTime, "install-time", 0, "with --simulate: how long the simulated installer keeps a server down")
	fs.StringVar(&f.from, "from", "", "start at the step with this `ID`: the steps before it are skipped by the operator\n(for an upgrade half done without a journal; each step that runs is still guarded by its preconditions)")
	fs.Var(&f.only, "only", "run only the step with this `ID` (repeatable, or IDs separated by commas); the others are skipped by the operator")
	f.outputFlags.register(fs, withRun)
	fs.DurationVar(&f.killGrace, "kill-grace", 0, "how long a command that a second Ctrl-C stops has, after SIGTERM, before SIGKILL\n(default 10s; negative: SIGKILL at once)")
	if withRun {
		fs.StringVar(&f.journal, "journal", "", "record the run in `FILE` (JSON lines, synced at each step) so that it can be resumed")
		fs.BoolVar(&f.resume, "resume", false, "resume the run recorded in the --journal file: done steps are skipped")
		fs.BoolVar(&f.dryRun, "dry-run", false, "run no action that changes anything; say what would run, skip or block")
		fs.BoolVar(&f.yes, "yes", false, "change without asking: on a terminal, run asks once, before the first step that changes\nsomething, to type yes (off a terminal it does not ask); also approves manual approval steps")
		f.report.register(fs)
		f.fleet.register(fs)
	}
}

func cmdRun(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "run", "[RUNBOOK]", "Run a runbook, by default the built-in CSM HA upgrade. Progress is shown\nstep by step; a failure shows the condition evidence and the runbook line.\nExit 0 success, 1 the run failed, 2 usage or load error, 130 interrupted\n(resume with --journal FILE --resume). Errors go to stderr.\n\nOn a terminal, waits and actions that run long without a word (an installer)\nare redrawn in place, cut to the terminal's width (TIOCGWINSZ, else $COLUMNS,\nelse 80); off a terminal, such an action gets a plain line every minute.\n\n\nInterrupts: the first Ctrl-C (or SIGTERM) stops the run gently: waits and\nchecks are cancelled and no new action starts, but an action that changes\nsomething (an installer) is let finish, and its end journaled; the second\nstops it too (its commands get SIGTERM, then SIGKILL after --kill-grace);\nthe third exits at once.\n"+eventsHelp+"\n\nTry: csmplan run --simulate")
	var f runFlags
	f.register(fs, true)
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	return execute(ctx, e, "run", rest, &f)
}

func cmdPlan(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "plan", "[RUNBOOK]", "Dry run: check what can be checked (read-only probes run for real) and say, for\neach step, would run / would skip (why) / blocked (which condition, what was\nobserved). No action that changes anything runs. On a terminal, the condition\nbeing probed is shown as it is probed.\n"+eventsHelp)
	var f runFlags
	f.register(fs, false)
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	f.dryRun = true
	return execute(ctx, e, "plan", rest, &f)
}

func execute(ctx context.Context, e *env, cmd string, rest []string, f *runFlags) int {
	if f.fleet.given() {
		return executeFleet(ctx, e, f, rest)
	}
	if f.resume && f.journal == "" {
		printf(e.stderr, "csmplan %s: --resume needs --journal FILE\n", cmd)
		return exitUsage
	}
	if err := checkReport(f); err != nil {
		printf(e.stderr, "csmplan %s: %v\n", cmd, err)
		return exitUsage
	}
	if (len(f.faults) > 0 || f.installTime != 0) && !f.simulate {
		printf(e.stderr, "csmplan %s: --fault and --install-time need --simulate\n", cmd)
		return exitUsage
	}
	if err := checkFaults(f.faults); err != nil {
		printf(e.stderr, "csmplan %s: %v\n", cmd, err)
		return exitUsage
	}
	p, code := loadRunbook(e, cmd, rest)
	if p == nil {
		return code
	}
	params, warnings, sources, err := readParams(e, f, p)
	if err != nil {
		printParamsError(e, cmd, err)
		return exitUsage
	}
	for _, w := range warnings {
		printf(e.stderr, "csmplan %s: warning: %s\n", cmd, w)
	}
	var sim *simulation
	if f.simulate {
		if sim, err = startSimulation(e, p, params, f); err != nil {
			printf(e.stderr, "csmplan %s: --simulate: %v\n", cmd, err)
			return exitUsage
		}
		defer sim.close()
	}
	opts := runner.Options{Registry: csmplan.Registry(), Params: params, DryRun: f.dryRun, From: f.from, Only: f.onlyIDs()}
	if _, err := runner.BindParams(p, params); err != nil {
		printf(e.stderr, "csmplan %s: params:\n", cmd)
		for _, line := range sources.paramProblems(p, err) {
			printf(e.stderr, "  %s\n", line)
		}
		printf(e.stderr, "Give params with -p NAME=VALUE or --params FILE, secret ones with -p NAME=@FILE or CSMPLAN_PARAM_<NAME>; 'csmplan doc' lists them.\n")
		return exitUsage
	}
	journal, cleanup, err := prepareReport(f)
	if err != nil {
		printf(e.stderr, "csmplan %s: %v\n", cmd, err)
		return exitUsage
	}
	defer cleanup()
	if journal != "" && !f.dryRun {
		j, err := runner.OpenJournal(journal, f.resume)
		if err != nil {
			printf(e.stderr, "csmplan %s: %v\n", cmd, err)
			return exitUsage
		}
		defer j.Close()
		opts.Journal = j
	}
	d, err := newDisplay(e, cmd, f, p, len(rest) == 0)
	if err != nil {
		printf(e.stderr, "csmplan %s: %v\n", cmd, err)
		return exitUsage
	}
	defer d.close()
	progressOut := d.out
	// What a stop waits for is said first, before the events go out.
	opts.Observers = append(opts.Observers, stoppingObserver(e, f.killGrace, d.prog.Hold))
	opts.Observers = append(opts.Observers, d.observers...)
	opts.Approver = approver(e, f.yes, progressOut, d.prog.Hold)
	opts.Confirm = confirmer(e, f, progressOut, d.prog.Hold)
	opts.Stop = ctx.Done() // the first signal; the second cancels rctx
	rctx := runContext(ctx, e, f.killGrace)
	endNotice := forcedNotice(rctx, e, f.killGrace)
	rep, err := runner.Run(rctx, p, opts)
	endNotice()
	d.stop()
	if err != nil && len(rep.Steps) == 0 && ctx.Err() == nil {
		// The run did not start: its params or targets do not bind, or the
		// journal belongs to another run. A usage error, not a failed run.
		printf(e.stderr, "csmplan %s: %s\n", cmd, block(console.NoteBuiltin(err.Error(), len(rest) == 0)))
		return exitUsage
	}
	if f.dryRun {
		writePlanTable(progressOut, p, rep, d.width())
	}
	d.prog.Summary(rep, d.errw)
	code = exitOK
	switch {
	case err == nil:
	case errors.Is(err, runner.ErrParams):
		code = exitUsage
	case ctx.Err() != nil:
		code = exitInterrupted
		if f.dryRun {
			printf(progressOut, "interrupted: the dry run stopped; it changed nothing\n")
		}
	default:
		code = exitFailed
	}
	if !f.dryRun && code != exitOK {
		printNext(progressOut, p, rep, f)
	}
	if sim != nil && f.dryRun {
		printf(progressOut, "%s\n", sim.dryRunSummary())
	} else if sim != nil {
		printf(progressOut, "%s\n", sim.pair.WindowSummary())
		line, violated := sim.verdict(err == nil && f.from == "" && len(f.only) == 0)
		printf(progressOut, "%s\n", line)
		if violated && code == exitOK {
			printf(e.stderr, "csmplan %s: the simulator reports a violated invariant: exit 1\n", cmd)
			code = exitFailed
		}
	}
	if !finishReport(e, progressOut, f, opts.Journal, sim, err == nil && !f.dryRun) && code == exitOK {
		code = exitFailed
	}
	if o, ok := e.stdout.(outputLoser); ok {
		if at, werr := o.lost(); werr != nil {
			record := "see the journal " + f.journal
			switch {
			case f.dryRun:
				record = "a dry run keeps no record"
			case f.journal == "":
				record = "run with --journal FILE to keep a record"
			}
			outcome := runner.Failed
			if rep != nil {
				outcome = rep.Outcome
			}
			printf(e.stderr, "csmplan %s: output closed at %s (%v); the run went on to its end, %s; %s\n", cmd, at.Format("15:04:05"), werr, outcome, record)
		}
	}
	return code
}

// printParamsError prints an error of readParams: the problems of a
// params file each with its place, else the error.
func printParamsError(e *env, cmd string, err error) {
	if len(plan.Errors(err)) == 0 {
		printf(e.stderr, "csmplan %s: %v\n", cmd, err)
		return
	}
	for _, pe := range plan.Errors(err) {
		printf(e.stderr, "%s\n", pe)
	}
}

// readParams merges the params given in the --params file, in the
// environment (secret params only) and with -p flags, each winning over
// the one before. A secret param p is read from the environment variable
// CSMPLAN_PARAM_P (its name upper-cased), which is then removed from this
// process's environment so that the programs the run starts do not
// inherit it; -p p=@FILE reads it from FILE, and -p p=@@VALUE is the
// literal @VALUE. A secret given literally on the command line, where
// other users see it with ps, is taken with a warning.
func readParams(e *env, f *runFlags, p *plan.Plan) (params map[string]any, warnings []string, src *paramSources, err error) {
	params = map[string]any{}
	src = &paramSources{later: map[string]bool{}}
	if f.paramsFile != "" {
		if src.file, err = readParamsFile(f.paramsFile); err != nil {
			return nil, nil, nil, err
		}
		for k, v := range src.file.Values {
			params[k] = v
		}
	}
	for _, prm := range p.Params {
		if !prm.Secret {
			continue
		}
		name := secretEnv(prm.Name)
		if v, ok := e.lookupEnv(name); ok {
			params[prm.Name] = v
			src.later[prm.Name] = true
			if err := e.unsetenv(name); err != nil {
				return nil, nil, nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	for _, kv := range f.params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, nil, fmt.Errorf("-p %q: want NAME=VALUE", kv)
		}
		if prm := p.Param(k); prm != nil && prm.Secret {
			if file, ok := strings.CutPrefix(v, "@"); ok && !strings.HasPrefix(file, "@") {
				if v, err = runner.ReadSecretFile(file); err != nil {
					return nil, nil, nil, fmt.Errorf("-p %s=@FILE: %w (a secret value that starts with @ is written @@)", k, err)
				}
			} else {
				v = strings.TrimPrefix(v, "@") // @@VALUE is @VALUE
				warnings = append(warnings, fmt.Sprintf("%s was given on the command line, where other users can see it with ps; use -p %s=@FILE or the environment variable %s", k, k, secretEnv(k)))
			}
		}
		params[k] = flagValue(p.Param(k), v)
		src.later[k] = true
	}
	return params, warnings, src, nil
}

// secretEnv is the environment variable that gives the secret param name.
func secretEnv(name string) string { return "CSMPLAN_PARAM_" + strings.ToUpper(name) }

// approver answers manual gates: --yes approves; on a terminal, the
// operator is asked; otherwise the gate is refused.
func approver(e *env, yes bool, out io.Writer, hold func() (release func())) actions.Approver {
	if yes {
		return actions.AutoApprove{}
	}
	return actions.ApproverFunc(func(ctx context.Context, req actions.ApprovalRequest) (bool, error) {
		if !e.isTerminal() {
			return false, errors.New("approval needed, but not on a terminal: run with --yes to approve manual steps")
		}
		defer hold()()
		printf(out, "\n%s\n", req.Prompt)
		if req.Details != "" {
			printf(out, "%s\n", block(req.Details))
		}
		printf(out, "Approve step %s? [y/N] ", req.Step)
		a, err := e.answer(ctx)
		a = strings.ToLower(a)
		return err == nil && (a == "y" || a == "yes"), err
	})
}

// jsonObserver writes each event as a JSON line (writeJSON: with the
// characters a terminal would act on escaped).
func jsonObserver(w io.Writer) runner.Observer {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	return runner.ObserverFunc(func(ev runner.Event) {
		buf.Reset()
		if err := enc.Encode(ev); err == nil {
			writeJSON(w, buf.Bytes())
		}
	})
}

// simulation is a simulated CSM pair started for --simulate.
type simulation struct {
	pair   *csmtest.Pair
	target string
	tmp    string
}

// startSimulation starts the simulated pair and binds the connection params
// of the default runbook to it; params the user gave win.
func startSimulation(e *env, p *plan.Plan, params map[string]any, f *runFlags) (*simulation, error) {
	dr := true
	if v, ok := params["maintain_dr"]; ok {
		prm := p.Param("maintain_dr")
		if prm == nil {
			return nil, errors.New("the runbook has no maintain_dr param: --simulate drives the CSM upgrade runbook")
		}
		if cv, err := prm.Convert(v); err == nil {
			dr = cv.(bool)
		} // else binding the params says what is wrong with it

	}
	opts := csmtest.Options{Standby: dr, InstallTime: f.installTime, Faults: f.faults}
	if v, ok := params["target_version"].(string); ok {
		opts.TargetVersion = v
	}
	if v, ok := params["username"].(string); ok {
		opts.Username = v
	}
	if v, ok := params["password"].(string); ok {
		opts.Password = v
	}
	pair, err := csmtest.NewPair(opts)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "csmplan-sim-")
	if err != nil {
		pair.Close()
		return nil, err
	}
	sim := &simulation{pair: pair, target: pair.TargetVersion(), tmp: tmp}
	bind := simParams(pair, e.exe, tmp)
	if wait := f.installTime + time.Minute; f.installTime > 0 && wait > 20*time.Second {
		// The shortened install wait must outlast the simulated install.
		bind["install_timeout"] = wait.String()
	}
	keys := make([]string, 0, len(bind))
	for k := range bind {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, given := params[k]; !given && p.Param(k) != nil {
			params[k] = bind[k]
		}
	}
	return sim, nil
}

// simParams are the params that point the default runbook at a simulated
// pair, with timeouts shortened for a simulation.
func simParams(pair *csmtest.Pair, exe, dir string) map[string]any {
	m := pair.ParamsFor(exe, simControlCommand)
	delete(m, "maintain_dr") // the mode is the user's, and the pair follows it
	for k, v := range map[string]any{
		"backup_dir": dir, "sync_timeout": "10s", "takeover_timeout": "10s", "install_timeout": "20s", "poll_interval": "100ms",
	} {
		m[k] = v
	}
	return m
}

// summary is the simulator's verdict: the safety invariants, and the final
// state too when the upgrade completed.
func (s *simulation) summary(completed bool) string {
	if completed {
		return s.pair.Summary(s.target)
	}
	return s.pair.SafetySummary()
}

func (s *simulation) close() {
	s.pair.Close()
	os.RemoveAll(s.tmp)
}

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
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/fleet"
)

// fleetFlags are run's flags for a fleet (csmplan run --fleet FILE, and
// csmplan run --simulate --pairs N).
type fleetFlags struct {
	file        string
	journalDir  string
	limit       multiFlag
	maxParallel optInt
	maxFailures optInt
	pairs       int
}

// optInt is an int flag that knows whether it was given.
type optInt struct {
	set bool
	n   int
}

func (o *optInt) String() string {
	if !o.set {
		return ""
	}
	return strconv.Itoa(o.n)
}

func (o *optInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a count (0 or more)", s)
	}
	o.set, o.n = true, n
	return nil
}

func (o *optInt) ptr() *int {
	if !o.set {
		return nil
	}
	n := o.n
	return &n
}

func (f *fleetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.file, "fleet", "", "run the fleet `FILE` (kind: Fleet): the runbook over every unit, in the waves of its rollout;\nwith --journal-dir")
	fs.StringVar(&f.journalDir, "journal-dir", "", "with --fleet: keep one journal per unit in `DIR` (DIR/UNIT.journal, locked while the unit runs)")
	fs.Var(&f.limit, "limit", "with --fleet: run only the units selected by `LABEL=VALUE` or a unit NAME (repeatable: any selects);\nthe others are skipped")
	fs.Var(&f.maxParallel, "max-parallel", "with --fleet or --pairs: run at most `N` units at once (overrides the rollout's max_parallel)")
	fs.Var(&f.maxFailures, "max-failures", "with --fleet: start no new unit once more than `N` have failed (overrides the rollout's)")
	fs.IntVar(&f.pairs, "pairs", 0, "with --simulate: simulate `N` pairs in this process and upgrade them as a fleet (pair-001 the canary);\n--fault PAIR:NAME injects a fault into one pair, --fault NAME into all")
}

// fleetMode reports whether the flags ask for a fleet run.
func (f *fleetFlags) fleetMode() bool { return f.file != "" || f.pairs > 0 }

// given reports whether any fleet flag was given.
func (f *fleetFlags) given() bool {
	return f.fleetMode() || f.pairs != 0 || f.journalDir != "" || len(f.limit) > 0 || f.maxParallel.set || f.maxFailures.set
}

// fleetUsage checks the flags of a fleet run.
func fleetUsage(f *runFlags, rest []string) error {
	fl := &f.fleet
	switch {
	case fl.file != "" && fl.pairs > 0:
		return errors.New("--fleet and --pairs: give one (--pairs simulates its own fleet)")
	case fl.pairs > 0 && !f.simulate:
		return errors.New("--pairs needs --simulate")
	case fl.pairs < 0:
		return errors.New("--pairs: want at least 1")
	case fl.file != "" && f.simulate:
		return errors.New("--fleet and --simulate: simulate a fleet with --simulate --pairs N")
	case fl.file != "" && fl.journalDir == "":
		return errors.New("--fleet needs --journal-dir DIR: each unit keeps a journal there")
	case f.resume && fl.journalDir == "":
		return errors.New("--resume of a fleet needs --journal-dir DIR")
	case len(rest) > 0:
		return fmt.Errorf("a fleet names its runbook in its file: unexpected argument %q", rest[0])
	case f.journal != "":
		return errors.New("--journal is for one run: a fleet keeps its journals in --journal-dir")
	case f.dryRun || len(f.params) > 0 || f.paramsFile != "" || f.from != "" || len(f.only) > 0:
		return errors.New("--dry-run, -p, --params, --from and --only are for one run, not a fleet")
	case !fl.fleetMode() && (fl.journalDir != "" || len(fl.limit) > 0 || fl.maxParallel.set || fl.maxFailures.set):
		return errors.New("--journal-dir, --limit, --max-parallel and --max-failures need --fleet FILE (or --simulate --pairs N)")
	}
	return nil
}

// simInProcess: the installers and stop/start commands of run --simulate
// --pairs run in this process (csmtest.ControlExecutor), not as sim-control
// processes as for one pair. See the figures in BenchmarkFleet's comment.
const simInProcess = true

// executeFleet is csmplan run --fleet FILE and run --simulate --pairs N.
func executeFleet(ctx context.Context, e *env, f *runFlags, rest []string) int {
	fl := &f.fleet
	if err := fleetUsage(f, rest); err != nil {
		printf(e.stderr, "csmplan run: %v\n", err)
		return exitUsage
	}
	if err := checkReport(f); err != nil {
		printf(e.stderr, "csmplan run: %v\n", err)
		return exitUsage
	}
	reg := csmplan.Registry()
	file := fl.file
	var sim *simFleet
	if fl.pairs > 0 {
		var err error
		sim, err = startFleet(fl.pairs, f.faults, f.installTime, e.exe, simInProcess)
		if err != nil {
			printf(e.stderr, "csmplan run: --simulate: %v\n", err)
			return exitUsage
		}
		defer sim.close()
		if sim.inProcess {
			if reg, err = csmplan.NewRegistry(sim.pairs[0].CSMOptions()); err != nil {
				printf(e.stderr, "csmplan run: --simulate: %v\n", err)
				return exitFailed
			}
		}
		file = filepath.Join(sim.tmp, "fleet.yaml")
		mp := 10
		if fl.maxParallel.set {
			mp = fl.maxParallel.n
		}
		if err := sim.writeFleetFile(file, f.installTime, mp); err != nil {
			printf(e.stderr, "csmplan run: --simulate: %v\n", err)
			return exitFailed
		}
		if fl.journalDir == "" && f.report.file != "" {
			// The change records are read from journals. Without
			// --report or --journal-dir, a simulated fleet keeps none,
			// as run --simulate keeps none without --journal.
			fl.journalDir = filepath.Join(sim.tmp, "journals")
		}
	} else if len(f.faults) > 0 || f.installTime != 0 {
		printf(e.stderr, "csmplan run: --fault and --install-time need --simulate\n")
		return exitUsage
	}
	flt := loadFleet(e, "run", file, reg)
	if flt == nil {
		return exitUsage
	}
	out := e.stdout
	var observers []fleet.Observer
	if f.json {
		out = e.stderr
		observers = append(observers, fleetJSONObserver(e.stdout))
	}
	tty := e.isTerminal() && !f.json
	prog := newFleetProgress(out, tty, e.color() && !f.json, len(flt.Units), func() int { return outputWidth(e, os.Stdout, tty) })
	observers = append(observers, fleetProgressObserver(prog))
	if tty && !f.yes {
		if !confirmFleet(ctx, e, out, flt) {
			return exitFailed
		}
	}
	opts := fleet.Options{
		Registry:    reg,
		JournalDir:  fl.journalDir,
		Resume:      f.resume,
		Limit:       fl.limit,
		MaxParallel: fl.maxParallel.ptr(),
		MaxFailures: fl.maxFailures.ptr(),
		Observers:   observers,
		Approver:    approver(e, f.yes, out, prog.hold),
		Stop:        ctx.Done(),
	}
	if tty {
		defer prog.ticker(200 * time.Millisecond)()
	}
	rctx := runContext(ctx, e, f.killGrace)
	endNotice := forcedNotice(rctx, e, f.killGrace)
	rep, err := fleet.Run(rctx, flt, opts)
	endNotice()
	prog.mu.Lock()
	prog.held = true // the summary follows; the table is not drawn again
	prog.clear()
	prog.mu.Unlock()
	if err != nil && rep != nil && runStartedNone(rep) && ctx.Err() == nil && !errors.Is(err, fleet.ErrUnitFailed) && !errors.Is(err, fleet.ErrCanary) {
		printf(e.stderr, "csmplan run: %s\n", block(err.Error()))
		return exitUsage
	}
	fleetSummary(out, e.stderr, rep, err)
	code := exitOK
	switch {
	case err == nil:
	case ctx.Err() != nil:
		code = exitInterrupted
	default:
		code = exitFailed
	}
	if f.report.file != "" {
		if werr := writeFleetReport(f.report.file, flt, rep); werr != nil {
			printf(e.stderr, "csmplan run: --report: %v\n", werr)
			if code == exitOK {
				code = exitFailed
			}
		} else {
			printf(out, "fleet record written to %s\n", f.report.file)
		}
	}
	if sim != nil {
		completed := map[string]bool{}
		for _, u := range rep.Units {
			if u.Outcome == runner.Succeeded || u.Outcome == runner.Resumed {
				completed[u.Name] = true
			}
		}
		line, violated := sim.verdict(completed)
		printf(out, "%s\n", line)
		if violated && code == exitOK {
			printf(e.stderr, "csmplan run: the simulator reports a violated invariant: exit 1\n")
			code = exitFailed
		}
	}
	return code
}

// runStartedNone reports whether no unit of the fleet ran: the fleet was
// refused before it started (a --limit that selects nothing, a journal
// directory of another run).
func runStartedNone(rep *fleet.Report) bool {
	for _, u := range rep.Units {
		if u.Report != nil || u.Outcome == runner.Resumed {
			return false
		}
	}
	return true
}

// confirmFleet asks the operator, on a terminal and without --yes, once
// before the fleet starts, to type yes.
func confirmFleet(ctx context.Context, e *env, out io.Writer, f *fleet.Fleet) bool {
	waves := f.Waves()
	printf(out, "The fleet %s is about to run %s on %s in %s (max_parallel %d).\n%s", f.Name, f.Runbook.Name, ours(console.Count(len(f.Units), "unit")), ours(console.Count(len(waves), "wave")), max(1, f.Rollout.MaxParallel), ours(confirmPrompt))
	a, err := e.answer(ctx)
	if err != nil || a != "yes" {
		printf(out, "Not confirmed: the fleet stops here; it changed nothing.\n")
		return false
	}
	return true
}

// fleetProgressObserver feeds the fleet's events to the progress display.
func fleetProgressObserver(p *fleetProgress) fleet.Observer {
	return fleet.ObserverFunc(func(ev fleet.Event) {
		switch ev.Kind {
		case fleet.WaveStart:
			p.message(ev.Message)
		case fleet.UnitStart:
			p.unitStart(ev.Unit)
		case fleet.UnitEvent:
			if ev.Run != nil {
				p.unitEvent(ev.Unit, *ev.Run)
			}
		case fleet.UnitEnd:
			p.unitEnd(ev.Unit, ev.Outcome, ev.Message)
		case fleet.FleetStopping:
			p.message("stopping: " + ev.Message)
		}
	})
}

// fleetJSONObserver writes each event as a JSON line: a unit's run event
// as run --json writes it with "unit" added, a fleet event as {"unit",
// "type", "wave", "outcome", "message", "time"}.
func fleetJSONObserver(w io.Writer) fleet.Observer {
	var mu sync.Mutex
	return fleet.ObserverFunc(func(ev fleet.Event) {
		var b []byte
		var err error
		if ev.Kind == fleet.UnitEvent && ev.Run != nil {
			var run []byte
			if run, err = json.Marshal(*ev.Run); err == nil && len(run) > 1 {
				unit, _ := json.Marshal(ev.Unit)
				b = append(append(append([]byte(`{"unit":`), unit...), ','), run[1:]...)
			}
		} else {
			b, err = json.Marshal(struct {
				Version int            `json:"schema_version"`
				Unit    string         `json:"unit,omitempty"`
				Type    string         `json:"type"`
				Wave    int            `json:"wave,omitempty"`
				Outcome runner.Outcome `json:"outcome,omitempty"`
				Message string         `json:"message,omitempty"`
				Time    string         `json:"time"`
			}{runner.EventSchemaVersion, ev.Unit, string(ev.Kind), ev.Wave, ev.Outcome, ev.Message, ev.Time.UTC().Format(time.RFC3339Nano)})
		}
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		writeJSON(w, append(b, '\n'))
	})
}

// fleetSummary prints the fleet's outcome: counts by outcome and the time,
// then each unit that failed or did not run, with why.
func fleetSummary(out, errw io.Writer, rep *fleet.Report, err error) {
	if rep == nil {
		return
	}
	counts := map[runner.Outcome]int{}
	for _, u := range rep.Units {
		counts[u.Outcome]++
	}
	var parts []string
	for _, o := range []runner.Outcome{runner.Succeeded, runner.Resumed, runner.Failed, runner.Cancelled, runner.Skipped, runner.NotRun} {
		if n := counts[o]; n > 0 {
			what := string(o)
			if o == runner.Resumed {
				what = "done earlier"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	verdict := map[runner.Outcome]string{runner.Succeeded: "Succeeded", runner.Failed: "Failed", runner.Cancelled: "Interrupted"}[rep.Outcome]
	if verdict == "" {
		verdict = string(rep.Outcome)
	}
	printf(out, "Fleet %s: %s: %s: %s in %s\n", rep.Fleet, verdict, ours(console.Count(len(rep.Units), "unit")), strings.Join(parts, ", "), console.Round(rep.Duration))
	var notes []string
	reasons := map[string][]string{}
	for _, u := range rep.Units {
		switch u.Outcome {
		case runner.Failed, runner.Cancelled:
			notes = append(notes, fmt.Sprintf("  %s: %s: %s", u.Name, u.Outcome, strings.ReplaceAll(strings.TrimRight(u.Reason, "\n"), "\n", "\n      ")))
		case runner.NotRun:
			reasons[u.Reason] = append(reasons[u.Reason], u.Name)
		}
	}
	for _, n := range notes {
		printf(out, "%s\n", block(n))
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names := reasons[k]
		list := strings.Join(names, ", ")
		if len(names) > 5 {
			list = strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
		}
		printf(out, "  not run (%s): %s\n", console.FirstLine(k), list)
	}
	if err != nil && rep.Outcome != runner.Cancelled {
		printf(errw, "error: %s\n", console.Indent(err.Error(), "  "))
	}
}

// isFleetFile reports whether the file is a fleet file (kind: Fleet).
func isFleetFile(name string) bool {
	data, err := os.ReadFile(name)
	if err != nil {
		return false
	}
	var doc struct {
		Kind string `yaml:"kind"`
	}
	return yaml.Unmarshal(data, &doc) == nil && doc.Kind == "Fleet"
}

// loadFleet loads a fleet file with the built-in runbook as its default;
// on failure it prints the problems and returns nil.
func loadFleet(e *env, cmd, file string, reg *actions.Registry) *fleet.Fleet {
	def, err := csmplan.LoadDefault()
	if err == nil {
		var flt *fleet.Fleet
		if flt, err = fleet.Load(file, reg, fleet.WithDefaultRunbook(def), fleet.WithEnv(e.lookupEnv)); err == nil {
			return flt
		}
	}
	if len(plan.Errors(err)) > 0 {
		renderProblems(e.stderr, err, e.color() && isTerminal(os.Stderr))
	} else {
		printf(e.stderr, "csmplan %s: %v\n", cmd, err)
	}
	return nil
}

// docFleet is csmplan doc FLEETFILE: the fleet's rollout plan.
func docFleet(e *env, file string) int {
	flt := loadFleet(e, "doc", file, csmplan.Registry())
	if flt == nil {
		return exitUsage
	}
	var buf bytes.Buffer
	writeFleetDoc(&buf, flt)
	printf(e.stdout, "%s", block(buf.String()))
	return exitOK
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/record"
)

// statusProbes are the read-only probes status asks of each target of the
// runbook, when the registry has them, and how it shows their answer.
var statusProbes = []struct {
	name string
	show func(v any) string
}{
	{"csm.ha", func(v any) string { return "role " + field(v, "role") }},
	{"csm.version", func(v any) string { return "version " + field(v, "version") }},
}

// statusTimeout bounds each probe of status.
const statusTimeout = 20 * time.Second

func field(v any, name string) string {
	if m, ok := v.(map[string]any); ok {
		if s := plan.Format(m[name]); s != "" {
			return s
		}
	}
	return "?"
}

func cmdStatus(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "status", "--journal FILE [RUNBOOK]", "Say what the run recorded in a journal has done and what is next. Given the\nrun's params (-p, --params, CSMPLAN_PARAM_<NAME>), also ask the servers,\nread-only, their roles and versions now, and print the exact command that\nresumes the run. Nothing that changes anything runs.")
	var f runFlags
	fs.Var(&f.params, "p", "set a param: `NAME=VALUE`, as for run (a secret one as -p NAME=@FILE or CSMPLAN_PARAM_<NAME>)")
	fs.StringVar(&f.paramsFile, "params", "", "read params from a YAML `FILE`, as for run")
	fs.StringVar(&f.journal, "journal", "", "the journal of the run (`FILE`)")
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if f.journal == "" {
		printf(e.stderr, "csmplan status: want --journal FILE\n")
		fs.Usage()
		return exitUsage
	}
	rec, err := record.Read(f.journal)
	if err != nil {
		printf(e.stderr, "csmplan status: %v\n", err)
		return exitFailed
	}
	p, code := loadRunbook(e, "status", rest)
	if p == nil {
		return code
	}
	same := runbookDigest(p) == rec.SHA256
	if same {
		rec.Complete(p) // a journal of format 3 names only the steps its runs reached
	}
	writeStatus(e, rec, f.journal)
	if !same {
		printf(e.stdout, "\nthe runbook %s is not the one the journal records (sha256 differs): a resume needs that runbook\n", runbookName(rest))
		return exitOK
	}
	if _, simulated := rec.Note("simulation"); simulated {
		printf(e.stdout, "\nThe run was simulated (--simulate): its simulated pair ended with it, so it cannot be resumed.\n")
		return exitOK
	}
	given := len(f.params) > 0 || f.paramsFile != "" || anySecretEnv(e, p)
	if !given {
		printf(e.stdout, "\nGive the run's params (-p, --params, CSMPLAN_PARAM_<NAME>) to see the servers' roles and versions now.\n")
		printf(e.stdout, "resume: %s\n", resumeCommand(f.journal, rest, &f, p, rec, nil))
		return exitOK
	}
	envSecrets := map[string]bool{}
	for _, prm := range p.Params {
		if _, ok := e.lookupEnv(secretEnv(prm.Name)); ok && prm.Secret {
			envSecrets[prm.Name] = true
		}
	}
	params, warnings, sources, err := readParams(e, &f, p)
	if err != nil {
		printParamsError(e, "status", err)
		return exitUsage
	}
	for _, w := range warnings {
		printf(e.stderr, "csmplan status: warning: %s\n", w)
	}
	bound, err := runner.BindParams(p, params)
	if err != nil {
		printf(e.stderr, "csmplan status: params:\n")
		for _, line := range sources.paramProblems(p, err) {
			printf(e.stderr, "  %s\n", line)
		}
		return exitUsage
	}
	writeServers(ctx, e, p, bound)
	printf(e.stdout, "resume: %s\n", resumeCommand(f.journal, rest, &f, p, rec, envSecrets))
	return exitOK
}

func runbookName(rest []string) string {
	if len(rest) == 0 {
		return "(built-in)"
	}
	return rest[0]
}

func runbookDigest(p *plan.Plan) string {
	sum := sha256.Sum256(p.Source)
	return hex.EncodeToString(sum[:])
}

func anySecretEnv(e *env, p *plan.Plan) bool {
	for _, prm := range p.Params {
		if _, ok := e.lookupEnv(secretEnv(prm.Name)); ok {
			return true
		}
	}
	return false
}

// writeStatus says what the journal records: the run, each step, and
// what is next.
func writeStatus(e *env, rec *record.Record, journal string) {
	outcome := string(rec.Outcome)
	switch {
	case len(rec.Runs) > 0 && rec.Runs[len(rec.Runs)-1].End.IsZero():
		outcome = "not ended (running, or stopped without a record of its end)"
	case outcome == "":
		outcome = "not ended"
	}
	printf(e.stdout, "journal %s: runbook %s (sha256 %.12s), %d run%s, started %s by %s on %s\n", journal, rec.Runbook, rec.SHA256,
		len(rec.Runs), plural(len(rec.Runs)), stampOrUnknown(rec.Start), orUnknown(rec.User), orUnknown(rec.Host))
	printf(e.stdout, "last run: %s", outcome)
	if !rec.End.IsZero() {
		printf(e.stdout, " at %s", stampOrUnknown(rec.End))
	}
	printf(e.stdout, "\n\n")
	next := rec.Next()
	width := 4
	for _, s := range rec.Steps {
		width = max(width, len(s.ID))
	}
	for i, s := range rec.Steps {
		mark := "    "
		switch {
		case next != nil && s.ID == next.ID:
			mark = "next"
		case s.Done():
			mark = "done"
		}
		line := string(s.Outcome)
		if s.Operator {
			line += " by the operator"
		}
		if s.Duration > 0 {
			line += " in " + s.Duration.Round(time.Millisecond).String()
		}
		printf(e.stdout, "  %s %2d %-*s %s\n", mark, i+1, width, s.ID, line)
	}
	printf(e.stdout, "\n")
	if next == nil {
		printf(e.stdout, "every step is done\n")
		return
	}
	printf(e.stdout, "next: step %s (%s)", next.ID, next.Title)
	switch next.Outcome {
	case runner.Failed:
		printf(e.stdout, ": it failed: %s\n", console.Indent(next.Reason, "  "))
		printf(e.stdout, "  a resume checks first whether it is done (its postconditions), then its preconditions, before running it again\n")
	case record.Unfinished, runner.Cancelled:
		printf(e.stdout, ": the run stopped in it")
		if n := len(next.Attempts); n > 0 && next.Attempts[n-1].Unfinished {
			printf(e.stdout, " while its action %s ran (it may have taken effect)", next.Attempts[n-1].Action)
		}
		printf(e.stdout, "\n  a resume checks first whether it is done (its postconditions, with their waits), before running it again\n")
	default:
		printf(e.stdout, "\n")
	}
}

func stampOrUnknown(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// writeServers asks each target of the runbook, read-only, the
// statusProbes, and says what they answer.
func writeServers(ctx context.Context, e *env, p *plan.Plan, params map[string]any) {
	reg := csmplan.Registry()
	var secrets []string
	for _, prm := range p.Params {
		if v, ok := params[prm.Name]; ok && prm.Secret {
			secrets = append(secrets, plan.Format(v))
		}
	}
	resolve := func(ref *plan.Ref) (any, error) {
		if ref.Scope != plan.ScopeParams {
			return nil, fmt.Errorf("%s: a target may refer to params only", ref.Source)
		}
		v, ok := params[ref.Name]
		if !ok {
			return nil, fmt.Errorf("%s: no such param", ref.Source)
		}
		if len(ref.Path) > 0 {
			return ref.Path.Select(v)
		}
		return v, nil
	}
	targets := map[string]map[string]any{}
	sources := map[string]map[string]any{}
	var names []string
	for _, t := range p.Targets {
		v, err := t.Fields.Eval(resolve)
		if err != nil {
			printf(e.stdout, "  %s: %s\n", t.Name, runner.Redact(err.Error(), secrets))
			continue
		}
		m, _ := v.(map[string]any)
		targets[t.Name] = m
		sources[t.Name], _ = t.Fields.Raw().(map[string]any)
		names = append(names, t.Name)
	}
	printf(e.stdout, "\nservers now (read-only probes):\n")
	var active []string
	for _, name := range names {
		if host, _ := targets[name]["host"].(string); host == "" {
			printf(e.stdout, "  %-10s not given\n", name)
			continue
		}
		var parts []string
		for _, sp := range statusProbes {
			spec, ok := reg.Spec(actions.KindProbe, sp.name)
			if !ok || spec.Mutates {
				continue
			}
			probe, err := reg.NewProbe(sp.name)
			if err != nil {
				continue
			}
			call := &actions.Call{Step: "status", Name: sp.name, Args: map[string]any{"target": name}, Targets: targets,
				TargetSources: sources, Clock: actions.RealClock{}, Attempt: 1}
			pctx, cancel := context.WithTimeout(ctx, statusTimeout)
			v, err := probe.Observe(pctx, call)
			cancel()
			if err != nil {
				parts = append(parts, sp.name+": "+runner.Redact(err.Error(), secrets))
				continue
			}
			parts = append(parts, sp.show(v))
			if sp.name == "csm.ha" && field(v, "role") == "Active" {
				active = append(active, name)
			}
		}
		printf(e.stdout, "  %-10s %s: %s\n", name, runner.Redact(plan.Format(targets[name]["host"]), secrets), strings.Join(parts, ", "))
	}
	switch len(active) {
	case 0:
	case 1:
		printf(e.stdout, "the %s is now the active server\n", active[0])
	default:
		printf(e.stdout, "%s are all active servers now\n", strings.Join(active, " and "))
	}
	printf(e.stdout, "\n")
}

// resumeCommand is the command line that resumes the run: the params as
// given (a --params file, -p flags), or else as the journal records them;
// a secret param never by its value, but as -p NAME=@FILE, or by the
// environment variable it came from (envSecrets).
func resumeCommand(journal string, rest []string, f *runFlags, p *plan.Plan, rec *record.Record, envSecrets map[string]bool) string {
	args := []string{"csmplan", "run", "--journal", shellQuote(journal), "--resume"}
	for _, r := range rest {
		args = append(args, shellQuote(r))
	}
	var env []string
	given := len(f.params) > 0 || f.paramsFile != "" || len(envSecrets) > 0
	secret := func(name string) bool {
		prm := p.Param(name)
		return prm != nil && prm.Secret
	}
	if given {
		if f.paramsFile != "" {
			args = append(args, "--params", shellQuote(f.paramsFile))
		}
		for _, kv := range f.params {
			k, v, _ := strings.Cut(kv, "=")
			if secret(k) && (!strings.HasPrefix(v, "@") || strings.HasPrefix(v, "@@")) {
				v = "@FILE"
			}
			args = append(args, "-p", shellQuote(k+"="+v))
		}
		for _, k := range slices.Sorted(maps.Keys(envSecrets)) {
			env = append(env, secretEnv(k))
		}
	} else {
		for _, prm := range rec.Params {
			if prm.Value == nil {
				continue
			}
			if prm.Secret {
				env = append(env, secretEnv(prm.Name))
				continue
			}
			if pp := p.Param(prm.Name); pp != nil && pp.HasDefault {
				if def, err := pp.Convert(pp.Default); err == nil && plan.Format(def) == plan.Format(prm.Value) {
					continue
				}
			}
			args = append(args, "-p", shellQuote(prm.Name+"="+paramText(prm.Value)))
		}
	}
	cmd := strings.Join(args, " ")
	if len(env) > 0 {
		cmd += "   (with " + strings.Join(env, ", ") + " set in the environment, or -p NAME=@FILE)"
	}
	return cmd
}

// paramText writes a param's value as -p reads it: text as it is, lists
// and objects as JSON.
func paramText(v any) string {
	switch v.(type) {
	case []any, map[string]any:
		b, err := json.Marshal(v)
		if err == nil {
			return string(b)
		}
	}
	return plan.Format(v)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=@:,+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner/fleet"
	"github.com/csmplan/csmplan/schema"
)

func (e *env) color() bool { return e.getenv("NO_COLOR") == "" && e.isTerminal() }

func cmdValidate(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "validate", "FILE...", "Check runbooks: YAML syntax, the runbook schema, references, durations,\npatterns, and actions and probes with their arguments. Every problem is\nprinted as FILE:LINE:COL: message, with a code frame.\nExit 0 when all are valid, 1 when any has a problem, 2 on usage errors.")
	files, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		printf(e.stderr, "csmplan validate: want at least one runbook file\n")
		fs.Usage()
		return exitUsage
	}
	bad := false
	for _, f := range files {
		if isFleetFile(f) {
			bad = !validateFleet(e, f) || bad
			continue
		}
		p, err := plan.ParseFile(f, plan.WithRegistry(csmplan.Registry()))
		if err != nil {
			bad = true
			if len(plan.Errors(err)) == 0 {
				printf(e.stderr, "csmplan validate: %v\n", err)
				continue
			}
			renderProblems(e.stdout, err, e.color())
			printf(e.stdout, "%s: %d problem%s\n\n", f, len(plan.Errors(err)), plural(len(plan.Errors(err))))
			continue
		}
		printf(e.stdout, "ok  %s (%d step%s)\n", f, len(p.Steps), plural(len(p.Steps)))
	}
	if bad {
		return exitFailed
	}
	return exitOK
}

// validateFleet checks a fleet file as run --fleet loads it (its runbook
// and every unit's params included) and prints its problems as validate
// prints a runbook's. It reports whether the fleet is valid.
func validateFleet(e *env, file string) bool {
	def, err := csmplan.LoadDefault()
	if err != nil {
		printf(e.stderr, "csmplan validate: %v\n", err)
		return false
	}
	flt, err := fleet.Load(file, csmplan.Registry(), fleet.WithDefaultRunbook(def), fleet.WithEnv(e.lookupEnv))
	if err != nil {
		if n := len(plan.Errors(err)); n > 0 {
			renderProblems(e.stdout, err, e.color())
			printf(e.stdout, "%s: %d problem%s\n\n", file, n, plural(n))
		} else {
			printf(e.stderr, "csmplan validate: %v\n", err)
		}
		return false
	}
	printf(e.stdout, "ok  %s (a fleet of %s in %s)\n", file, ours(console.Count(len(flt.Units), "unit")), ours(console.Count(len(flt.Waves()), "wave")))
	return true
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func cmdSchema(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "schema", "", "Print the JSON Schema (draft 2020-12) of runbooks, including the arguments\nof every registered action and probe. Save it and point your editor at it:\nwith the YAML language server, put this line at the top of a runbook:\n\n  # yaml-language-server: $schema=./csmplan.schema.json")
	base := fs.Bool("base", false, "print only the runbook format, without the actions' arguments")
	events := fs.Bool("events", false, "print instead the JSON Schema of the events that run --json and plan --json write")
	fleets := fs.Bool("fleet", false, "print instead the JSON Schema of fleet files (kind: Fleet)")
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		printf(e.stderr, "csmplan schema: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	if *events && *fleets {
		printf(e.stderr, "csmplan schema: --events and --fleet print different schemas: give one\n")
		return exitUsage
	}
	out := schema.Runbook()
	switch {
	case *events:
		out = schema.Events()
	case *fleets:
		out = schema.Fleet()
	case !*base:
		var err error
		if out, err = schema.Full(csmplan.Registry()); err != nil {
			printf(e.stderr, "csmplan schema: %v\n", err)
			return exitFailed
		}
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	writeJSON(e.stdout, out)
	return exitOK
}

func cmdActions(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "actions", "[NAME]", "List the registered actions and probes with their summaries, arguments\nand outputs; with NAME, only those of that name.")
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	reg := csmplan.Registry()
	found := false
	for _, kind := range []actions.Kind{actions.KindAction, actions.KindProbe} {
		specs := reg.Specs(kind)
		title := "Actions"
		if kind == actions.KindProbe {
			title = "Probes"
		}
		header := false
		for _, s := range specs {
			if len(rest) > 0 && !contains(rest, s.Name) {
				continue
			}
			if !header {
				printf(e.stdout, "%s:\n", title)
				header = true
			}
			found = true
			writeSpec(e, s)
		}
		if header {
			printf(e.stdout, "\n")
		}
	}
	if !found && len(rest) > 0 {
		printf(e.stderr, "csmplan actions: no action or probe named %s", strings.Join(rest, ", "))
		all := append(reg.Names(actions.KindAction), reg.Names(actions.KindProbe)...)
		if s := schema.Suggest(rest[0], all); s != "" {
			printf(e.stderr, " (did you mean %q?)", s)
		}
		printf(e.stderr, "\n")
		return exitUsage
	}
	return exitOK
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func writeSpec(e *env, s actions.Spec) {
	mut := ""
	if s.Mutates {
		mut = " (changes the world: not run by a dry run)"
	}
	printf(e.stdout, "  %s%s\n      %s\n", s.Name, mut, s.Summary)
	for _, a := range s.ArgDocs() {
		req := ""
		if a.Required {
			req = ", required"
		}
		printf(e.stdout, "      with %-16s %s%s: %s\n", a.Name, a.Type, req, a.Description)
	}
	for _, o := range s.Outputs {
		printf(e.stdout, "      out  %-16s %s: %s\n", o.Name, o.Type, o.Description)
	}
}

func cmdInit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "init", "[FILE]", "Write the default runbook (the CSM HA upgrade) to FILE for editing\n(default csm-upgrade.yaml). Refuses to overwrite an existing file.")
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	name := "csm-upgrade.yaml"
	switch len(rest) {
	case 0:
	case 1:
		name = rest[0]
	default:
		printf(e.stderr, "csmplan init: want at most one file name\n")
		return exitUsage
	}
	if ctx.Err() != nil {
		// Interrupted: write nothing rather than half a file.
		return exitInterrupted
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			printf(e.stderr, "csmplan init: %s already exists; not overwriting it\n", name)
			return exitFailed
		}
		printf(e.stderr, "csmplan init: %v\n", err)
		return exitFailed
	}
	if _, err := f.Write(csmplan.DefaultRunbook()); err != nil {
		f.Close()
		printf(e.stderr, "csmplan init: %v\n", err)
		return exitFailed
	}
	if err := f.Close(); err != nil {
		printf(e.stderr, "csmplan init: %v\n", err)
		return exitFailed
	}
	printf(e.stdout, "wrote %s: edit it, check it with 'csmplan validate %s', read it with 'csmplan doc %s'\n", name, name, name)
	return exitOK
}

func cmdDoc(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "doc", "[RUNBOOK]", "Render a runbook (default: the built-in CSM upgrade) as a Markdown procedure:\nnumbered steps, what is checked before and after each, timeouts, and what\nhappens on failure. With -p or --params, the procedure of one change: its\nvalues listed and shown in place of the references to them (never a secret's).")
	var f runFlags
	fs.Var(&f.params, "p", "set a param: `NAME=VALUE` (repeatable), as for run")
	fs.StringVar(&f.paramsFile, "params", "", "read params from a YAML `FILE`, as for run")
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if len(rest) == 1 && isFleetFile(rest[0]) {
		return docFleet(e, rest[0])
	}
	p, code := loadRunbook(e, "doc", rest)
	if p == nil {
		return code
	}
	if len(f.params) > 0 || f.paramsFile != "" {
		return docValues(e, p, &f)
	}
	if err := plan.WriteMarkdown(e.stdout, p, csmplan.Registry()); err != nil {
		printf(e.stderr, "csmplan doc: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// loadRunbook loads the runbook named in args, or the default one. On
// failure it prints the problems and returns nil and the exit code.
func loadRunbook(e *env, cmd string, args []string) (*plan.Plan, int) {
	if len(args) > 1 {
		printf(e.stderr, "csmplan %s: want at most one runbook, got %d\n", cmd, len(args))
		return nil, exitUsage
	}
	var p *plan.Plan
	var err error
	if len(args) == 0 {
		p, err = csmplan.LoadDefault()
	} else {
		p, err = plan.ParseFile(args[0], plan.WithRegistry(csmplan.Registry()))
	}
	if err != nil {
		if len(plan.Errors(err)) > 0 {
			renderProblems(e.stderr, err, e.color() && isTerminal(os.Stderr))
		} else {
			printf(e.stderr, "csmplan %s: %v\n", cmd, err)
		}
		return nil, exitUsage
	}
	return p, exitOK
}

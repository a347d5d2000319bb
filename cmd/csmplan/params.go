package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// paramSources says where the params of a run came from: the --params
// file, and the names given after it (environment, -p), which win.
type paramSources struct {
	file  *plan.ParamsFile // nil without --params
	later map[string]bool  // given in the environment or with -p
}

// readParamsFile reads and parses the --params file.
func readParamsFile(name string) (*plan.ParamsFile, error) {
	src, err := os.ReadFile(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s: %w", pe.Path, pe.Err) // "open" is Go's word, not the user's
		}
		return nil, fmt.Errorf("--params: %w", err)
	}
	return plan.ParseParams(name, src)
}

// fromFile reports whether the value of the param name is the one the
// --params file gives.
func (s *paramSources) fromFile(name string) bool {
	return s != nil && s.file != nil && s.file.Has(name) && !s.later[name]
}

// paramProblems returns the lines that say what is wrong with the params
// (runner.BindParams's error): a problem with a value from the --params
// file says FILE:LINE:COL, as a runbook's problems do.
func (s *paramSources) paramProblems(p *plan.Plan, err error) []string {
	var errs []error
	if me := (*multierror.Error)(nil); errors.As(err, &me) {
		errs = me.Errors
	} else if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var lines []string
	for _, e := range errs {
		var pe *runner.ParamError
		if !errors.As(e, &pe) || !s.fromFile(pe.Param) {
			lines = append(lines, strings.Split(e.Error(), "\n")...)
			continue
		}
		kind := plan.ErrType
		if p.Param(pe.Param) == nil {
			kind = plan.ErrUnknownParam
		}
		lines = append(lines, s.file.Problem(pe.Param, kind, pe.Error()).Error())
	}
	return lines
}

// flagValue is the value of the param prm given as -p NAME=v: for a list
// param, text that is not a list in flow syntax ([...]) is the list of that
// one item, so that -p installer=/opt/setup.bin works; otherwise v, which
// runner.BindParams converts to the param's type.
func flagValue(prm *plan.Param, v string) any {
	if prm == nil || prm.Type != plan.TypeList || strings.HasPrefix(strings.TrimSpace(v), "[") {
		return v
	}
	return []any{v}
}

// docValues renders the procedure of p with the params of one change.
// Params the change does not give are left as references; a value that
// does not fit its param is an error, as for run.
func docValues(e *env, p *plan.Plan, f *runFlags) int {
	given, warnings, sources, err := readParams(e, f, p)
	if err != nil {
		printParamsError(e, "doc", err)
		return exitUsage
	}
	for _, w := range warnings {
		printf(e.stderr, "csmplan doc: warning: %s\n", w)
	}
	values, err := runner.BindParams(p, given)
	if err != nil {
		// Only what is wrong with the values given: a required param
		// that is missing is left as its reference.
		var errs []error
		for _, pe := range paramErrors(err) {
			if _, ok := given[pe.Param]; ok {
				errs = append(errs, pe)
			}
		}
		if len(errs) > 0 {
			printf(e.stderr, "csmplan doc: params:\n")
			for _, line := range sources.paramProblems(p, errors.Join(errs...)) {
				printf(e.stderr, "  %s\n", line)
			}
			return exitUsage
		}
	}
	for _, prm := range p.Params {
		if _, ok := given[prm.Name]; !ok && !prm.HasDefault {
			delete(values, prm.Name) // not given: its reference stays
		}
	}
	if err := plan.WriteMarkdownValues(e.stdout, p, csmplan.Registry(), values); err != nil {
		printf(e.stderr, "csmplan doc: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// paramErrors returns the *runner.ParamError in err.
func paramErrors(err error) []*runner.ParamError {
	var out []*runner.ParamError
	if pe, ok := err.(*runner.ParamError); ok {
		return []*runner.ParamError{pe}
	}
	var me *multierror.Error
	if errors.As(err, &me) {
		for _, e := range me.Errors {
			out = append(out, paramErrors(e)...)
		}
		return out
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, paramErrors(e)...)
		}
	}
	return out
}

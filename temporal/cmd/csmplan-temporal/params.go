package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// secretEnv is the environment variable that gives the secret param name,
// as for csmplan run.
func secretEnv(name string) string { return "CSMPLAN_PARAM_" + strings.ToUpper(name) }

// params are a run's params as given: their values, to check them here,
// and, for each secret, the reference a worker resolves it by, so that no
// secret enters workflow history.
type params struct {
	given map[string]any
	refs  map[string]string // secret param -> env:, file: or params: reference
	file  *plan.ParamsFile  // the --params file, nil without
	later map[string]bool   // given after the file (environment, -p)
}

// readParams reads the params of p: the --params file, then each secret's
// CSMPLAN_PARAM_<NAME>, then -p NAME=VALUE (a secret as -p NAME=@FILE),
// each winning over the one before, and checks them against p. A secret
// given in clear on the command line is refused: a worker could not read
// it from anywhere, and it would enter workflow history.
func readParams(p *plan.Plan, paramsFile string, flags []string) (*params, error) {
	ps := &params{given: map[string]any{}, refs: map[string]string{}, later: map[string]bool{}}
	if paramsFile != "" {
		src, err := os.ReadFile(paramsFile)
		if err != nil {
			return nil, fmt.Errorf("--params: %w", err)
		}
		if ps.file, err = plan.ParseParams(paramsFile, src); err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(paramsFile)
		if err != nil {
			return nil, fmt.Errorf("--params: %w", err)
		}
		for k, v := range ps.file.Values {
			ps.given[k] = v
			if prm := p.Param(k); prm != nil && prm.Secret {
				ps.refs[k] = "params:" + abs + "#" + k
			}
		}
	}
	for _, prm := range p.Params {
		if !prm.Secret {
			continue
		}
		if v, ok := os.LookupEnv(secretEnv(prm.Name)); ok {
			ps.given[prm.Name], ps.refs[prm.Name], ps.later[prm.Name] = v, "env:"+secretEnv(prm.Name), true
		}
	}
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-p %q: want NAME=VALUE", kv)
		}
		prm := p.Param(k)
		ps.later[k] = true
		switch {
		case prm != nil && prm.Secret && strings.HasPrefix(v, "@"):
			secret, err := runner.ReadSecretFile(v[1:])
			if err != nil {
				return nil, fmt.Errorf("-p %s=@FILE: %w", k, err)
			}
			abs, err := filepath.Abs(v[1:])
			if err != nil {
				return nil, fmt.Errorf("-p %s=@FILE: %w", k, err)
			}
			ps.given[k], ps.refs[k] = secret, "file:"+abs
		case prm != nil && prm.Secret:
			return nil, fmt.Errorf("-p %s: %s is secret: give it as -p %s=@FILE, or in %s, on this machine and the workers' (it never enters workflow history)", k, k, k, secretEnv(k))
		case prm != nil && prm.Type == plan.TypeList && !strings.HasPrefix(strings.TrimSpace(v), "["):
			ps.given[k] = []any{v} // -p installer=/opt/setup.bin
		default:
			ps.given[k] = v
		}
	}
	if _, err := runner.BindParams(p, ps.given); err != nil {
		return nil, ps.problems(p, err)
	}
	return ps, nil
}

// problems says what is wrong with the params, a value of the --params
// file at its FILE:LINE:COL.
func (ps *params) problems(p *plan.Plan, err error) error {
	var errs []error
	if me := (*multierror.Error)(nil); errors.As(err, &me) {
		errs = me.Errors
	} else {
		errs = []error{err}
	}
	lines := make([]string, 0, len(errs))
	for _, e := range errs {
		var pe *runner.ParamError
		if !errors.As(e, &pe) || ps.file == nil || !ps.file.Has(pe.Param) || ps.later[pe.Param] {
			lines = append(lines, e.Error())
			continue
		}
		kind := plan.ErrType
		if p.Param(pe.Param) == nil {
			kind = plan.ErrUnknownParam
		}
		lines = append(lines, ps.file.Problem(pe.Param, kind, pe.Error()).Error())
	}
	return fmt.Errorf("params:\n  %s", strings.Join(lines, "\n  "))
}

// values returns the params of the workflow's Input: a secret as its
// reference, never its value.
func (ps *params) values() (map[string]interpreter.Value, error) {
	out := make(map[string]interpreter.Value, len(ps.given))
	for k, v := range ps.given {
		if ref, ok := ps.refs[k]; ok {
			out[k] = interpreter.SecretRef(ref)
			continue
		}
		ev, err := interpreter.Encode(v)
		if err != nil {
			return nil, fmt.Errorf("param %s: %w", k, err)
		}
		out[k] = ev
	}
	return out, nil
}

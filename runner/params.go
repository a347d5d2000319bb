package runner

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/schema"
)

// ErrParams is wrapped by every params binding error.
var ErrParams = errors.New("bad params")

// ParamError is one problem with the params given to a run.
type ParamError struct {
	Param string
	Msg   string
	// Kind, when not nil, is the kind of problem besides ErrParams:
	// ErrDuration for a value of a duration param that is not a duration.
	Kind error
}

// Error returns "param NAME: message".
func (e *ParamError) Error() string { return fmt.Sprintf("param %s: %s", e.Param, e.Msg) }

// Unwrap returns ErrParams, and Kind when it is set.
func (e *ParamError) Unwrap() []error {
	if e.Kind != nil {
		return []error{ErrParams, e.Kind}
	}
	return []error{ErrParams}
}

// BindParams checks the given params against the runbook's declarations and
// returns every param's value: given values converted to the declared type
// (text is parsed, as from a command line), defaults for the rest. Every
// problem is reported: unknown params, missing required ones, wrong types,
// values not in the enum or not matching the pattern. Secret values never
// appear in the errors.
func BindParams(p *plan.Plan, given map[string]any) (map[string]any, error) {
	var errs *multierror.Error
	out := make(map[string]any, len(p.Params))
	names := make([]string, 0, len(p.Params))
	for _, prm := range p.Params {
		names = append(names, prm.Name)
	}
	unknown := make([]string, 0)
	for k := range given {
		if p.Param(k) == nil {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		msg := "unknown param (params: " + strings.Join(names, ", ") + ")"
		if s := schema.Suggest(k, names); s != "" {
			msg = fmt.Sprintf("unknown param; did you mean %q?", s)
		}
		errs = multierror.Append(errs, &ParamError{Param: k, Msg: msg})
	}
	for _, prm := range p.Params {
		v, ok := given[prm.Name]
		if !ok {
			switch {
			case prm.HasDefault:
				if pe := checkSecretLen(prm, prm.Default); prm.Secret && pe != nil {
					pe.Msg = "its default: " + pe.Msg
					errs = multierror.Append(errs, pe)
					continue
				}
				out[prm.Name] = prm.Default
			case prm.Required:
				msg := "required"
				if prm.Description != "" {
					msg += " (" + prm.Description + ")"
				}
				errs = multierror.Append(errs, &ParamError{Param: prm.Name, Msg: msg})
			default:
				out[prm.Name] = zero(prm.Type)
			}
			continue
		}
		cv, err := prm.Convert(v)
		if err != nil {
			var kind error
			if prm.Type == plan.TypeDuration && !isDuration(v) {
				kind = ErrDuration
			}
			msg := err.Error()
			if prm.Secret {
				msg = "secret value does not fit: want " + string(prm.Type)
				if len(prm.Enum) > 0 || prm.Pattern != nil {
					msg += " matching its enum or pattern"
				}
			}
			errs = multierror.Append(errs, &ParamError{Param: prm.Name, Msg: msg, Kind: kind})
			continue
		}
		if prm.Secret {
			if pe := checkSecretLen(prm, cv); pe != nil {
				errs = multierror.Append(errs, pe)
				continue
			}
		}
		out[prm.Name] = cv
	}
	if errs != nil {
		errs.ErrorFormat = func(es []error) string {
			lines := make([]string, len(es))
			for i, e := range es {
				lines[i] = e.Error()
			}
			return strings.Join(lines, "\n")
		}
	}
	return out, errs.ErrorOrNil()
}

// isDuration reports whether v is a duration, or text that reads as one.
func isDuration(v any) bool {
	switch t := v.(type) {
	case time.Duration:
		return true
	case string:
		_, err := time.ParseDuration(t)
		return err == nil
	}
	return false
}

// zero is the value of an optional param without default.
func zero(t plan.ParamType) any {
	switch t {
	case plan.TypeBoolean:
		return false
	case plan.TypeInteger:
		return int64(0)
	case plan.TypeNumber:
		return float64(0)
	case plan.TypeList:
		return []any{}
	case plan.TypeObject:
		return map[string]any{}
	case plan.TypeDuration:
		return "0s"
	}
	return ""
}

package runner

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// matchResult is the verdict of an expectation on a value.
type matchResult struct {
	observed any
	unmet    []string
	diff     string
}

// match applies an expectation to v. Matcher operands are resolved by
// resolve. It returns an error only when the expectation cannot be applied
// (a path that does not exist, a reference that cannot be resolved).
func match(e *plan.Expect, v any, resolve plan.Resolver) (matchResult, error) {
	var res matchResult
	if e == nil {
		res.observed = v
		if b, ok := v.(bool); !ok || !b {
			res.unmet = append(res.unmet, "want true, observed "+plan.Brief(v))
		}
		return res, nil
	}
	obs, err := e.Path.Select(v)
	if err != nil {
		return res, fmt.Errorf("path %s: %w", e.Path, err)
	}
	res.observed = obs
	shown := obs
	if e.As == "version" {
		lv, err := actions.ParseLevel(versionText(obs))
		if err != nil {
			res.unmet = append(res.unmet, "as a version: observed "+plan.Brief(obs)+", which is not a version")
			return res, nil
		}
		obs = lv.String()
	}
	for _, m := range e.Matchers {
		ok, why, diff, err := matchOne(m, obs, shown, resolve, e.As)
		if err != nil {
			return res, err
		}
		if !ok {
			res.unmet = append(res.unmet, why)
			if diff != "" && res.diff == "" {
				res.diff = diff
			}
		}
	}
	return res, nil
}

// matchOne applies one matcher to obs; messages show shown, the value as
// observed (obs is what is compared: under `as: version`, its level).
func matchOne(m *plan.Matcher, obs, shown any, resolve plan.Resolver, as string) (ok bool, why, diff string, err error) {
	var arg any
	if m.Arg != nil {
		if arg, err = m.Arg.Eval(resolve); err != nil {
			return false, "", "", err
		}
	}
	if as == "version" {
		if arg, err = asLevels(m.Op, arg); err != nil {
			return false, "", "", err
		}
	}
	switch m.Op {
	case "equals", "not_equals":
		eq := equal(arg, obs)
		if m.Op == "equals" {
			if eq {
				return true, "", "", nil
			}
			if isStructure(arg) || isStructure(obs) {
				diff = cmp.Diff(normalize(arg), normalize(obs))
			}
			return false, fmt.Sprintf("equals %s: observed %s", plan.Brief(arg), plan.Brief(shown)), diff, nil
		}
		if !eq {
			return true, "", "", nil
		}
		return false, fmt.Sprintf("not_equals %s: observed it", plan.Brief(arg)), "", nil
	case "in", "not_in":
		list, isList := arg.([]any)
		if !isList {
			return false, "", "", fmt.Errorf("%s: want a list, got %s", m.Op, plan.TypeName(arg))
		}
		found := false
		for _, e := range list {
			if equal(e, obs) {
				found = true
				break
			}
		}
		if found == (m.Op == "in") {
			return true, "", "", nil
		}
		return false, fmt.Sprintf("%s %s: observed %s", m.Op, plan.Brief(arg), plan.Brief(shown)), "", nil
	case "contains":
		if contains(obs, arg) {
			return true, "", "", nil
		}
		return false, fmt.Sprintf("contains %s: observed %s", plan.Brief(arg), plan.Brief(shown)), "", nil
	case "matches":
		s, isStr := obs.(string)
		if !isStr {
			s = plan.Format(obs)
		}
		if m.Regexp.MatchString(s) {
			return true, "", "", nil
		}
		return false, fmt.Sprintf("matches /%s/: observed %s", m.Regexp, plan.Brief(shown)), "", nil
	case "gt", "gte", "lt", "lte":
		c, err := compare(obs, arg)
		if err != nil {
			return false, fmt.Sprintf("%s %s: %v", m.Op, plan.Brief(arg), err), "", nil
		}
		var ok bool
		switch m.Op {
		case "gt":
			ok = c > 0
		case "gte":
			ok = c >= 0
		case "lt":
			ok = c < 0
		default:
			ok = c <= 0
		}
		if ok {
			return true, "", "", nil
		}
		return false, fmt.Sprintf("%s %s: observed %s", m.Op, plan.Brief(arg), plan.Brief(shown)), "", nil
	case "empty":
		want, _ := arg.(bool)
		if isEmpty(obs) == want {
			return true, "", "", nil
		}
		if want {
			return false, "empty: observed " + plan.Brief(shown), "", nil
		}
		return false, "empty: false: observed an empty value", "", nil
	case "all", "any", "none":
		list, isList := obs.([]any)
		if !isList {
			return false, fmt.Sprintf("%s: want a list, observed %s", m.Op, plan.TypeName(obs)), "", nil
		}
		var first string
		n := 0
		for i, el := range list {
			r, err := match(m.Nested, el, resolve)
			if err != nil {
				return false, "", "", fmt.Errorf("%s [%d]: %w", m.Op, i, err)
			}
			if len(r.unmet) == 0 {
				n++
				if m.Op == "none" && first == "" {
					first = fmt.Sprintf("[%d] %s", i, plan.Brief(el))
				}
			} else if m.Op == "all" && first == "" {
				first = fmt.Sprintf("[%d]: %s", i, strings.Join(r.unmet, "; "))
			}
		}
		switch m.Op {
		case "all":
			return n == len(list), fmt.Sprintf("all: %d of %d do not hold; first %s", len(list)-n, len(list), first), "", nil
		case "any":
			return n > 0, fmt.Sprintf("any: none of %d elements holds", len(list)), "", nil
		default:
			return n == 0, fmt.Sprintf("none: %d of %d elements hold; first %s", n, len(list), first), "", nil
		}
	}
	return false, "", "", fmt.Errorf("unknown matcher %q", m.Op)
}

// asLevels reads the operand of a matcher under `as: version`: the level of
// a version (6.3.11.0-b7 reads 6.3.11), or of each element of the list of
// in and not_in. Other matchers' operands are left as they are.
func asLevels(op string, arg any) (any, error) {
	level := func(v any) (any, error) {
		lv, err := actions.ParseLevel(versionText(v))
		if err != nil {
			return nil, fmt.Errorf("%s (as a version): operand %s: %w", op, plan.Brief(v), err)
		}
		return lv.String(), nil
	}
	switch op {
	case "equals", "not_equals", "gt", "gte", "lt", "lte":
		return level(arg)
	case "in", "not_in":
		list, ok := arg.([]any)
		if !ok {
			return arg, nil // matchOne reports it
		}
		out := make([]any, len(list))
		for i, e := range list {
			v, err := level(e)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return arg, nil
}

func isStructure(v any) bool {
	switch v.(type) {
	case []any, map[string]any:
		return true
	}
	return false
}

// numKey is a number as a structure comparison sees it: its exact value
// as text, so that 3, int64(3) and 3.0 are equal and 2^53+1 is not 2^53.
type numKey string

// normalize turns every number into its numKey, and typed slices and maps
// into []any and map[string]any.
func normalize(v any) any {
	if n, ok := number(v); ok {
		return numKey(n.Text('g', -1))
	}
	switch t := v.(type) {
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalize(e)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = normalize(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = e
		}
		return out
	}
	return v
}

// equal is deep equality with numbers compared by exact value.
func equal(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	if na, ok := number(a); ok {
		nb, ok := number(b)
		return ok && na.Cmp(nb) == 0
	}
	return cmp.Equal(normalize(a), normalize(b))
}

// number returns the exact value of a number of any Go kind (integers
// beyond 2^53 included: no float64 round trip), or false.
func number(v any) (*big.Float, bool) {
	f := new(big.Float).SetPrec(256)
	switch n := v.(type) {
	case int:
		return f.SetInt64(int64(n)), true
	case int8:
		return f.SetInt64(int64(n)), true
	case int16:
		return f.SetInt64(int64(n)), true
	case int32:
		return f.SetInt64(int64(n)), true
	case int64:
		return f.SetInt64(n), true
	case uint:
		return f.SetUint64(uint64(n)), true
	case uint8:
		return f.SetUint64(uint64(n)), true
	case uint16:
		return f.SetUint64(uint64(n)), true
	case uint32:
		return f.SetUint64(uint64(n)), true
	case uint64:
		return f.SetUint64(n), true
	case float32:
		if math.IsNaN(float64(n)) {
			return nil, false
		}
		return f.SetFloat64(float64(n)), true
	case float64:
		if math.IsNaN(n) {
			return nil, false
		}
		return f.SetFloat64(n), true
	}
	return nil, false
}

func contains(obs, arg any) bool {
	switch o := obs.(type) {
	case string:
		s, ok := arg.(string)
		if !ok {
			s = plan.Format(arg)
		}
		return strings.Contains(o, s)
	case []any:
		for _, e := range o {
			if equal(e, arg) {
				return true
			}
		}
	case map[string]any:
		k, ok := arg.(string)
		if ok {
			_, has := o[k]
			return has
		}
	}
	return false
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

// compare orders numbers by value and dotted versions (6.3.10.1) part by
// part. It returns <0, 0 or >0.
func compare(a, b any) (int, error) {
	na, aNum := number(a)
	nb, bNum := number(b)
	if aNum && bNum {
		return na.Cmp(nb), nil
	}
	va, errA := actions.ParseLevel(versionText(a))
	vb, errB := actions.ParseLevel(versionText(b))
	if errA != nil || errB != nil {
		return 0, fmt.Errorf("cannot compare %s with %s: want numbers or dotted versions", plan.Brief(a), plan.Brief(b))
	}
	return va.Compare(vb), nil
}

func versionText(v any) string {
	if s, ok := v.(string); ok {
		return strings.TrimPrefix(strings.TrimSpace(s), "v")
	}
	if n, ok := number(v); ok && n.IsInt() {
		return n.Text('f', 0)
	}
	return plan.Format(v)
}

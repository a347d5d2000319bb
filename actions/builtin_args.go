package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// This file holds the argument parsing shared by the built-ins. Arguments
// arrive resolved as JSON-like values; integers may be int, int64, float64
// (from JSON) or json.Number, so every helper accepts all of them and names
// the argument in its error. Argument errors are permanent: retrying cannot
// fix them.

// argError returns a permanent error about the argument name.
func argError(name, format string, args ...any) error {
	return Permanent(fmt.Errorf("argument %q: %s", name, fmt.Sprintf(format, args...)))
}

// typeName describes the type of a JSON-like value for an error message.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "an integer"
	case float32, float64, json.Number:
		return "a number"
	case []any, []string:
		return "a list"
	case map[string]any, map[string]string:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// lookup returns the argument name and whether it is present (a nil value
// counts as absent).
func lookup(args map[string]any, name string) (any, bool) {
	v, ok := args[name]
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// reqString returns the required string argument name.
func reqString(args map[string]any, name string) (string, error) {
	v, ok := lookup(args, name)
	if !ok {
		return "", argError(name, "is required")
	}
	s, ok := v.(string)
	if !ok {
		return "", argError(name, "want a string, got %s", typeName(v))
	}
	return s, nil
}

// optString returns the string argument name, or def when it is absent.
func optString(args map[string]any, name, def string) (string, bool, error) {
	v, ok := lookup(args, name)
	if !ok {
		return def, false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, argError(name, "want a string, got %s", typeName(v))
	}
	return s, true, nil
}

// toInt converts a JSON-like number to an int when it is integral.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		if n < math.MinInt || n > math.MaxInt {
			return 0, false
		}
		return int(n), true
	case uint:
		if n > math.MaxInt {
			return 0, false
		}
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		if n > math.MaxInt {
			return 0, false
		}
		return int(n), true
	case float32:
		return floatToInt(float64(n))
	case float64:
		return floatToInt(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return toInt(i)
		}
		if f, err := n.Float64(); err == nil {
			return floatToInt(f)
		}
	}
	return 0, false
}

func floatToInt(f float64) (int, bool) {
	const maxExact = 1 << 53 // beyond this a float64 does not hold every integer
	if f != math.Trunc(f) || f < -maxExact || f > maxExact {
		return 0, false
	}
	return int(f), true
}

// optIntList returns the list of integers name, or def when it is absent.
func optIntList(args map[string]any, name string, def []int) ([]int, error) {
	v, ok := lookup(args, name)
	if !ok {
		return def, nil
	}
	var items []any
	switch l := v.(type) {
	case []any:
		items = l
	case []int:
		return append([]int(nil), l...), nil
	case []int64:
		items = make([]any, len(l))
		for i, n := range l {
			items[i] = n
		}
	default:
		return nil, argError(name, "want a list of integers, got %s", typeName(v))
	}
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := toInt(it)
		if !ok {
			return nil, argError(name, "element %d: want an integer, got %s", i, typeName(it))
		}
		out[i] = n
	}
	return out, nil
}

// stringList returns the list of strings name; present reports whether the
// argument was given.
func stringList(args map[string]any, name string) (list []string, present bool, err error) {
	v, ok := lookup(args, name)
	if !ok {
		return nil, false, nil
	}
	switch l := v.(type) {
	case []string:
		return append([]string(nil), l...), true, nil
	case []any:
		out := make([]string, len(l))
		for i, it := range l {
			s, ok := it.(string)
			if !ok {
				return nil, true, argError(name, "element %d: want a string, got %s", i, typeName(it))
			}
			out[i] = s
		}
		return out, true, nil
	}
	return nil, true, argError(name, "want a list of strings, got %s", typeName(v))
}

// stringMap returns the object of strings name, or nil when it is absent.
func stringMap(args map[string]any, name string) (map[string]string, error) {
	v, ok := lookup(args, name)
	if !ok {
		return nil, nil
	}
	switch m := v.(type) {
	case map[string]string:
		out := make(map[string]string, len(m))
		for k, s := range m {
			out[k] = s
		}
		return out, nil
	case map[string]any:
		out := make(map[string]string, len(m))
		for _, k := range sortedKeys(m) {
			s, ok := m[k].(string)
			if !ok {
				return nil, argError(name, "key %q: want a string, got %s", k, typeName(m[k]))
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, argError(name, "want an object of strings, got %s", typeName(v))
}

// optDuration returns the duration argument name (a Go duration string such
// as "30s"), or def when it is absent. Negative durations are refused.
func optDuration(args map[string]any, name string, def time.Duration) (time.Duration, error) {
	v, ok := lookup(args, name)
	if !ok {
		return def, nil
	}
	var d time.Duration
	switch x := v.(type) {
	case time.Duration:
		d = x
	case string:
		var err error
		d, err = time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return 0, argError(name, "want a duration such as \"30s\" or \"5m\", got %q", x)
		}
	default:
		return 0, argError(name, "want a duration string such as \"30s\", got %s", typeName(v))
	}
	if d < 0 {
		return 0, argError(name, "must not be negative, got %s", d)
	}
	return d, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// clockOf returns the call's clock, or the wall clock when it has none.
func clockOf(call *Call) Clock {
	if call != nil && call.Clock != nil {
		return call.Clock
	}
	return RealClock{}
}

// ctxError returns the error of a done ctx. It wraps ctx.Err() and, when it
// differs, the cause: a context cancelled by [Clock.WithTimeout] on a
// virtual clock reports context.Canceled as Err and
// context.DeadlineExceeded as its cause, and callers test for either.
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	cause := context.Cause(ctx)
	if cause == nil || cause == err {
		return err
	}
	return &causeError{err: err, cause: cause}
}

type causeError struct{ err, cause error }

func (e *causeError) Error() string   { return e.cause.Error() }
func (e *causeError) Unwrap() []error { return []error{e.err, e.cause} }

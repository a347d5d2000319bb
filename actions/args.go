package actions

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The argument readers: see "Reading arguments" in the package
// documentation.

// ArgError is the error of an argument that is missing or not valid. Its
// message is `argument "Name": Err`. An ArgError is permanent: errors.Is
// reports it as [ErrPermanent].
type ArgError struct {
	Name string // the argument's name
	Err  error  // what is wrong with it, such as "is required"
}

// Error returns `argument "Name": Err`.
func (e *ArgError) Error() string { return fmt.Sprintf("argument %q: %v", e.Name, e.Err) }

// Unwrap returns e.Err.
func (e *ArgError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrPermanent]: retrying cannot fix an
// argument.
func (e *ArgError) Is(target error) bool { return target == ErrPermanent }

// ArgErrorf returns an [*ArgError] about the argument name whose Err is
// fmt.Errorf(format, a...): ArgErrorf("level", "want debug or info, got %q",
// level).
func ArgErrorf(name, format string, a ...any) error {
	return &ArgError{Name: name, Err: fmt.Errorf(format, a...)}
}

// ArgTypeError returns an [*ArgError] about the argument name whose value
// got is not of the type described by want: ArgTypeError("port",
// "an integer", "x") says `argument "port": want an integer, got a string`.
func ArgTypeError(name, want string, got any) error {
	return ArgErrorf(name, "want %s, got %s", want, typeName(got))
}

// HasArg reports whether args holds name with a value other than null.
func HasArg(args map[string]any, name string) bool {
	_, ok := arg(args, name)
	return ok
}

// StringArg returns the required string argument name. The empty string is
// a string: see [NonBlankStringArg] to refuse it.
func StringArg(args map[string]any, name string) (string, error) {
	v, ok := arg(args, name)
	if !ok {
		return "", ArgErrorf(name, "is required")
	}
	s, ok := v.(string)
	if !ok {
		return "", ArgTypeError(name, "a string", v)
	}
	return s, nil
}

// NonBlankStringArg is [StringArg] that also refuses a string that is empty
// or only white space ("is empty"). It returns the string as given.
func NonBlankStringArg(args map[string]any, name string) (string, error) {
	s, err := StringArg(args, name)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", ArgErrorf(name, "is empty")
	}
	return s, nil
}

// OptStringArg returns the string argument name, or def when it is missing.
func OptStringArg(args map[string]any, name, def string) (string, error) {
	if !HasArg(args, name) {
		return def, nil
	}
	return StringArg(args, name)
}

// IntArg returns the required integer argument name. It accepts any Go
// integer type that fits an int, an integral float (up to 2^53) or
// json.Number, and a string of decimal digits such as "42".
func IntArg(args map[string]any, name string) (int, error) {
	v, ok := arg(args, name)
	if !ok {
		return 0, ArgErrorf(name, "is required")
	}
	if s, isString := v.(string); isString {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return n, nil
		}
	} else if n, ok := toInt(v); ok {
		return n, nil
	}
	return 0, ArgTypeError(name, "an integer", v)
}

// OptIntsArg returns the list of integers name, or def when it is missing.
// Unlike [IntArg], it takes numbers only, not strings of digits. An empty
// list is returned as such: the caller decides whether it makes sense.
func OptIntsArg(args map[string]any, name string, def []int) ([]int, error) {
	v, ok := arg(args, name)
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
		return nil, ArgTypeError(name, "a list of integers", v)
	}
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := toInt(it)
		if !ok {
			return nil, ArgErrorf(name, "element %d: want an integer, got %s", i, typeName(it))
		}
		out[i] = n
	}
	return out, nil
}

// BoolArg returns the required boolean argument name. It accepts a bool
// and the strings strconv.ParseBool takes, such as "true" and "false".
func BoolArg(args map[string]any, name string) (bool, error) {
	v, ok := arg(args, name)
	if !ok {
		return false, ArgErrorf(name, "is required")
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b, nil
		}
	}
	return false, ArgTypeError(name, "a boolean", v)
}

// OptBoolArg returns the boolean argument name as [BoolArg] reads it, or
// def when it is missing.
func OptBoolArg(args map[string]any, name string, def bool) (bool, error) {
	if !HasArg(args, name) {
		return def, nil
	}
	return BoolArg(args, name)
}

// DurationArg returns the required duration argument name: a Go duration
// string such as "30s" or "1h30m", or a time.Duration. A negative duration
// is refused; zero is not.
func DurationArg(args map[string]any, name string) (time.Duration, error) {
	v, ok := arg(args, name)
	if !ok {
		return 0, ArgErrorf(name, "is required")
	}
	var d time.Duration
	switch x := v.(type) {
	case time.Duration:
		d = x
	case string:
		var err error
		if d, err = time.ParseDuration(strings.TrimSpace(x)); err != nil {
			return 0, ArgErrorf(name, "want a duration such as \"30s\" or \"5m\", got %q", x)
		}
	default:
		return 0, ArgTypeError(name, `a duration string such as "30s"`, v)
	}
	if d < 0 {
		return 0, ArgErrorf(name, "must not be negative, got %s", d)
	}
	return d, nil
}

// OptDurationArg returns the duration argument name as [DurationArg] reads
// it, or def when it is missing.
func OptDurationArg(args map[string]any, name string, def time.Duration) (time.Duration, error) {
	if !HasArg(args, name) {
		return def, nil
	}
	return DurationArg(args, name)
}

// StringsArg returns the required list of strings name, as a new slice
// (nil for an empty list).
func StringsArg(args map[string]any, name string) ([]string, error) {
	v, ok := arg(args, name)
	if !ok {
		return nil, ArgErrorf(name, "is required")
	}
	switch l := v.(type) {
	case []string:
		return append([]string(nil), l...), nil
	case []any:
		var out []string
		for i, it := range l {
			s, ok := it.(string)
			if !ok {
				return nil, ArgErrorf(name, "element %d: want a string, got %s", i, typeName(it))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, ArgTypeError(name, "a list of strings", v)
}

// OptStringsArg returns the list of strings name as a new slice, or def
// when it is missing.
func OptStringsArg(args map[string]any, name string, def []string) ([]string, error) {
	if !HasArg(args, name) {
		return def, nil
	}
	return StringsArg(args, name)
}

// OptStringMapArg returns the object of strings name as a new map, or nil
// when it is missing. Of several values that are not strings, the error
// names the first key in sorted order.
func OptStringMapArg(args map[string]any, name string) (map[string]string, error) {
	v, ok := arg(args, name)
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
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s, ok := m[k].(string)
			if !ok {
				return nil, ArgErrorf(name, "key %q: want a string, got %s", k, typeName(m[k]))
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, ArgTypeError(name, "an object of strings", v)
}

// arg returns the argument name and whether it is present; null counts as
// absent.
func arg(args map[string]any, name string) (any, bool) {
	v, ok := args[name]
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// typeName describes the type of a JSON-like value for an error message,
// with its article: "a string", "an integer", "null". (plan.TypeName says
// the same without the article, and plan imports this package.)
func typeName(v any) string {
	switch n := TypeName(v); n {
	case "null":
		return n
	case "integer", "object":
		return "an " + n
	case "boolean", "number", "string", "list":
		return "a " + n
	default:
		return n
	}
}

// TypeName names the type of a decoded YAML or JSON value as a runbook's
// author knows it: null, boolean, integer, number, string, list, object
// (else its Go type).
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "integer"
	case float32, float64, json.Number:
		return "number"
	case []any, []string:
		return "list"
	case map[string]any, map[string]string:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// toInt converts a JSON-like number to an int when it is integral and fits.
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

// DurationPattern is the JSON Schema pattern of a duration argument: a Go
// duration ("30s", "1h30m", "250ms") or a whole reference ("${...}"). It is
// the one copy for every schema that takes a duration; the runbook schema
// (schema/runbook.schema.json) is tested to hold the same.
const DurationPattern = `^(\$\{[^}]+\}|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

// DurationPatternJSON is [DurationPattern] escaped for a JSON string, for
// argument schemas written as Go string literals.
var DurationPatternJSON = strings.Trim(string(mustJSON(DurationPattern)), `"`)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Normalize turns a value decoded by encoding/json (with or without
// UseNumber) or yaml.v3 into the values csmplan works with, in place for
// lists and maps: integral numbers (yaml.v3's int, encoding/json's float64,
// a json.Number) become int64, other numbers float64 (a json.Number too
// large for either stays its text).
func Normalize(v any) any {
	switch t := v.(type) {
	case int:
		return int64(t)
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return t.String()
	case []any:
		for i := range t {
			t[i] = Normalize(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = Normalize(t[k])
		}
	}
	return v
}

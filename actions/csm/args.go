package csm

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/csmplan/csmplan/actions"
)

// Arguments and target fields arrive resolved as JSON-like values: integers
// may be int, int64, float64 or json.Number, booleans may be strings
// "true"/"false" (a reference formatted into a string). The helpers accept
// all of them and name the argument in their errors, which are permanent:
// retrying cannot fix a bad argument.

func argError(name, format string, args ...any) error {
	return actions.Permanent(fmt.Errorf("argument %q: %s", name, fmt.Sprintf(format, args...)))
}

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

func present(m map[string]any, name string) (any, bool) {
	v, ok := m[name]
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

func reqString(args map[string]any, name string) (string, error) {
	v, ok := present(args, name)
	if !ok {
		return "", argError(name, "is required")
	}
	s, ok := v.(string)
	if !ok {
		return "", argError(name, "want a string, got %s", typeName(v))
	}
	if strings.TrimSpace(s) == "" {
		return "", argError(name, "is empty")
	}
	return s, nil
}

func optString(args map[string]any, name string) (string, error) {
	v, ok := present(args, name)
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", argError(name, "want a string, got %s", typeName(v))
	}
	return s, nil
}

// toInt converts a JSON-like integer, or a string of digits, to int.
func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int32:
		return int(x), true
	case int64:
		if x < math.MinInt || x > math.MaxInt {
			return 0, false
		}
		return int(x), true
	case uint32:
		return int(x), true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int(x), true
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			return 0, false
		}
		return toInt(i)
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		return i, err == nil
	}
	return 0, false
}

func reqInt(args map[string]any, name string) (int, error) {
	v, ok := present(args, name)
	if !ok {
		return 0, argError(name, "is required")
	}
	i, ok := toInt(v)
	if !ok {
		return 0, argError(name, "want an integer, got %s", typeName(v))
	}
	return i, nil
}

// toBool accepts a boolean or the strings "true"/"false".
func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	}
	return false, false
}

func reqBool(args map[string]any, name string) (bool, error) {
	v, ok := present(args, name)
	if !ok {
		return false, argError(name, "is required")
	}
	b, ok := toBool(v)
	if !ok {
		return false, argError(name, "want a boolean, got %s", typeName(v))
	}
	return b, nil
}

func optBool(args map[string]any, name string) (bool, error) {
	if _, ok := present(args, name); !ok {
		return false, nil
	}
	return reqBool(args, name)
}

func stringList(args map[string]any, name string) ([]string, error) {
	v, ok := present(args, name)
	if !ok {
		return nil, argError(name, "is required")
	}
	var out []string
	switch x := v.(type) {
	case []string:
		out = append(out, x...)
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, argError(name, "element %d: want a string, got %s", i, typeName(e))
			}
			out = append(out, s)
		}
	default:
		return nil, argError(name, "want a list of strings, got %s", typeName(v))
	}
	if len(out) == 0 || out[0] == "" {
		return nil, argError(name, "want at least the program to run as the first element")
	}
	return out, nil
}

func stringMap(args map[string]any, name string) (map[string]string, error) {
	v, ok := present(args, name)
	if !ok {
		return map[string]string{}, nil
	}
	out := map[string]string{}
	switch x := v.(type) {
	case map[string]string:
		for k, s := range x {
			out[k] = s
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s, ok := x[k].(string)
			if !ok {
				return nil, argError(name, "key %q: want a string, got %s", k, typeName(x[k]))
			}
			out[k] = s
		}
	default:
		return nil, argError(name, "want an object of strings, got %s", typeName(v))
	}
	for k := range out {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, argError(name, "variable name %q is not valid", k)
		}
	}
	return out, nil
}

// optDuration returns the positive duration argument name, or def.
func optDuration(args map[string]any, name string, def time.Duration) (time.Duration, error) {
	v, ok := present(args, name)
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
			return 0, argError(name, "want a duration such as \"30s\" or \"60m\", got %q", x)
		}
	default:
		return 0, argError(name, "want a duration string such as \"30s\", got %s", typeName(v))
	}
	if d <= 0 {
		return 0, argError(name, "must be positive, got %s", d)
	}
	return d, nil
}

// JSON Schema fragments of the arguments.
const (
	durationPattern = `^(\\$\\{[^}]+\\}|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

	schemaTarget = `"target": {
      "type": "string",
      "minLength": 1,
      "description": "Name of the runbook target (under targets:) that is the CSM server: its host, port, username, password, ca_file or fingerprint (or insecure), and ssh for commands run on its host."
    }`
)

func schemaDuration(what string, def string) string {
	return `{"type": "string", "pattern": "` + durationPattern + `", "default": "` + def + `", "description": ` + strconv.Quote(what+" Default "+def+".") + `}`
}

const schemaArgv = `{
      "type": "array",
      "minItems": 1,
      "prefixItems": [{"type": "string", "minLength": 1}],
      "items": {"type": "string"},
      "description": %s
    }`

const schemaEnv = `{
      "type": "object",
      "additionalProperties": {"type": "string"},
      "propertyNames": {"pattern": "^[^=\\x00]+$"},
      "description": %s
    }`

// schemaObject builds the schema of an action's arguments: an object with
// the given properties (JSON members, target first), none other allowed.
func schemaObject(description string, required []string, props ...string) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": false, "description": `)
	b.WriteString(strconv.Quote(description))
	b.WriteString(`, "required": [`)
	for i, r := range required {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(r))
	}
	b.WriteString(`], "properties": {`)
	b.WriteString(strings.Join(props, ", "))
	b.WriteString(`}}`)
	return json.RawMessage(b.String())
}

func prop(name, schema string) string { return strconv.Quote(name) + ": " + schema }

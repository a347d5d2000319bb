package actionstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// Args matches the arguments of a call: each key names an argument that
// the call must have, with a value equal to the key's value. Arguments that
// Args does not name are not compared, so an empty Args matches every call.
// Values are compared as JSON values: numbers by value (1 equals int64(1)
// and 1.0), lists element by element, maps key by key (all their keys);
// [Any], as a value or anywhere inside one, matches any value.
//
//	actionstest.Args{"target": "primary"}                     // any call on the primary
//	actionstest.Args{"target": "secondary", "op": "stop"}     // and op stop
//	actionstest.Args{"argv": []any{"/opt/setup.bin", actionstest.Any}} // any second word
//
// Args is used by [FakeAction.On], [FakeProbe.On] and [Recorder.CallsTo].
type Args map[string]any

// Any, as a value in [Args], matches any value of a present argument (as
// Temporal's mock.Anything does); inside a list or a map it matches any one
// element.
const Any = wildcard("actionstest.Any")

// wildcard is the type of [Any].
type wildcard string

// Match reports whether args holds every argument of a, each with a
// matching value.
func (a Args) Match(args map[string]any) bool {
	for k, want := range a {
		got, ok := args[k]
		if !ok || !matchValue(want, got) {
			return false
		}
	}
	return true
}

// String shows a as JSON with its keys sorted, and [Any] as <any>:
// {"op":"stop","target":<any>}.
func (a Args) String() string {
	if a == nil {
		return "{}"
	}
	return showValue(map[string]any(a))
}

// matchValue compares a wanted value, which may hold Any, with a got one,
// as JSON values.
func matchValue(want, got any) bool {
	if w, ok := want.(wildcard); ok && w == Any {
		return true
	}
	want, got = jsonish(want), jsonish(got)
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !matchValue(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !matchValue(w[i], g[i]) {
				return false
			}
		}
		return true
	case int64:
		switch g := got.(type) {
		case int64:
			return w == g
		case float64:
			return float64(w) == g
		}
		return false
	case float64:
		switch g := got.(type) {
		case int64:
			return w == float64(g)
		case float64:
			return w == g
		}
		return false
	}
	return reflect.DeepEqual(want, got)
}

// jsonish converts the Go forms a test may write (Args, int, []string,
// map[string]string, ...) to the JSON-like values of actions.Call.Args:
// map[string]any, []any, int64, float64. Other values are returned as they
// are.
func jsonish(v any) any {
	switch x := v.(type) {
	case Args:
		return map[string]any(x)
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x)
		}
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case float32:
		return float64(x)
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			out[k] = s
		}
		return out
	}
	return v
}

// showValue formats a JSON-like value compactly, keys sorted, Any as <any>.
func showValue(v any) string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

func writeValue(b *strings.Builder, v any) {
	if w, ok := v.(wildcard); ok && w == Any {
		b.WriteString("<any>")
		return
	}
	switch x := jsonish(v).(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, k)
			b.WriteByte(':')
			writeValue(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	default:
		writeJSON(b, x)
	}
}

// writeJSON writes v as JSON, without escaping <, > and &: control
// characters are escaped, so that what a call was given shows as text.
func writeJSON(b *strings.Builder, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(b, "%q", fmt.Sprint(v))
		return
	}
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

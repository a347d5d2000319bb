package interpreter

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/csmplan/csmplan/runner"
)

// Value is a runbook value (nil, bool, int64, float64, string,
// time.Duration, []any, map[string]any) in a form that JSON carries
// without losing its type: Temporal's default data converter is JSON, on
// which 3 (an int64) would come back as 3.0 (a float64), and the run's
// reports and matchers would see a different value.
type Value struct {
	// K is the kind: "" nil, "b" bool, "i" int64, "f" float64, "s"
	// string, "d" duration, "l" list, "m" map.
	K string           `json:"k,omitempty"`
	B bool             `json:"b,omitempty"`
	I int64            `json:"i,omitempty"`
	F float64          `json:"f,omitempty"`
	S string           `json:"s,omitempty"`
	L []Value          `json:"l,omitempty"`
	M map[string]Value `json:"m,omitempty"`
}

// Encode returns v as a Value. Integers of other Go types are int64s,
// float32s are float64s; other types are an error.
func Encode(v any) (Value, error) {
	switch t := v.(type) {
	case nil:
		return Value{}, nil
	case bool:
		return Value{K: "b", B: t}, nil
	case int64:
		return Value{K: "i", I: t}, nil
	case int:
		return Value{K: "i", I: int64(t)}, nil
	case int32:
		return Value{K: "i", I: int64(t)}, nil
	case float64:
		return Value{K: "f", F: t}, nil
	case float32:
		return Value{K: "f", F: float64(t)}, nil
	case string:
		return Value{K: "s", S: t}, nil
	case time.Duration:
		return Value{K: "d", I: int64(t)}, nil
	case []any:
		l := make([]Value, len(t))
		for i, e := range t {
			var err error
			if l[i], err = Encode(e); err != nil {
				return Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return Value{K: "l", L: l}, nil
	case map[string]any:
		m := make(map[string]Value, len(t))
		for k, e := range t {
			ev, err := Encode(e)
			if err != nil {
				return Value{}, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = ev
		}
		return Value{K: "m", M: m}, nil
	}
	return Value{}, fmt.Errorf("a %T is not a runbook value", v)
}

// Decode returns the Go value of v.
func (v Value) Decode() any {
	switch v.K {
	case "b":
		return v.B
	case "i":
		return v.I
	case "f":
		return v.F
	case "s":
		return v.S
	case "d":
		return time.Duration(v.I)
	case "l":
		l := make([]any, len(v.L))
		for i, e := range v.L {
			l[i] = e.Decode()
		}
		return l
	case "m":
		m := make(map[string]any, len(v.M))
		for k, e := range v.M {
			m[k] = e.Decode()
		}
		return m
	}
	return nil
}

// EncodeMap encodes a map of values; nil stays nil.
func EncodeMap(m map[string]any) (map[string]Value, error) {
	if m == nil {
		return nil, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]Value, len(m))
	for _, k := range keys {
		v, err := Encode(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

// DecodeMap decodes a map of values; nil stays nil.
func DecodeMap(m map[string]Value) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v.Decode()
	}
	return out
}

// Result is what the workflow returns: the run's report and its error
// message. It travels as JSON with the report's values (outputs and
// observations) typed, so that the report decoded is the one the run made.
type Result struct {
	Report *runner.Report
	// Error is the run's error message, "" when it succeeded.
	Error string
}

type wireResult struct {
	Report   *runner.Report
	Error    string             `json:",omitempty"`
	Outputs  []map[string]Value `json:",omitempty"` // by step
	Observed []Value            `json:",omitempty"` // by condition result, in walk order
}

// conditions calls f with every condition result of the report, in a
// fixed order.
func conditions(rep *runner.Report, f func(*runner.ConditionResult)) {
	for i := range rep.Steps {
		s := &rep.Steps[i]
		if s.When != nil {
			f(s.When)
		}
		for j := range s.Pre {
			f(&s.Pre[j])
		}
		for j := range s.Post {
			f(&s.Post[j])
		}
		if s.Undo != nil {
			for j := range s.Undo.Verify {
				f(&s.Undo.Verify[j])
			}
		}
	}
}

// MarshalJSON encodes the result with its values typed.
func (r Result) MarshalJSON() ([]byte, error) {
	w := wireResult{Report: r.Report, Error: r.Error}
	if r.Report != nil {
		w.Outputs = make([]map[string]Value, len(r.Report.Steps))
		for i, s := range r.Report.Steps {
			m, err := EncodeMap(s.Outputs)
			if err != nil {
				return nil, fmt.Errorf("step %s: outputs: %w", s.ID, err)
			}
			w.Outputs[i] = m
		}
		var err error
		conditions(r.Report, func(c *runner.ConditionResult) {
			v, e := Encode(c.Observed)
			if e != nil && err == nil {
				err = fmt.Errorf("condition %s: observed: %w", c.Condition, e)
			}
			w.Observed = append(w.Observed, v)
		})
		if err != nil {
			return nil, err
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON encoded.
func (r *Result) UnmarshalJSON(b []byte) error {
	var w wireResult
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	r.Report, r.Error = w.Report, w.Error
	if r.Report == nil {
		return nil
	}
	for i := range r.Report.Steps {
		if i < len(w.Outputs) {
			r.Report.Steps[i].Outputs = DecodeMap(w.Outputs[i])
		}
	}
	n := 0
	conditions(r.Report, func(c *runner.ConditionResult) {
		if n < len(w.Observed) {
			c.Observed = w.Observed[n].Decode()
		}
		n++
	})
	return nil
}

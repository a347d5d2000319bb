package plan

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/actions"
)

// Convert returns v as a value of the param's type, then checks it. A
// string (as given on a command line) is parsed: integers, numbers and
// booleans from their text, durations checked, lists and objects from JSON
// or YAML flow syntax ("[a, b]", "{k: v}"). Values of the right type pass
// as they are.
func (p *Param) Convert(v any) (any, error) {
	if s, ok := v.(string); ok {
		var err error
		if v, err = fromText(p.Type, s); err != nil {
			return nil, err
		}
	}
	if i, ok := v.(int); ok {
		v = int64(i)
	}
	if f, ok := v.(float64); ok && p.Type == TypeInteger && f == float64(int64(f)) {
		v = int64(f)
	}
	if err := p.Check(v); err != nil {
		return nil, err
	}
	return v, nil
}

func fromText(t ParamType, s string) (any, error) {
	switch t {
	case TypeInteger:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return i, nil
	case TypeNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case TypeBoolean:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean: want true or false", s)
		}
		return b, nil
	case TypeList, TypeObject:
		var v any
		if err := json.Unmarshal([]byte(s), &v); err == nil {
			return Normalize(v), nil
		}
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) == 0 {
			return nil, fmt.Errorf("%q is not %s: write it as JSON or YAML flow syntax such as %s", s, article(string(t)), map[ParamType]string{TypeList: "[a, b]", TypeObject: "{key: value}"}[t])
		}
		if alias, msg := aliasProblem(&n); alias != nil {
			return nil, fmt.Errorf("%q: %s", s, msg)
		}
		d := &decoder{p: &problems{}}
		v = d.decode(n.Content[0], &Value{})
		return v, nil
	}
	return s, nil
}

// Normalize turns a value decoded by encoding/json or yaml.v3 into the
// values the loader makes: [actions.Normalize].
func Normalize(v any) any { return actions.Normalize(v) }

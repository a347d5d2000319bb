package actions

import (
	"context"
	"encoding/json"
)

var valueSpec = Spec{
	Name:    "value",
	Summary: "Observe the value given, typically a reference such as ${vars.x}",
	Args: json.RawMessage(`{
  "type": "object",
  "description": "Arguments of the value probe.",
  "additionalProperties": false,
  "required": ["value"],
  "properties": {
    "value": {"description": "Any value, references resolved; it is the observation."}
  }
}`),
}

// valueProbe observes its value argument.
type valueProbe struct{}

var _ Probe = valueProbe{}

// Observe returns the value argument as given.
func (valueProbe) Observe(ctx context.Context, call *Call) (any, error) {
	if err := ContextError(ctx); err != nil {
		return nil, err
	}
	v, ok := call.Args["value"]
	if !ok {
		return nil, ArgErrorf("value", "is required")
	}
	return v, nil
}

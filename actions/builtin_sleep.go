package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

var sleepSpec = Spec{
	Name:    "sleep",
	Summary: "Wait for a fixed time on the run's clock",
	Args: json.RawMessage(`{
  "type": "object",
  "description": "Arguments of the sleep action.",
  "additionalProperties": false,
  "required": ["duration"],
  "properties": {
    "duration": {
      "type": "string",
      "pattern": "` + DurationPatternJSON + `",
      "description": "How long to wait, as a Go duration such as \"30s\", \"5m\" or \"1h30m\"."
    }
  }
}`),
	Mutates: false,
}

// sleepAction waits on Call.Clock.
type sleepAction struct{}

var (
	_ Action    = sleepAction{}
	_ Validator = sleepAction{}
)

func parseSleep(args map[string]any) (time.Duration, error) {
	return DurationArg(args, "duration")
}

// Validate checks the arguments.
func (sleepAction) Validate(args map[string]any) error {
	_, err := parseSleep(args)
	return err
}

// Run waits for the duration, or until ctx is done.
func (sleepAction) Run(ctx context.Context, call *Call) (Outputs, error) {
	if err := ContextError(ctx); err != nil {
		return nil, err
	}
	d, err := parseSleep(call.Args)
	if err != nil {
		return nil, err
	}
	if err := clockOf(call).Sleep(ctx, d); err != nil {
		if ctx.Err() != nil {
			err = ContextError(ctx)
		}
		return nil, fmt.Errorf("sleep %s: %w", d, err)
	}
	return nil, nil
}

package actions

import (
	"context"
	"encoding/json"
)

var logSpec = Spec{
	Name:    "log",
	Summary: "Report a message to the run's observers",
	Args: json.RawMessage(`{
  "type": "object",
  "description": "Arguments of the log action.",
  "additionalProperties": false,
  "required": ["message"],
  "properties": {
    "message": {"type": "string", "description": "The message to report. References are resolved; secrets are redacted."},
    "level": {"type": "string", "enum": ["debug", "info", "warn", "error"], "default": "info", "description": "Severity of the message: debug, info (the default), warn or error."}
  }
}`),
	Outputs: []Output{
		{Name: "message", Type: "string", Description: "The message as reported, references resolved."},
	},
	Mutates: false,
}

// logAction reports its message through Call.Logf.
type logAction struct{}

var (
	_ Action    = logAction{}
	_ Validator = logAction{}
)

func parseLog(args map[string]any) (msg, level string, err error) {
	msg, err = StringArg(args, "message")
	if err != nil {
		return "", "", err
	}
	level, err = OptStringArg(args, "level", "info")
	if err != nil {
		return "", "", err
	}
	switch level {
	case "debug", "info", "warn", "error":
	default:
		return "", "", ArgErrorf("level", "want debug, info, warn or error, got %q", level)
	}
	return msg, level, nil
}

// Validate checks the arguments.
func (logAction) Validate(args map[string]any) error {
	_, _, err := parseLog(args)
	return err
}

// Run reports the message. A level other than info prefixes it, as in
// "warn: disk almost full".
func (logAction) Run(ctx context.Context, call *Call) (Outputs, error) {
	if err := ContextError(ctx); err != nil {
		return nil, err
	}
	msg, level, err := parseLog(call.Args)
	if err != nil {
		return nil, err
	}
	if level == "info" {
		call.Logf("%s", msg)
	} else {
		call.Logf("%s: %s", level, msg)
	}
	return Outputs{"message": msg}, nil
}

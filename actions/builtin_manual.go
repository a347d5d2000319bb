package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Approver decides whether a manual step may go on: typically a person
// answering a prompt on a terminal. Approve blocks until a decision is made
// or ctx is done; it returns false when the step is refused.
type Approver interface {
	Approve(ctx context.Context, req ApprovalRequest) (bool, error)
}

// ApprovalRequest is what a manual step asks an [Approver].
type ApprovalRequest struct {
	// Step is the id of the step asking.
	Step string
	// Prompt is the question, such as "Is the maintenance window open?".
	Prompt string
	// Details is longer text shown with the prompt; it may be empty.
	Details string
}

// ApproverFunc adapts a function to [Approver].
type ApproverFunc func(ctx context.Context, req ApprovalRequest) (bool, error)

// Approve calls f.
func (f ApproverFunc) Approve(ctx context.Context, req ApprovalRequest) (bool, error) {
	return f(ctx, req)
}

// AutoApprove is an [Approver] that approves every request, unless its
// context is done. It is what `--yes` means.
type AutoApprove struct{}

var (
	_ Approver = AutoApprove{}
	_ Approver = ApproverFunc(nil)
)

// Approve returns true, or the error of a done ctx.
func (AutoApprove) Approve(ctx context.Context, _ ApprovalRequest) (bool, error) {
	if err := ContextError(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// ErrApprovalRefused is the error of a manual step whose approver said no.
// The manual action returns it wrapped in a permanent error.
var ErrApprovalRefused = errors.New("approval refused")

var manualSpec = Spec{
	Name:    "manual",
	Summary: "Ask for approval before going on (an approval gate)",
	Args: json.RawMessage(`{
  "type": "object",
  "description": "Arguments of the manual action.",
  "additionalProperties": false,
  "required": ["prompt"],
  "properties": {
    "prompt": {"type": "string", "minLength": 1, "description": "The question asked, such as \"Is the maintenance window open?\"."},
    "details": {"type": "string", "description": "Longer text shown with the prompt: what to check before approving."}
  }
}`),
	Mutates: true,
}

// manualAction asks Call.Approver.
type manualAction struct{}

var (
	_ Action    = manualAction{}
	_ Validator = manualAction{}
)

func parseManual(args map[string]any) (prompt, details string, err error) {
	if prompt, err = StringArg(args, "prompt"); err != nil {
		return "", "", err
	}
	if prompt == "" {
		return "", "", ArgErrorf("prompt", "must not be empty")
	}
	details, err = OptStringArg(args, "details", "")
	return prompt, details, err
}

// Validate checks the arguments.
func (manualAction) Validate(args map[string]any) error {
	_, _, err := parseManual(args)
	return err
}

// Run asks the approver of the call. Without an approver, or when the
// approver refuses, it fails with a permanent error.
func (manualAction) Run(ctx context.Context, call *Call) (Outputs, error) {
	if err := ContextError(ctx); err != nil {
		return nil, err
	}
	prompt, details, err := parseManual(call.Args)
	if err != nil {
		return nil, err
	}
	if call.Approver == nil {
		return nil, Permanent(fmt.Errorf("manual step %q needs an approver (run with --yes or on a terminal)", call.Step))
	}
	ok, err := call.Approver.Approve(ctx, ApprovalRequest{Step: call.Step, Prompt: prompt, Details: details})
	if err != nil {
		if ctx.Err() != nil {
			err = ContextError(ctx)
		}
		return nil, fmt.Errorf("manual step %q: %w", call.Step, err)
	}
	if !ok {
		return nil, Permanent(fmt.Errorf("manual step %q: %w", call.Step, ErrApprovalRefused))
	}
	return nil, nil
}

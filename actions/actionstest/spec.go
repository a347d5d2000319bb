package actionstest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/schema"
)

// argCheck checks a call's arguments as the real action or probe would:
// against its argument schema, then with its Validator.
type argCheck struct {
	what      string // `arguments of probe "csm.ha"`, for messages
	schema    *jsonschema.Schema
	validator actions.Validator // nil when the real one has none
}

// newArgCheck returns the check of the registration of name in reg, and
// its spec.
func newArgCheck(reg *actions.Registry, kind actions.Kind, name string) (*argCheck, actions.Spec, error) {
	spec, ok := reg.Spec(kind, name)
	if !ok {
		other := actions.KindProbe
		if kind == actions.KindProbe {
			other = actions.KindAction
		}
		if _, isOther := reg.Spec(other, name); isOther {
			return nil, spec, fmt.Errorf("fake %s %q: the spec registry has %s of that name, not %s: %w", kind, name, article(other), article(kind), actions.ErrUnknown)
		}
		msg := fmt.Sprintf("fake %s %q: not in the spec registry", kind, name)
		if s := schema.Suggest(name, reg.Names(kind)); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, spec, fmt.Errorf("%s: %w", msg, actions.ErrUnknown)
	}
	sch, _ := reg.ArgsSchema(kind, name)
	c := &argCheck{what: fmt.Sprintf("arguments of %s %q", kind, name), schema: sch}
	var impl any
	var err error
	if kind == actions.KindAction {
		impl, err = reg.NewAction(name)
	} else {
		impl, err = reg.NewProbe(name)
	}
	if err != nil {
		return nil, spec, fmt.Errorf("fake %s %q: construct the real one: %w", kind, name, err)
	}
	c.validator, _ = impl.(actions.Validator)
	return c, spec, nil
}

// check returns why the real action or probe refuses args, or nil.
func (c *argCheck) check(args map[string]any) error {
	v, err := jsonLike(args)
	if err != nil {
		return err
	}
	if err := c.schema.Validate(v); err != nil {
		return c.schemaError(args, err)
	}
	if c.validator != nil {
		if err := c.validator.Validate(args); err != nil {
			return fmt.Errorf("its Validate: %w", err)
		}
	}
	return nil
}

// schemaError says for people why the schema refused args: the messages of
// package schema, which name the argument and suggest a close name; the
// leaves of the library's error where those find nothing.
func (c *argCheck) schemaError(args map[string]any, err error) error {
	var msgs []string
	var node yaml.Node
	if args == nil {
		args = map[string]any{}
	}
	if node.Encode(args) == nil {
		for _, p := range schema.ValidateAgainst(c.schema, &node, c.what) {
			m := p.Message
			if p.Suggestion != "" {
				m += fmt.Sprintf(" (did you mean %q?)", p.Suggestion)
			}
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		var walk func(e *jsonschema.ValidationError)
		walk = func(e *jsonschema.ValidationError) {
			if len(e.Causes) == 0 {
				at := e.InstanceLocation
				if at == "" {
					at = "/"
				}
				msgs = append(msgs, fmt.Sprintf("%s: at %s: %s", c.what, at, e.Message))
			}
			for _, cause := range e.Causes {
				walk(cause)
			}
		}
		walk(ve)
	}
	return &schemaError{msg: strings.Join(msgs, "; "), err: err}
}

// schemaError is the schema library's error with a message for people.
type schemaError struct {
	msg string
	err error // the library's error, kept for errors.As
}

func (e *schemaError) Error() string { return e.msg }
func (e *schemaError) Unwrap() error { return e.err }

// article returns "an action" or "a probe".
func article(k actions.Kind) string {
	if k == actions.KindAction {
		return "an action"
	}
	return "a probe"
}

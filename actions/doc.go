// Package actions defines what a runbook step can do and observe: the
// [Action] and [Probe] interfaces, their [Spec]s, the [Registry] that names
// them, the [Clock] every wait goes through, and the generic built-ins
// (exec, http, log, sleep, manual approval, and the value probe).
//
// A Registry is an explicit value; [Default] is a package-level registry with
// the built-ins for convenience. Registration is strict: an empty or malformed
// name, a nil constructor or a duplicate is an error.
//
// Interfaces stay small: an Action has one method, Run. Optional abilities are
// separate interfaces checked by type assertion, such as [Validator].
//
// # Reading arguments
//
// A [Call]'s arguments arrive resolved as JSON-like values: an integer may
// be any Go integer type, an integral float64 (from JSON) or a json.Number,
// a list is []any and an object map[string]any. The readers [StringArg],
// [NonBlankStringArg], [OptStringArg], [IntArg], [OptIntsArg], [BoolArg],
// [OptBoolArg], [DurationArg], [OptDurationArg], [StringsArg] and
// [OptStringMapArg] accept all of these, so that an action reads each
// argument in one call:
//
//	url, err := actions.StringArg(call.Args, "url")
//	timeout, err := actions.OptDurationArg(call.Args, "timeout", 30*time.Second)
//
// An argument that is absent or null is missing ([HasArg] reports false): a
// reader named Opt... then returns its default, the others fail with "is
// required". Every error is an [*ArgError] that names the argument, such as
// `argument "url": want a string, got an integer`, and is permanent
// ([IsPermanent]): retrying cannot fix an argument. Report checks of your
// own in the same shape with [ArgErrorf] and [ArgTypeError].
package actions

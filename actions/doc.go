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
package actions

// Package schema holds the JSON Schema of the csmplan runbook format
// (draft 2020-12, embedded as runbook.schema.json) and validates YAML
// documents against it, reporting each violation at its line and column in
// the YAML source with a message written for people and, where one is
// close, a "did you mean" suggestion.
//
// [Runbook] returns the schema itself, for editors. [Full] extends it with
// the argument schemas of every action and probe of a registry, so that an
// editor also checks and completes each step's `with:` arguments.
// [Validate] checks a runbook; [ValidateAgainst] checks any YAML node against
// any compiled schema, such as an action's arguments. [ToValue] converts YAML
// to the JSON-like values the validator works on.
//
// Validation of a valid document is fast and allocation-free: a checker
// walks the yaml.Node tree against the compiled schema and answers "valid"
// only when it is sure. Otherwise the document goes through the jsonschema
// validator (github.com/santhosh-tekuri/jsonschema/v5), which stays the
// reference and produces the errors, mapped back to YAML positions. A long
// list or mapping with very many items that do not fit is cut, for the
// validator, after the first thousand of them, and one problem says how
// many more there are: reporting each costs the validator microseconds.
package schema

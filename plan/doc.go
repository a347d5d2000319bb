// Package plan is the runbook model of csmplan: the types of a runbook
// (params, targets, steps, conditions, expectations, references), its
// loader, and the errors the loader reports.
//
// [Parse] reads a runbook from bytes (the file name is only for messages);
// [ParseFile] and [ParseFS] read it from a file first. Loading checks, in one
// pass, the YAML syntax, the runbook JSON Schema (package schema), and the
// semantics: unique step ids, references that resolve, durations, patterns,
// param defaults, and the actions and probes against a registry with their
// own argument schemas. Every problem is reported, sorted by position, as an
// [*Error] whose Error() is one plain line "FILE:LINE:COL: message";
// [Render] draws them with a code frame and suggestions. (Past the first
// thousand items of a list that do not fit the schema, one problem says how
// many more do not; see package schema.) Loading takes time in proportion
// to the size of the runbook, whatever it holds.
//
// Every element of a [Plan] keeps its source position ([Pos]), so that the
// runner can point at the runbook line of a failed step or condition.
package plan

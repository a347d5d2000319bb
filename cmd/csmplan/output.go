package main

import (
	"bytes"
	"io"

	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/internal/termsafe"
	"github.com/csmplan/csmplan/plan"
)

// Everything the command line prints goes through the functions of this
// file, its output boundary. Text is printed with printf, which is
// console.Printf: its format strings are the program's own; every argument
// is taken for text from outside (a runbook, a server, a process, the
// command line) and shown with its control characters escaped (package
// termsafe), on one line, unless it is marked ours (the program's own
// text, colour codes included: shown as it is) or block (several lines
// meant as such, newlines kept). Numbers are shown as they are.

// ours is text the program made, colour codes included: shown as it is.
type ours = console.Ours

// block is text from outside of several lines: escaped, newlines kept.
type block = console.Block

// printf writes to w like fmt.Fprintf, with every argument escaped as the
// comment above says.
func printf(w io.Writer, format string, args ...any) { console.Printf(w, format, args...) }

// writeJSON writes an encoded JSON document (from encoding/json) with the
// characters a terminal would act on written as JSON escapes.
func writeJSON(w io.Writer, b []byte) {
	w.Write(termsafe.JSON(b))
}

// renderProblems writes a runbook's load errors with their code frames
// (plan.Render). The frames show the runbook's lines, which may hold
// anything: what Render writes is escaped, newlines kept. Colour is used
// only when the plain rendering had nothing to escape, and so the only
// escape sequences in the coloured one are Render's own.
func renderProblems(w io.Writer, err error, color bool) {
	var plain bytes.Buffer
	plan.Render(&plain, err, plan.RenderOptions{Context: 1})
	safe := termsafe.Text(plain.String())
	if color && safe == plain.String() {
		var colored bytes.Buffer
		plan.Render(&colored, err, plan.RenderOptions{Color: true, Context: 1})
		safe = colored.String()
	}
	io.WriteString(w, safe)
}

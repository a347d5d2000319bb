package console

import (
	"fmt"
	"io"

	"github.com/csmplan/csmplan/internal/termsafe"
)

// Everything this package prints goes through Printf, its output
// boundary, and so does everything the command line prints (its own
// boundary, cmd/csmplan/output.go, calls it). Its format strings are the
// program's own; every argument is taken for text from outside (a
// runbook, a server, a process, the command line) and shown with its
// control characters escaped (package termsafe), on one line, unless it
// is marked:
//
//   - Ours: the program's own text, such as a usage message, or text
//     already escaped with the program's own ANSI colour codes around it
//     (Progress.paint): shown as it is;
//   - Block: several lines meant as such, newlines kept.
//
// Numbers are shown as they are.

// Ours is text the program made, colour codes included: shown as it is.
type Ours string

// Block is text from outside of several lines: escaped, newlines kept.
type Block string

// Printf writes to w like fmt.Fprintf, with every argument escaped as the
// comment above says. An error of w is not returned: give it a writer
// that keeps what it needs of one.
func Printf(w io.Writer, format string, args ...any) {
	safe := make([]any, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case Ours:
			safe[i] = string(a)
		case Block:
			safe[i] = termsafe.Text(string(a))
		case int, int64, uint, uint64, float64, bool:
			safe[i] = a
		default:
			safe[i] = escaped{a}
		}
	}
	fmt.Fprintf(w, format, safe...)
}

// escaped formats a value with the verb and flags given, then escapes it.
type escaped struct{ v any }

// Format implements fmt.Formatter.
func (x escaped) Format(f fmt.State, verb rune) {
	io.WriteString(f, termsafe.String(fmt.Sprintf(fmt.FormatString(f, verb), x.v)))
}

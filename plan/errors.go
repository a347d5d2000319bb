package plan

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Kinds of load problems; every [*Error] wraps one. Test with errors.Is.
var (
	ErrSyntax      = errors.New("YAML syntax error")
	ErrTooLarge    = errors.New("runbook too large")
	ErrSchema      = errors.New("does not fit the runbook schema")
	ErrDuplicateID = errors.New("duplicate step id")
	ErrReference   = errors.New("bad reference")
	ErrDuration    = errors.New("bad duration")
	ErrPattern     = errors.New("bad pattern")
	ErrType        = errors.New("wrong type")
	ErrUnknown     = errors.New("unknown action or probe")
	ErrArgs        = errors.New("bad arguments")
)

// MaxSize is the largest runbook Parse accepts, in bytes.
const MaxSize = 16 << 20

// Error is one problem found while loading a runbook.
//
// Pos points at the token the problem is about: an unknown or duplicate key
// at the key; a missing key at the mapping that lacks it; a value of the
// wrong type or form (a bad duration, pattern, enum value, argument) at the
// value; a bad reference at its "${"; an unknown action or probe at its
// name; a duplicate step id at the second id; a YAML syntax error at the
// character where the parser stopped (the line the problem is on, not the
// start of its block); a file over MaxSize at the byte where it passes the
// limit; invalid UTF-8 or a NUL byte at that byte. Len, when known, is
// the length of that token on its line.
type Error struct {
	File string
	Pos  Pos
	// Len is the length of the culprit on its line, for underlining; 0 if unknown.
	Len int
	Msg string
	// Suggestion is a close valid alternative ("did you mean"), or "".
	Suggestion string
	// Err is the kind of problem, one of the Err* sentinels.
	Err error
	src *source
}

// Error returns one plain line, "FILE:LINE:COL: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.IsValid() {
		fmt.Fprintf(&b, ":%d:%d", e.Pos.Line, e.Pos.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Suggestion != "" {
		fmt.Fprintf(&b, " (did you mean %q?)", e.Suggestion)
	}
	return b.String()
}

// Unwrap returns the kind of problem.
func (e *Error) Unwrap() error { return e.Err }

// Errors returns every [*Error] in err, which may be a single *Error or a
// combination of them, sorted by position.
func Errors(err error) []*Error {
	var out []*Error
	var me *multierror.Error
	if errors.As(err, &me) {
		for _, e := range me.Errors {
			out = append(out, Errors(e)...)
		}
		return out
	}
	var pe *Error
	if errors.As(err, &pe) {
		out = append(out, pe)
	}
	return out
}

// problems collects load errors.
type problems struct {
	file string
	src  *source
	list []*Error
	// soft problems yield to a schema problem at the same position: the
	// schema's message says it first and better.
	soft   map[*Error]bool
	schema map[Pos]bool
}

func (p *problems) add(kind error, pos Pos, length int, suggestion, format string, args ...any) {
	p.list = append(p.list, &Error{File: p.file, Pos: pos, Len: length, Msg: fmt.Sprintf(format, args...), Suggestion: suggestion, Err: kind, src: p.src})
}

// addSoft adds a problem that is dropped if the schema reports one at the
// same position.
func (p *problems) addSoft(kind error, pos Pos, length int, format string, args ...any) {
	p.add(kind, pos, length, "", format, args...)
	if p.soft == nil {
		p.soft = map[*Error]bool{}
	}
	p.soft[p.list[len(p.list)-1]] = true
}

// err returns the problems sorted by position, deduplicated, combined with
// go-multierror; nil when there are none.
func (p *problems) err() error {
	kept := p.list[:0]
	for _, e := range p.list {
		if !p.soft[e] || !p.schema[e.Pos] {
			kept = append(kept, e)
		}
	}
	p.list = kept
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool {
		a, b := p.list[i].Pos, p.list[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	var me *multierror.Error
	seen := map[string]bool{}
	for _, e := range p.list {
		k := e.Error()
		if seen[k] {
			continue
		}
		seen[k] = true
		me = multierror.Append(me, e)
	}
	me.ErrorFormat = formatList
	return me.ErrorOrNil()
}

func formatList(errs []error) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// RenderOptions control [Render].
type RenderOptions struct {
	// Color adds ANSI colours; leave it false when NO_COLOR is set or the
	// output is not a terminal.
	Color bool
	// Context is the number of source lines shown before the culprit's line.
	Context int
}

// Render writes every load error in err with a code frame and its
// suggestion. Errors that are not load errors are written as they are.
func Render(w io.Writer, err error, opts RenderOptions) {
	errs := Errors(err)
	if len(errs) == 0 {
		if err != nil {
			fmt.Fprintln(w, err)
		}
		return
	}
	red, bold, blue, reset := "", "", "", ""
	if opts.Color {
		red, bold, blue, reset = "\x1b[31m", "\x1b[1m", "\x1b[34m", "\x1b[0m"
	}
	for i, e := range errs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		loc := e.File
		if e.Pos.IsValid() {
			loc = fmt.Sprintf("%s:%d:%d", e.File, e.Pos.Line, e.Pos.Column)
		}
		fmt.Fprintf(w, "%s%s:%s %s%s%s\n", bold, loc, reset, red, e.Msg, reset)
		if e.Pos.IsValid() && e.src != nil {
			renderFrame(w, e, opts.Context, blue, red, reset)
		}
		if e.Suggestion != "" {
			fmt.Fprintf(w, "  = did you mean %q?\n", e.Suggestion)
		}
	}
}

// frameWidth is the most runes of a source line a frame shows: a longer
// line (a runbook written as one line of JSON) is cut around the culprit.
const frameWidth = 120

func renderFrame(w io.Writer, e *Error, context int, blue, red, reset string) {
	if e.Pos.Line > e.src.lines() {
		return
	}
	// The window of columns shown, the same on every line of the frame so
	// that the context lines stay aligned with the culprit's.
	col := max(e.Pos.Column-1, 0)
	from := 0
	if len(e.src.line(e.Pos.Line)) > frameWidth && col >= frameWidth*2/3 {
		from = col - frameWidth/3
	}
	first := max(e.Pos.Line-context, 1)
	width := len(fmt.Sprint(e.Pos.Line))
	var culprit []rune
	for n := first; n <= e.Pos.Line; n++ {
		text, cutLeft, cutRight := e.src.window(n, from, frameWidth)
		if n == e.Pos.Line {
			culprit = text
		}
		s := strings.ReplaceAll(string(text), "\t", "→")
		if cutLeft {
			s = "…" + s
		}
		if cutRight {
			s += "…"
		}
		fmt.Fprintf(w, "%s%*d |%s %s\n", blue, width, n, reset, s)
	}
	at := min(col-from, len(culprit))
	n := e.Len
	if n <= 0 {
		n = tokenLen(culprit[at:])
	}
	n = min(n, len(culprit)-at)
	pad := at
	if from > 0 {
		pad++ // the "…"
	}
	fmt.Fprintf(w, "%s%*s |%s %s%s%s\n", blue, width, "", reset, strings.Repeat(" ", pad), red+strings.Repeat("^", max(n, 1)), reset)
}

// tokenLen is the length of the token at the start of s: a quoted string
// to its closing quote, otherwise up to ": ", a flow indicator, a comment
// or the end of the line.
func tokenLen(s []rune) int {
	if len(s) > 0 && (s[0] == '"' || s[0] == '\'') {
		for i := 1; i < len(s); i++ {
			if s[i] == s[0] && (s[0] == '\'' || s[i-1] != '\\') {
				return i + 1
			}
		}
		return len(s)
	}
	n := len(s)
	for i, r := range s {
		if r == ',' || r == '}' || r == ']' || r == ':' && (i+1 == len(s) || s[i+1] == ' ') || r == '#' && i > 0 && s[i-1] == ' ' {
			n = i
			break
		}
	}
	for n > 0 && s[n-1] == ' ' {
		n--
	}
	return n
}

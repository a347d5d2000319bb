package plan

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports a parser error at the line where the enclosing block
// started (its "context"), which is often a line or more before the real
// culprit, and never with a column. syntaxPos finds the true position: the
// first line whose addition makes the document fail to parse, and on it the
// character the message is about.

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Locating a syntax error parses parts of the runbook again: at most
// maxProbeBytes of text in all, plus an eighth of the runbook's size, each
// parse counting probeCost more.
const (
	maxProbeBytes = 256 << 10
	probeCost     = 512
)

// syntaxError turns a yaml.v3 error into a positioned message.
func syntaxError(src *source, err error) (Pos, string) {
	msg := err.Error()
	reported := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		reported, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if strings.HasPrefix(msg, "unknown anchor") {
		// unknown anchor 'x' referenced: find the alias in the source.
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		if j := bytes.Index(src.text, []byte("*"+name)); j >= 0 {
			return src.pos(j), "unknown anchor " + strconv.Quote(name) + ": an alias *" + name + " needs an anchor &" + name + " before it"
		}
		return Pos{}, msg
	}
	line := culpritLine(src, reported, msg)
	if line == 0 {
		line = max(reported, 1)
	}
	line = min(line, src.lines())
	text := src.line(line)
	col, hint := culpritColumn(text, msg)
	if strings.Contains(msg, "cannot start any token") && bytes.HasPrefix(text[runeBytes(text, 0, col-1):], []byte("\t")) {
		msg = "tab character" // yaml.v3 says only which token it found
	}
	return Pos{Line: line, Column: col}, explain(msg) + hint
}

// culpritLine returns the first line n >= the reported line - 1 such that
// the first n lines do not parse, or 0 if it cannot tell within its budget.
//
// While the prefixes are short it parses them one line longer each time,
// from the start of the runbook. Once they cost too much (an error near the
// end of a large runbook), it parses the text from the block yaml.v3
// reports on its own instead, finds the first line at which that fails
// with doubling then halving steps, and trusts that line only if the text
// fails there with the same message as the whole runbook.
func culpritLine(src *source, reported int, msg string) int {
	budget := maxProbeBytes + len(src.text)/8
	// fails parses src.text[from:to]; ok is false if the budget cannot
	// afford it.
	fails := func(from, to int) (failed bool, why string, ok bool) {
		cost := to - from + probeCost
		if cost > budget {
			return false, "", false
		}
		budget -= cost
		var node yaml.Node
		err := yaml.Unmarshal(src.text[from:to], &node)
		if err == nil {
			return false, "", true
		}
		why = err.Error()
		if m := yamlLineRE.FindStringSubmatch(why); m != nil {
			why = m[2]
		}
		return true, strings.TrimPrefix(why, "yaml: "), true
	}
	// Whole prefixes may spend half the budget.
	n, rest := max(reported-1, 1), budget/2
	for ; n <= src.lines(); n++ {
		if src.lineEnd(n)+probeCost > budget-rest {
			break
		}
		failed, _, _ := fails(0, src.lineEnd(n))
		if failed {
			return n
		}
	}
	if n > src.lines() {
		return 0
	}
	// yaml.v3 reports the line before the block (a parser error) or the
	// line of the culprit (a scanner error).
	for _, from := range []int{reported, reported + 1} {
		if from < 1 || from > src.lines() {
			continue
		}
		start := src.lineStart(from)
		window := func(n int) (bool, string, bool) { return fails(start, src.lineEnd(n)) }
		// The text up to line lo parses, up to line hi fails.
		lo, hi := from-1, 0
		for step := 1; hi == 0; step *= 2 {
			n := min(lo+step, src.lines())
			failed, _, ok := window(n)
			switch {
			case !ok:
				return 0
			case failed:
				hi = n
			case n == src.lines():
				hi = -1
			default:
				lo = n
			}
		}
		if hi < 0 {
			continue
		}
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			failed, _, ok := window(mid)
			switch {
			case !ok:
				return 0
			case failed:
				hi = mid
			default:
				lo = mid
			}
		}
		if _, why, ok := window(hi); ok && why == msg {
			return hi
		}
	}
	return 0
}

// culpritColumn finds the column on the culprit line that msg is about.
func culpritColumn(text []byte, msg string) (int, string) {
	s := string(text)
	col := func(byteOff int) int { return utf8.RuneCountInString(s[:byteOff]) + 1 }
	indent := len(s) - len(strings.TrimLeft(s, " "))
	switch {
	case strings.Contains(msg, "tab character"), strings.Contains(msg, "cannot start any token") && strings.Contains(s, "\t"):
		if i := strings.IndexByte(s, '\t'); i >= 0 {
			return col(i), ""
		}
	case strings.Contains(msg, "cannot start any token"):
		for i, r := range s {
			if r == '@' || r == '`' || r == '%' {
				return col(i), ""
			}
		}
	case strings.Contains(msg, "mapping values are not allowed"):
		// The second ": " on the line, or the first when the line is
		// indented under a scalar.
		first := strings.Index(s, ": ")
		if first < 0 && strings.HasSuffix(s, ":") {
			first = len(s) - 1
		}
		if first >= 0 {
			if second := strings.Index(s[first+1:], ": "); second >= 0 {
				return col(first + 1 + second), ""
			}
		}
		return col(indent), ""
	case strings.Contains(msg, "expected ',' or ']'"), strings.Contains(msg, "expected ',' or '}'"):
		open := "["
		if strings.Contains(msg, "'}'") {
			open = "{"
		}
		if i := strings.LastIndex(s, open); i >= 0 {
			return col(i), ""
		}
	case strings.Contains(msg, "unexpected end of stream"):
		for i, r := range s {
			if r == '"' || r == '\'' {
				return col(i), ""
			}
		}
	}
	return col(indent), ""
}

// explain rewrites yaml.v3's messages for people.
func explain(msg string) string {
	switch {
	case strings.Contains(msg, "tab character"), strings.Contains(msg, "cannot start any token") && strings.Contains(msg, "tab"):
		return "a tab is not allowed in YAML indentation: indent with spaces"
	case strings.Contains(msg, "mapping values are not allowed"):
		return "unexpected ':' (a value that holds \": \" must be quoted, or the line is indented wrongly)"
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected '-' indicator"):
		return "bad indentation: this line does not line up with the keys or list items before it"
	case strings.Contains(msg, "expected ',' or ']'"):
		return "unclosed '[': a flow list must end with ']' (quote strings that hold ',' or ']')"
	case strings.Contains(msg, "expected ',' or '}'"):
		return "unclosed '{': a flow mapping must end with '}' (quote strings that hold ',' or '}')"
	case strings.Contains(msg, "unexpected end of stream"):
		return "unexpected end of file: a quoted string or a flow collection is not closed"
	case strings.Contains(msg, "cannot start any token"):
		return "a value cannot start with this character: quote it"
	}
	return msg
}

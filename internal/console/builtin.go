package console

import (
	"regexp"
	"strconv"

	"github.com/csmplan/csmplan"
)

// builtinNote follows a FILE:LINE that points into the built-in runbook,
// which is not a file the operator has: it says how to get one.
const builtinNote = "the built-in runbook; 'csmplan init' writes a copy"

// builtinRef matches a place in the built-in runbook cited in a message:
// the character before it (not one of a longer file name), an opening
// parenthesis, FILE:LINE[:COL], a closing parenthesis.
var builtinRef = regexp.MustCompile(`(^|[^\w./-])(\(?)(` + regexp.QuoteMeta(csmplan.DefaultRunbookName) + `:[0-9]+(?::[0-9]+)?)(\)?)`)

// runbookAt returns FILE:LINE for a line of the runbook, followed by
// builtinNote when the runbook is the built-in one.
func runbookAt(file string, line int, builtin bool) string {
	return NoteBuiltin(file+":"+strconv.Itoa(line), builtin)
}

// NoteBuiltin adds builtinNote to each FILE:LINE of the built-in runbook
// that msg cites, when the runbook is the built-in one:
// "csm-upgrade.yaml:227 (NOTE)", or "(csm-upgrade.yaml:227, NOTE)" where
// the place is already in parentheses.
func NoteBuiltin(msg string, builtin bool) string {
	if !builtin {
		return msg
	}
	return builtinRef.ReplaceAllStringFunc(msg, func(m string) string {
		g := builtinRef.FindStringSubmatch(m)
		before, open, at, closed := g[1], g[2], g[3], g[4]
		if open != "" && closed != "" {
			return before + "(" + at + ", " + builtinNote + ")"
		}
		return before + open + at + " (" + builtinNote + ")" + closed
	})
}

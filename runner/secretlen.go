package runner

import (
	"fmt"
	"unicode/utf8"

	"github.com/csmplan/csmplan/plan"
)

// MinSecretLen is the fewest characters a non-empty secret param may
// have. Secrets are redacted by finding their text wherever a run writes
// (see Redacted): a secret of one, two or three characters would be found
// inside ordinary words, so that redacting it would mangle every message
// and, by the gaps it leaves, reveal it; not redacting it would show it.
// So such a secret is refused when params are bound ([BindParams]), with
// an error that does not show it. An empty secret (an optional secret
// param not given) has nothing to hide and is accepted.
const MinSecretLen = 4

// checkSecretLen returns the problem with the bound value v of the secret
// param prm, or nil.
func checkSecretLen(prm *plan.Param, v any) *ParamError {
	s := plan.Format(v)
	if n := utf8.RuneCountInString(s); n == 0 || n >= MinSecretLen {
		return nil
	}
	return &ParamError{Param: prm.Name, Msg: fmt.Sprintf("a secret of fewer than %d characters cannot be redacted without masking those characters in every message, which would give it away: use a longer one", MinSecretLen)}
}

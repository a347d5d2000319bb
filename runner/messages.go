package runner

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// named prefixes err with the name of the action whose error it is,
// unless its text starts with that name already.
func named(action string, err error) error {
	msg := err.Error()
	if strings.HasPrefix(msg, action+" ") || strings.HasPrefix(msg, action+":") {
		return err
	}
	return fmt.Errorf("%s: %w", action, err)
}

// sameCause groups the conditions that could not be checked for the same
// cause, so that a cause they share (a refused login, a server that does
// not answer) is said once: it returns the evidence of each group, in the
// order of the first condition of each. Two errors have the same cause
// when they are the same after their first part, which names the probe
// ("csm.ha on target "primary": ..."); the group shows the shared part.
func sameCause(results []ConditionResult) []string {
	var parts []string
	group := map[string]int{} // cause to its part
	var names [][]string
	var causes []string
	for _, r := range results {
		if r.Status == Met || r.Status == NotChecked {
			continue
		}
		cause := ""
		if r.Status == Error && r.Polls <= 1 {
			cause = r.Error
			if _, rest, ok := strings.Cut(r.Error, ": "); ok {
				cause = rest
			}
			if i, ok := group[cause]; ok {
				names[i] = append(names[i], fmt.Sprintf("%s (line %d)", r.Condition, r.Line))
				continue
			}
			group[cause] = len(parts)
		}
		parts = append(parts, describeResult(r))
		names = append(names, []string{fmt.Sprintf("%s (line %d)", r.Condition, r.Line)})
		causes = append(causes, cause)
	}
	for i, n := range names {
		if len(n) > 1 {
			parts[i] = strings.Join(n, ", ") + ": error: " + causes[i]
		}
	}
	// A later error that quotes an earlier one (a refused login quoted by
	// the error that no more logins are tried) says "as above" instead.
	for i := range parts {
		for j := 0; j < i; j++ {
			if causes[j] == "" {
				continue
			}
			core := causes[j]
			if k := strings.LastIndex(core, ": "); k >= 0 {
				core = core[k+2:]
			}
			if len(core) >= minQuoted {
				parts[i] = strings.ReplaceAll(parts[i], core, "as above")
			}
		}
	}
	return parts
}

// minQuoted is the shortest text of an earlier error that a later one is
// said to quote.
const minQuoted = 20

// timeoutError is the error of a call that its timeout ended: the call's
// own error, whose cause (context.DeadlineExceeded, "context deadline
// exceeded") is said as what it is, "timed out after D".
type timeoutError struct {
	after time.Duration
	err   error // the call's error
}

func (e *timeoutError) Error() string {
	msg := e.err.Error()
	msg = strings.TrimSuffix(msg, context.DeadlineExceeded.Error())
	msg = strings.TrimSuffix(strings.TrimSuffix(msg, " "), ":")
	if msg == "" {
		return fmt.Sprintf("%v after %s", ErrTimeout, e.after)
	}
	return fmt.Sprintf("%s: %v after %s", msg, ErrTimeout, e.after)
}

func (e *timeoutError) Unwrap() []error { return []error{ErrTimeout, e.err} }

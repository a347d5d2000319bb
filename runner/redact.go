package runner

import (
	"sort"
	"strings"
)

// Redacted replaces secret values everywhere a run writes.
const Redacted = "[redacted]"

// redactor replaces the values of secret params in strings and in values.
type redactor struct {
	r *strings.Replacer
}

func newRedactor(secrets []string) *redactor {
	var pairs []string
	// Longest first, so a secret that holds another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, Redacted)
		}
	}
	if len(pairs) == 0 {
		return &redactor{}
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

func (x *redactor) String(s string) string {
	if x.r == nil || s == "" {
		return s
	}
	return x.r.Replace(s)
}

// Value returns a copy of v with every string redacted. Values without
// secrets are returned as they are.
func (x *redactor) Value(v any) any {
	if x.r == nil {
		return v
	}
	switch t := v.(type) {
	case string:
		return x.r.Replace(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = x.Value(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[x.r.Replace(k)] = x.Value(e)
		}
		return out
	case []string:
		out := make([]string, len(t))
		for i, e := range t {
			out[i] = x.r.Replace(e)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, e := range t {
			out[k] = x.r.Replace(e)
		}
		return out
	}
	return v
}

func (x *redactor) Map(m map[string]any) map[string]any {
	if m == nil || x.r == nil {
		return m
	}
	return x.Value(m).(map[string]any)
}

// redactedError shows a redacted message and unwraps to the original error,
// so that errors.Is and errors.As still work.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (x *redactor) Error(err error) error {
	if err == nil || x.r == nil {
		return err
	}
	msg := err.Error()
	if red := x.r.Replace(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

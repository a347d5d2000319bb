package interpreter

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
)

// SecretRef returns the param Value that refers to a secret: ref is
// "env:NAME" (the worker's environment variable NAME), "file:PATH" (the
// content of the worker's file PATH, without a final line break, as
// runner.ReadSecretFile reads it) or "params:PATH#NAME" (the param NAME of
// the params file PATH on the worker's machine, as `csmplan run --params`
// reads it).
func SecretRef(ref string) Value {
	return Value{K: "m", M: map[string]Value{"secret_ref": {K: "s", S: ref}}}
}

// refOf returns the reference of a param given as SecretRef.
func refOf(v Value) (string, bool) {
	if v.K != "m" || len(v.M) != 1 {
		return "", false
	}
	r, ok := v.M["secret_ref"]
	if !ok || r.K != "s" {
		return "", false
	}
	return r.S, true
}

// token is what the workflow holds in place of the secret ref refers to.
func token(ref string) string { return "{{csmplan.secret " + ref + "}}" }

var tokenRE = regexp.MustCompile(`\{\{csmplan\.secret ([^}]*)\}\}`)

// ResolveSecret resolves a reference: "env:NAME", "file:PATH" or
// "params:PATH#NAME" (see SecretRef).
func ResolveSecret(ref string) (string, error) {
	kind, name, ok := strings.Cut(ref, ":")
	switch {
	case ok && kind == "env" && name != "":
		v, set := os.LookupEnv(name)
		if !set {
			return "", fmt.Errorf("secret %s: the worker's environment has no %s", ref, name)
		}
		return v, nil
	case ok && kind == "file" && name != "":
		v, err := runner.ReadSecretFile(name) // as fleet.Load reads an @FILE
		if err != nil {
			return "", fmt.Errorf("secret %s: %w", ref, err)
		}
		return v, nil
	case ok && kind == "params":
		path, param, _ := strings.Cut(name, "#")
		if path == "" || param == "" {
			break
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("secret %s: %w", ref, err)
		}
		pf, err := plan.ParseParams(path, b)
		if err != nil {
			return "", fmt.Errorf("secret %s: %w", ref, err)
		}
		v, ok := pf.Values[param].(string)
		if !ok {
			return "", fmt.Errorf("secret %s: the params file gives no text param %s", ref, param)
		}
		return v, nil
	}
	return "", fmt.Errorf("secret reference %q: want env:NAME, file:PATH or params:PATH#NAME", ref)
}

// secrets maps the tokens of one call to their secrets and back.
type secrets struct {
	resolve func(string) (string, error)
	byToken map[string]string
}

// reveal replaces the tokens in s by their secrets.
func (sc *secrets) reveal(s string) (string, error) {
	var err error
	out := tokenRE.ReplaceAllStringFunc(s, func(tok string) string {
		if v, ok := sc.byToken[tok]; ok {
			return v
		}
		ref := tokenRE.FindStringSubmatch(tok)[1]
		v, rerr := sc.resolve(ref)
		if rerr != nil {
			err = rerr
			return tok
		}
		sc.byToken[tok] = v
		return v
	})
	return out, err
}

// hide replaces the secrets in s by their tokens, longest first.
func (sc *secrets) hide(s string) string {
	toks := make([]string, 0, len(sc.byToken))
	for t, v := range sc.byToken {
		if v != "" {
			toks = append(toks, t)
		}
	}
	sort.Slice(toks, func(i, j int) bool { return len(sc.byToken[toks[i]]) > len(sc.byToken[toks[j]]) })
	for _, t := range toks {
		s = strings.ReplaceAll(s, sc.byToken[t], t)
	}
	return s
}

// walk applies f to every string of v, keys of maps included.
func walk(v Value, f func(string) (string, error)) (Value, error) {
	var err error
	switch v.K {
	case "s":
		v.S, err = f(v.S)
	case "l":
		l := make([]Value, len(v.L))
		for i, e := range v.L {
			if l[i], err = walk(e, f); err != nil {
				return v, err
			}
		}
		v.L = l
	case "m":
		v.M, err = walkMap(v.M, f)
	}
	return v, err
}

func walkMap(m map[string]Value, f func(string) (string, error)) (map[string]Value, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]Value, len(m))
	for k, e := range m {
		nk, err := f(k)
		if err != nil {
			return nil, err
		}
		if out[nk], err = walk(e, f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

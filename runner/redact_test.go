package runner

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/internal/hostiletest"
	"github.com/csmplan/csmplan/internal/termsafe"
)

// hardSecrets are passwords whose escaped forms differ from them.
var hardSecrets = []string{
	`S3cr3t Pw"&\/é%x<>`,
	"tab\there\u2028new\nline💥\"'+=?#",
	"plain-hunter2-plain",
}

func TestRedactorEveryEncoding(t *testing.T) {
	t.Parallel()
	for _, secret := range hardSecrets {
		red := newRedactor([]string{secret})
		pieces := hostiletest.Encodings(secret)
		// Base64 of the secret after a prefix of every length modulo 3, as
		// in Basic auth headers of users of different lengths.
		for _, user := range []string{"ab", "abc", "abcd"} {
			pieces["basic-auth "+user] = base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))
			pieces["basic-auth-url "+user] = base64.URLEncoding.EncodeToString([]byte(user + ":" + secret))
		}
		// An HTML page echoing it, in a JSON body, quoted in a message.
		pieces["go-quoted-json-html"] = strings.Trim(strconv.Quote(jsonString(html.EscapeString(secret))), `"`)
		// As the http action shows a server's text: control characters
		// escaped, cut at the first line break.
		pieces["terminal-safe"] = termsafe.String(secret)
		if line, _, ok := strings.Cut(secret, "\n"); ok {
			pieces["first line"] = line
		}
		// Cut short by plan.Brief ("..." after 197 bytes), by lastLines
		// ("..." before the last 509), by a capped output.
		q := strconv.Quote(secret)
		pieces["go-quoted cut, head"] = q[:len(q)/2] + "..."
		pieces["go-quoted cut, tail"] = "..." + q[len(q)/2:]
		pieces["json cut, head"] = jsonString(secret)[:len(jsonString(secret))-5] + "\n[truncated 5 bytes]"

		names := make([]string, 0, len(pieces))
		for name := range pieces {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			piece := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(pieces[name], "..."), "..."), "\n[truncated 5 bytes]")
			in := "before " + pieces[name] + " after"
			out := red.String(in)
			if found := hostiletest.FindSecret(out, secret); len(found) > 0 || strings.Contains(out, piece) || !strings.Contains(out, Redacted) {
				t.Errorf("secret %q, %s form: %q redacted to %q, which holds %v", secret, name, in, out, found)
			}
			if !strings.HasPrefix(out, "before ") || !strings.HasSuffix(out, " after") {
				t.Errorf("secret %q, %s form: %q redacted to %q: the text around it changed", secret, name, in, out)
			}
		}
	}
}

// jsonString returns s as encoding/json quotes it, without the quotes.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b[1 : len(b)-1])
}

func TestRedactorJSONValuesAndErrors(t *testing.T) {
	t.Parallel()
	secret := hardSecrets[0]
	red := newRedactor([]string{secret})
	quoted := fmt.Sprintf("observed [%q]", secret)
	v := red.Value(map[string]any{
		"list":  []any{"json: " + hostiletest.Encodings(secret)["json"]},
		"strs":  []string{quoted},
		"smap":  map[string]string{"k": "url " + hostiletest.Encodings(secret)["url-query"]},
		"n":     int64(3),
		secret:  "a key",
		"plain": "nothing to hide",
	})
	text := fmt.Sprintf("%#v", v)
	if found := hostiletest.FindSecret(text, secret); len(found) > 0 {
		t.Errorf("Value left %v: %s", found, text)
	}
	m := v.(map[string]any)
	if m["plain"] != "nothing to hide" || m["n"] != int64(3) || m[Redacted] != "a key" {
		t.Errorf("Value changed what holds no secret: %s", text)
	}

	base := errors.New("base")
	err := red.Error(fmt.Errorf("%s: %w", quoted, base))
	if !errors.Is(err, base) || hostiletest.FindSecret(err.Error(), secret) != nil {
		t.Errorf("Error = %q: want the secret redacted and the chain kept", err)
	}
}

// TestRedactorOverlappingSecrets checks that where two secrets overlap, no
// part of either is left.
func TestRedactorOverlappingSecrets(t *testing.T) {
	t.Parallel()
	red := newRedactor([]string{"abcdef12", "ef12ghij"})
	for in, want := range map[string]string{
		"x abcdef12ghij y":       "x [redacted] y",
		"x ef12ghij abcdef12 y":  "x [redacted] [redacted] y",
		"abcdef12abcdef12":       Redacted,
		"no secret here, abcdef": "no secret here, abcdef",
	} {
		if got := red.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactorShortSecrets pins the rule for short secrets, unchanged: any
// non-empty secret is redacted as it is and escaped, however short; only
// its base64 forms need 6 characters or more.
func TestRedactorShortSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		secrets []string
		in      string
		want    string
	}{
		{[]string{""}, "nothing to hide", "nothing to hide"},
		{nil, "nothing to hide", "nothing to hide"},
		{[]string{"%"}, "100% sure", "100[redacted] sure"},
		{[]string{"%"}, "a%25b", "a[redacted]b"},
		{[]string{"ab"}, `"ab" YWI=`, `"[redacted]" YWI=`},
		{[]string{"abcde"}, "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("root:abcde")), "Authorization: Basic cm9vdDp[redacted]"},
	}
	for _, tt := range tests {
		if got := newRedactor(tt.secrets).String(tt.in); got != tt.want {
			t.Errorf("secrets %q: String(%q) = %q, want %q", tt.secrets, tt.in, got, tt.want)
		}
	}
}

func TestRedactorWithoutSecretsReturnsItsInput(t *testing.T) {
	t.Parallel()
	var nilRed *redactor
	for _, red := range []*redactor{newRedactor(nil), newRedactor([]string{"s3cr3t-value"}), nilRed} {
		v := map[string]any{"a": []any{"b", int64(1)}}
		if got := red.Value(v); !reflect.DeepEqual(got, v) {
			t.Errorf("Value(%v) = %v", v, got)
		}
		if got := red.String("plain text"); got != "plain text" {
			t.Errorf("String = %q", got)
		}
		err := errors.New("plain")
		if got := red.Error(err); got != err {
			t.Errorf("Error = %v, want the same error", got)
		}
	}
}

func BenchmarkRedactorString(b *testing.B) {
	red := newRedactor(hardSecrets)
	body := strings.Repeat("a long response body without any secret in it. ", 1<<20/48)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		red.String(body)
	}
}

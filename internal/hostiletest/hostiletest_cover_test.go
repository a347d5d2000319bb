package hostiletest_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/internal/hostiletest"
)

// hexEscape writes every byte of s as a \xXX escape, or every rune as a
// \uXXXX one (JSON's surrogate pairs beyond the BMP) when json is set.
func hexEscape(s string, json bool) string {
	var b strings.Builder
	if !json {
		for i := 0; i < len(s); i++ {
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i]), 16))
		}
		return b.String()
	}
	for _, r := range s {
		if r > 0xffff {
			r -= 0x10000
			hi, lo := 0xd800+(r>>10), 0xdc00+(r&0x3ff)
			b.WriteString(`\u` + strconv.FormatInt(int64(hi), 16) + `\u` + strconv.FormatInt(int64(lo), 16))
			continue
		}
		b.WriteString(`\u` + strings.Repeat("0", 4-len(strconv.FormatInt(int64(r), 16))) + strconv.FormatInt(int64(r), 16))
	}
	return b.String()
}

// TestFindSecretUnescapes checks the forms that only unescaping reveals:
// no encoding of Encodings matches them, and no 6 bytes of the secret show
// as they are.
func TestFindSecretUnescapes(t *testing.T) {
	t.Parallel()
	const secret = "S3cr3tPw"
	const key = "🔑🔑key🔑" // beyond the BMP: JSON writes surrogate pairs
	for _, tt := range []struct {
		name, text, secret string
		found              bool
	}{
		{"every byte as \\x", hexEscape(secret, false), secret, true},
		{"every rune as \\u", hexEscape(secret, true), secret, true},
		{"escaped twice", strings.ReplaceAll(hexEscape(secret, true), `\`, `\\`), secret, true},
		{"surrogate pairs", hexEscape(key, true), key, true},
		{"\\U escapes", strconv.QuoteToASCII(key)[1:21], key, true},
		{"every slash escaped", `token: a\/b\/c\/d\/e`, "a/b/c/d/e", true},
		{"after invalid escapes", `\q\u12zz` + hexEscape(secret, true) + `\`, secret, true},
		{"after lone high surrogates", `\ud83d\uzzzz \ud83d ` + hexEscape(secret, true), secret, true},
		{"pieces too short", hexEscape("S3cr3", true) + " " + hexEscape("tPw", true), secret, false},
		{"an empty secret", "anything", "", false},
	} {
		found := hostiletest.FindSecret(tt.text, tt.secret)
		if got := slices.Contains(found, "escaped piece"); got != tt.found {
			t.Errorf("%s: FindSecret(%q, %q) = %v; want an escaped piece found: %v", tt.name, tt.text, tt.secret, found, tt.found)
		}
		if !tt.found && len(found) > 0 {
			t.Errorf("%s: FindSecret(%q, %q) = %v, want nothing", tt.name, tt.text, tt.secret, found)
		}
	}
}

func TestScriptWithoutAReplyPanics(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewServer(t)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "/nothing") {
			t.Errorf("Script without a reply: recovered %v, want a panic naming the path", r)
		}
	}()
	s.Script("/nothing")
}

func TestPiecesWithoutATickComeAtOnce(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewServer(t)
	s.Script("/p", hostiletest.Reply{Status: http.StatusAccepted, Header: http.Header{"X-A": {"1", "2"}}, Body: "a", Size: 3, Pieces: []string{"b", "c"}})
	resp, body := get(t, s.Client(), s.URL+"/p", nil)
	if resp.StatusCode != http.StatusAccepted || body != "axxbc" || !slices.Equal(resp.Header.Values("X-A"), []string{"1", "2"}) {
		t.Errorf("reply: %d %q, X-A %q; want 202 \"axxbc\" with X-A 1 and 2", resp.StatusCode, body, resp.Header.Values("X-A"))
	}
}

// TestArrivedDoesNotBlock checks that requests a test does not receive
// from Arrived never hold up the server, and that Requests keeps them all.
func TestArrivedDoesNotBlock(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewServer(t)
	s.Script("/", hostiletest.Reply{Body: "ok"})
	const n = 70 // more than Arrived buffers
	for i := range n {
		if _, body := get(t, s.Client(), s.URL+"/?i="+strconv.Itoa(i), nil); body != "ok" {
			t.Fatalf("request %d: body %q, want ok", i, body)
		}
	}
	if got := len(s.Requests()); got != n {
		t.Errorf("%d requests recorded, want %d", got, n)
	}
	if got := len(s.Arrived()); got == 0 || got >= n {
		t.Errorf("Arrived holds %d requests, want some and fewer than %d", got, n)
	}
}

package hostiletest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Encodings returns the forms a secret takes when a program or a server
// writes it out, by name: "raw", "json" (encoding/json, with \u0026
// \u003c \u003e), "json-nohtml", "go-quoted", "go-quoted-ascii", "html",
// "url-path", "url-query", "url-segment" (as in the path of a URL),
// "base64", "base64-url", "basic-auth" (base64 of "user:" and the secret,
// as in an Authorization header), "json-json" and "go-quoted-json" (a JSON
// body holding the secret, quoted again). Quoted forms are without their
// quotes. A server test echoes them to check that a client redacts them;
// [FindSecret] looks for them.
func Encodings(secret string) map[string]string {
	jsonBody := func(s string, escapeHTML bool) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		_ = enc.Encode(s) // a string always encodes
		q := strings.TrimSuffix(b.String(), "\n")
		return q[1 : len(q)-1]
	}
	unquote := func(q string) string { return q[1 : len(q)-1] }
	return map[string]string{
		"raw":             secret,
		"json":            jsonBody(secret, true),
		"json-nohtml":     jsonBody(secret, false),
		"go-quoted":       unquote(strconv.Quote(secret)),
		"go-quoted-ascii": unquote(strconv.QuoteToASCII(secret)),
		"html":            html.EscapeString(secret),
		"url-path":        url.PathEscape(secret),
		"url-query":       url.QueryEscape(secret),
		"url-segment":     (&url.URL{Path: secret}).EscapedPath(),
		"base64":          base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64-url":      base64.URLEncoding.EncodeToString([]byte(secret)),
		"basic-auth":      base64.StdEncoding.EncodeToString([]byte("user:" + secret)),
		"json-json":       jsonBody(jsonBody(secret, true), true),
		"go-quoted-json":  unquote(strconv.Quote(jsonBody(secret, true))),
	}
}

// FindSecret returns the names of the [Encodings] of secret that occur in
// text, sorted, and two more:
//   - "base64 fragment" when base64 text decodes, at any alignment, to a
//     piece of the secret, whatever came before it in the encoded data;
//   - "escaped piece" when a piece of the secret shows in text unescaped up
//     to four times (backslash escapes as in JSON and Go, then %XX and
//     HTML entities): a form quoted many times, or cut short.
//
// A piece is 6 consecutive bytes, or the whole secret when shorter: it is
// meant for secrets of 6 bytes or more.
func FindSecret(text, secret string) []string {
	if secret == "" {
		return nil
	}
	var found []string
	for name, enc := range Encodings(secret) {
		if strings.Contains(text, enc) {
			found = append(found, name)
		}
	}
	if base64Holds(text, secret) {
		found = append(found, "base64 fragment")
	}
	if escapedHolds(text, secret) {
		found = append(found, "escaped piece")
	}
	sort.Strings(found)
	return found
}

// pieces returns the pieces of secret that FindSecret looks for.
func pieces(secret string) []string {
	w := min(6, len(secret))
	var out []string
	for k := 0; k+w <= len(secret); k++ {
		out = append(out, secret[k:k+w])
	}
	return out
}

// escapedHolds reports whether a piece of secret shows in text unescaped.
func escapedHolds(text, secret string) bool {
	ps := pieces(secret)
	view := text
	for range 5 {
		for _, v := range []string{view, html.UnescapeString(view), percentDecode(view, false), percentDecode(view, true)} {
			for _, p := range ps {
				if strings.Contains(v, p) {
					return true
				}
			}
		}
		next := unbackslash(view)
		if next == view {
			break
		}
		view = next
	}
	return false
}

// unbackslash undoes the backslash escapes of JSON and Go strings where
// they are valid, and keeps the rest of s as it is.
func unbackslash(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	simple := map[byte]string{'"': `"`, '\\': `\`, '/': "/", '\'': "'", 'n': "\n", 't': "\t", 'r': "\r", 'b': "\b", 'f': "\f", 'a': "\a", 'v': "\v"}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		c := s[i+1]
		if r, ok := simple[c]; ok {
			b.WriteString(r)
			i++
			continue
		}
		var size int
		switch c {
		case 'x':
			size = 2
		case 'u':
			size = 4
		case 'U':
			size = 8
		}
		if size > 0 && i+2+size <= len(s) {
			if n, err := strconv.ParseUint(s[i+2:i+2+size], 16, 32); err == nil {
				if c == 'x' {
					b.WriteByte(byte(n))
				} else if r := rune(n); utf16.IsSurrogate(r) && i+2+size+6 <= len(s) && s[i+2+size:i+4+size] == `\u` {
					if lo, err := strconv.ParseUint(s[i+4+size:i+8+size], 16, 32); err == nil && r < 0xDC00 && lo >= 0xDC00 && lo <= 0xDFFF {
						// A high surrogate and a low one: one rune. Anything
						// else leaves the next escape to the next round.
						b.WriteRune(utf16.DecodeRune(r, rune(lo)))
						i += 1 + size + 6
						continue
					}
					b.WriteRune(r)
				} else {
					b.WriteRune(r)
				}
				i += 1 + size
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// percentDecode decodes the valid %XX escapes of s, and with plus, '+' as
// a space.
func percentDecode(s string, plus bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '%' && i+2 < len(s):
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
			b.WriteByte(s[i])
		case s[i] == '+' && plus:
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// base64Holds reports whether a run of base64 characters in text decodes,
// from any of its four alignments, in either alphabet, to bytes holding
// min(6, len(secret)) consecutive bytes of secret.
func base64Holds(text, secret string) bool {
	w := min(6, len(secret))
	isB64 := func(c byte) bool {
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("+/-_", c) >= 0
	}
	for i := 0; i < len(text); {
		if !isB64(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isB64(text[j]) {
			j++
		}
		run := text[i:j]
		i = j
		if len(run)*6/8 < w {
			continue
		}
		for shift := 0; shift < 4 && shift < len(run); shift++ {
			for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
				var dec []byte
				for g := run[shift:]; len(g) >= 2; g = g[min(4, len(g)):] {
					b, err := enc.DecodeString(g[:min(4, len(g))])
					if err != nil {
						b = []byte{0, 0, 0} // not this alphabet: breaks any match
					}
					dec = append(dec, b...)
				}
				for k := 0; k+w <= len(secret); k++ {
					if bytes.Contains(dec, []byte(secret[k:k+w])) {
						return true
					}
				}
			}
		}
	}
	return false
}

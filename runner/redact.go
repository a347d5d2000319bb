package runner

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/csmplan/csmplan/internal/termsafe"
)

// Redacted replaces secret values everywhere a run writes.
const Redacted = "[redacted]"

// redactor replaces the values of secret params in strings and in values,
// in every encoding a value takes on its way out: as is, JSON-escaped, Go
// quoted, made safe for a terminal (termsafe), HTML-escaped,
// URL-escaped, base64 (alone or inside a longer encoded text, as in a Basic
// auth header), and each form quoted twice more (a JSON body quoted in a
// message). A secret of several lines is redacted line by line too. Where a
// message was cut short (where it says "..." or "[truncated"), the piece of
// a form on either side of the cut is redacted as well.
//
// Every non-empty secret is redacted, however short, as it is and escaped.
// Only the forms that exist for long secrets have a minimum length, so as
// not to match unrelated text: base64 forms of minBase64 characters, lines
// and cut pieces of minPiece bytes.
type redactor struct {
	forms []string // every form, longest first
	// A form is looked up by its first two bytes (pairs says which pairs
	// start one), or by its one byte (single); a cut piece at the end of a
	// form by its last two bytes (lastPairs).
	pairs      bitset
	byPair     map[uint16][]string // longest first
	single     [256]bool
	lastPairs  bitset
	byLastPair map[uint16][]string
	longest    int // bytes of the longest form
}

// bitset is a set of pairs of bytes.
type bitset [1 << 16 / 64]uint64

func pair(a, b byte) uint16 { return uint16(a)<<8 | uint16(b) }

func (s *bitset) add(k uint16)      { s[k/64] |= 1 << (k % 64) }
func (s *bitset) has(k uint16) bool { return s[k/64]&(1<<(k%64)) != 0 }

// Minimum lengths of the forms that only long secrets have.
const (
	minBase64 = 6 // characters of a base64 form
	minPiece  = 4 // bytes of a line of a secret, or of a form cut short
)

func newRedactor(secrets []string) *redactor {
	seen := map[string]bool{}
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, f := range encodings(s) {
			if f != "" && !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	// Longest first, so that of two forms found at the same place the
	// longer is counted whole.
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	x := &redactor{forms: forms, byPair: map[uint16][]string{}, byLastPair: map[uint16][]string{}}
	for _, f := range forms {
		x.longest = max(x.longest, len(f))
		if len(f) == 1 {
			x.single[f[0]] = true
			continue
		}
		k := pair(f[0], f[1])
		x.pairs.add(k)
		x.byPair[k] = append(x.byPair[k], f)
		k = pair(f[len(f)-2], f[len(f)-1])
		x.lastPairs.add(k)
		x.byLastPair[k] = append(x.byLastPair[k], f)
	}
	return x
}

// match returns the length of the longest form at the start of s, or 0.
func (x *redactor) match(s string) int {
	if len(s) > 1 {
		if k := pair(s[0], s[1]); x.pairs.has(k) {
			for _, f := range x.byPair[k] {
				if strings.HasPrefix(s, f) {
					return len(f)
				}
			}
		}
	}
	if x.single[s[0]] {
		return 1
	}
	return 0
}

// headBefore returns the length of the longest start of a form, of
// minPiece bytes or more, that ends s; or 0.
func (x *redactor) headBefore(s string) int {
	for n := min(x.longest, len(s)); n >= minPiece; n-- {
		piece := s[len(s)-n:]
		if k := pair(piece[0], piece[1]); x.pairs.has(k) {
			for _, f := range x.byPair[k] {
				if strings.HasPrefix(f, piece) {
					return n
				}
			}
		}
	}
	return 0
}

// tailAfter returns the length of the longest end of a form, of minPiece
// bytes or more, that starts s; or 0.
func (x *redactor) tailAfter(s string) int {
	for n := min(x.longest, len(s)); n >= minPiece; n-- {
		piece := s[:n]
		if k := pair(piece[n-2], piece[n-1]); x.lastPairs.has(k) {
			for _, f := range x.byLastPair[k] {
				if strings.HasSuffix(f, piece) {
					return n
				}
			}
		}
	}
	return 0
}

// escapers are the escapings a string goes through on the way out.
var escapers = []func(string) string{
	jsonGo(true),  // encoding/json: \" \\ \u003c \u003e \u0026
	jsonGo(false), // encoding/json without HTML escaping
	jsonMinimal(false),
	jsonMinimal(true), // and every non-ASCII rune as \uXXXX
	quoted(strconv.Quote),
	quoted(strconv.QuoteToASCII),
	termsafe.String, // how the http action shows what a server said
	termsafe.Text,
	html.EscapeString,
	url.PathEscape,
	url.QueryEscape,
	escapedPath,
	lowerHex(url.PathEscape),
	lowerHex(url.QueryEscape),
	lowerHex(escapedPath),
}

// quoters are the escapings that wrap a text already escaped, as a JSON
// body is quoted in a message, or a message in JSON.
var quoters = []func(string) string{jsonGo(true), jsonGo(false), quoted(strconv.Quote)}

// encodings returns the forms of secret to redact: itself, its lines, its
// base64 forms, each escaped, and each escaped form quoted once and twice.
func encodings(secret string) []string {
	first := []string{secret}
	if strings.ContainsAny(secret, "\r\n") {
		for _, l := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if len(l) >= minPiece {
				first = append(first, l)
			}
		}
	}
	first = append(first, base64Forms(secret)...)
	out := append([]string(nil), first...)
	for _, f := range first {
		for _, esc := range escapers {
			out = append(out, esc(f))
		}
	}
	level := out
	for range 2 {
		var next []string
		for _, f := range level {
			for _, q := range quoters {
				next = append(next, q(f))
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// base64Forms returns the base64 texts that only the bytes of secret
// determine, in the standard and the URL alphabet: for each of the three
// places (modulo 3) the secret may start at in the encoded data, the
// characters that only its bits make, and those followed by the final
// characters (padded or not) for a secret that ends the data.
func base64Forms(secret string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for k := 0; k < 3; k++ {
			data := append(make([]byte, k), secret...)
			full := enc.EncodeToString(data)
			// Characters before start hold bits of the k bytes before the
			// secret; from end on, bits of what follows it (or padding).
			start, end := (8*k+5)/6, (8*k+8*len(secret))/6
			tail := strings.TrimRight(full, "=")
			for _, f := range []string{full[start:end], full[start:], tail[start:]} {
				if len(f) >= minBase64 {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// jsonGo returns the body of a JSON string as encoding/json writes it.
func jsonGo(escapeHTML bool) func(string) string {
	return func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if err := enc.Encode(s); err != nil {
			return s
		}
		out := strings.TrimSuffix(b.String(), "\n")
		return out[1 : len(out)-1]
	}
}

// jsonMinimal returns the body of a JSON string with only what JSON
// requires escaped: '"', '\' and control characters; with ascii, every
// non-ASCII rune too, as Python's json module writes it.
func jsonMinimal(ascii bool) func(string) string {
	return func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r == '"' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r < 0x20:
				fmt.Fprintf(&b, `\u%04x`, r)
			case ascii && r > 0x7f:
				if r > 0xffff {
					r1, r2 := utf16Pair(r)
					fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
				} else {
					fmt.Fprintf(&b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
		return b.String()
	}
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// escapedPath escapes s as the path of a URL.
func escapedPath(s string) string { return (&url.URL{Path: s}).EscapedPath() }

// quoted returns the body of the string that quote makes.
func quoted(quote func(string) string) func(string) string {
	return func(s string) string {
		q := quote(s)
		return q[1 : len(q)-1]
	}
}

// lowerHex returns esc with its %XX escapes in lower case, as some
// clients and servers write them.
func lowerHex(esc func(string) string) func(string) string {
	return func(s string) string {
		e := []byte(esc(s))
		for i := 0; i+2 < len(e); i++ {
			if e[i] == '%' {
				for _, j := range []int{i + 1, i + 2} {
					if 'A' <= e[j] && e[j] <= 'F' {
						e[j] += 'a' - 'A'
					}
				}
				i += 2
			}
		}
		return string(e)
	}
}

// String returns s with every form of every secret replaced by Redacted.
// Where forms overlap, the whole stretch they cover is replaced, so that no
// part of a secret stays.
func (x *redactor) String(s string) string {
	if x == nil || len(x.forms) == 0 || s == "" {
		return s
	}
	var spans [][2]int // [start, end) to replace
	add := func(start, end int) {
		if n := len(spans); n > 0 && start <= spans[n-1][1] {
			spans[n-1][1] = max(spans[n-1][1], end)
			return
		}
		spans = append(spans, [2]int{start, end})
	}
	for i := 0; i < len(s); i++ {
		if n := x.match(s[i:]); n > 0 {
			add(i, i+n)
		}
	}
	spans = append(spans, x.cuts(s)...)
	if len(spans) == 0 {
		return s
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	var b strings.Builder
	at := 0
	for i := 0; i < len(spans); {
		start, end := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] <= end; i++ {
			end = max(end, spans[i][1])
		}
		b.WriteString(s[at:start])
		b.WriteString(Redacted)
		at = end
	}
	b.WriteString(s[at:])
	return b.String()
}

// cutMarkers are what the writers of messages put where they cut a text
// short: plan.Brief, firstLine and lastLines "...", the capped outputs of
// actions "[truncated N bytes]".
var cutMarkers = []string{"...", "[truncated "}

// cuts returns the spans of s that hold a piece of a form cut short: the
// start of a form before a cut marker, the end of a form after "...".
func (x *redactor) cuts(s string) [][2]int {
	var spans [][2]int
	before := func(p int) {
		if n := x.headBefore(s[:p]); n > 0 {
			spans = append(spans, [2]int{p - n, p})
		}
	}
	after := func(q int) {
		if n := x.tailAfter(s[q:]); n > 0 {
			spans = append(spans, [2]int{q, q + n})
		}
	}
	for _, m := range cutMarkers {
		for from := 0; ; {
			i := strings.Index(s[from:], m)
			if i < 0 {
				break
			}
			p := from + i
			before(p)
			if p > 0 && s[p-1] == '\n' {
				before(p - 1)
			}
			q := p + len(m)
			for m == "..." && q < len(s) && s[q] == '.' {
				q++ // a run of dots is one cut
			}
			if m == "..." {
				after(q)
			}
			from = q
		}
	}
	return spans
}

// Value returns a copy of v with every string redacted. Values without
// secrets are returned as they are.
func (x *redactor) Value(v any) any {
	if x == nil || len(x.forms) == 0 {
		return v
	}
	switch t := v.(type) {
	case string:
		return x.String(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = x.Value(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[x.String(k)] = x.Value(e)
		}
		return out
	case []string:
		out := make([]string, len(t))
		for i, e := range t {
			out[i] = x.String(e)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, e := range t {
			out[x.String(k)] = x.String(e)
		}
		return out
	}
	return v
}

// Map returns a copy of m with every string redacted.
func (x *redactor) Map(m map[string]any) map[string]any {
	if m == nil || x == nil || len(x.forms) == 0 {
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

// Error returns err with a redacted message, or err itself when its
// message holds no secret.
func (x *redactor) Error(err error) error {
	if err == nil || x == nil || len(x.forms) == 0 {
		return err
	}
	msg := err.Error()
	if red := x.String(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

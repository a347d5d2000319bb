package termsafe_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/csmplan/csmplan/internal/termsafe"
)

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text, déjà vu, 日本", "plain text, déjà vu, 日本"},
		{"tab\tkept", "tab\tkept"},
		{"IWNR1234E: \x1b[2J\x1b[31m FAKE: upgrade complete", `IWNR1234E: \x1b[2J\x1b[31m FAKE: upgrade complete`},
		{"a\nb\r\nc\rd", `a\nb\r\nc\rd`},
		{"bell\a nul\x00 del\x7f", `bell\x07 nul\x00 del\x7f`},
		{"c1 \u009b2J and \u0085", `c1 \u009b2J and \u0085`},
		{"lone byte \x9b2J", `lone byte \x9b2J`},
		{"cut \xe2\x80", `cut \xe2\x80`},
		{"bidi \u202eevil\u202c \u2066x\u2069 \u200e\u200f\u061c", `bidi \u202eevil\u202c \u2066x\u2069 \u200e\u200f\u061c`},
		{"ls\u2028ps\u2029", `ls\u2028ps\u2029`},
		{"replacement \ufffd kept", "replacement \ufffd kept"},
		{`backslash \x1b as typed`, `backslash \x1b as typed`},
	}
	for _, tt := range tests {
		if got := termsafe.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"line 1\nline 2\n", "line 1\nline 2\n"},
		{"crlf\r\nline\x1b[K\n", "crlf\\r\nline\\x1b[K\n"},
		{"\t| indented\n", "\t| indented\n"},
		{"\u202e\n", `\u202e` + "\n"},
	}
	for _, tt := range tests {
		if got := termsafe.Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJSON(t *testing.T) {
	in := map[string]string{"m": "IWNR1234E: \x1b[2J del\x7f c1\u009b bidi\u202e ls\u2028 ok é\tx\ny"}
	enc, err := json.MarshalIndent(in, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	got := termsafe.JSON(enc)
	if s := string(got); termsafe.Text(s) != s {
		t.Errorf("JSON left something to escape: %q", s)
	}
	for _, want := range []string{`\u001b[2J`, `del\u007f`, `c1\u009b`, `bidi\u202e`, `ls\u2028`, "ok é", "{\n\t\"m\""} {
		if !strings.Contains(string(got), want) {
			t.Errorf("JSON = %s, does not contain %q", got, want)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("not JSON any more: %v: %s", err, got)
	}
	if back["m"] != in["m"] {
		t.Errorf("decodes to %q, want %q", back["m"], in["m"])
	}
	if got := termsafe.JSON([]byte(`"ok"`)); string(got) != `"ok"` {
		t.Errorf("JSON changed clean input: %s", got)
	}
}

// safe reports whether s holds nothing String would escape, \n excepted.
func safe(s string) bool {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\ufffd"):
			return false
		case r < 0x20 && r != '\n' && r != '\t', r >= 0x7f && r <= 0x9f:
			return false
		case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x2028 && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return false
		}
	}
	return true
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a\x1b[2Jb", "\u202e\u009b\x9b\n\r\t", "\xe2\x80", "é\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		one, text := termsafe.String(s), termsafe.Text(s)
		if !safe(one) || strings.Contains(one, "\n") {
			t.Errorf("String(%q) = %q: not safe on one line", s, one)
		}
		if !safe(text) || strings.Count(text, "\n") != strings.Count(s, "\n") {
			t.Errorf("Text(%q) = %q: not safe, or lines changed", s, text)
		}
		if safe(s) && !strings.Contains(s, "\n") && one != s {
			t.Errorf("String(%q) = %q: changed a safe string", s, one)
		}
		if utf8.ValidString(s) {
			enc, _ := json.Marshal(s)
			var back string
			if err := json.Unmarshal(termsafe.JSON(enc), &back); err != nil || back != s {
				t.Errorf("JSON(%s) decodes to %q, %v; want %q", enc, back, err, s)
			}
		}
	})
}

func ExampleString() {
	msg := "IWNR1234E: \x1b[2J\x1b[31m FAKE: upgrade complete"
	fmt.Println(termsafe.String(msg))
	// Output: IWNR1234E: \x1b[2J\x1b[31m FAKE: upgrade complete
}

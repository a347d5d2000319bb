//go:build unix

package remote

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		argv []string
		want string
	}{
		{nil, ""},
		{[]string{""}, `''`},
		{[]string{"ls"}, `'ls'`},
		{[]string{"echo", "a b"}, `'echo' 'a b'`},
		{[]string{"'"}, `''\'''`},
		{[]string{"it's"}, `'it'\''s'`},
		{[]string{"''"}, `''\'''\'''`},
		{[]string{`"$HOME"`, "`id`", `\n`}, `'"$HOME"' '` + "`id`" + `' '\n'`},
		{[]string{"a\nb"}, "'a\nb'"},
		{[]string{"*", "~", "!", ";", "&&"}, `'*' '~' '!' ';' '&&'`},
	}
	for _, tc := range tests {
		if got := Quote(tc.argv); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}

// TestQuoteShellRoundTrip has /bin/sh parse Quote's output and print each
// word NUL-terminated: every argument must come back byte for byte.
func TestQuoteShellRoundTrip(t *testing.T) {
	t.Parallel()
	args := append([]string{}, trickyArgs...)
	for b := 1; b < 256; b++ { // every byte but NUL, alone and in context
		args = append(args, string([]byte{byte(b)}), "x"+string([]byte{byte(b)})+"'y")
	}
	script := `printf '%s\0' ` + Quote(args)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sh -c: %v (stderr %q)", err, stderr.String())
	}
	got := strings.Split(stdout.String(), "\x00")
	got = got[:len(got)-1]
	if len(got) != len(args) {
		t.Fatalf("sh saw %d words, want %d", len(got), len(args))
	}
	for i := range args {
		if got[i] != args[i] {
			t.Errorf("word %d = %q, want %q", i, got[i], args[i])
		}
	}
}

func TestShellLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"argv only", Command{Argv: []string{"ls", "-l"}}, `'ls' '-l'`},
		{"env sorted", Command{Argv: []string{"x"}, Env: map[string]string{"Z": "1", "A": "it's"}}, `env 'A=it'\''s' 'Z=1' 'x'`},
		{"dir", Command{Argv: []string{"x"}, Dir: "/srv/my app"}, `cd '/srv/my app' && 'x'`},
		{"dir starting with a dash", Command{Argv: []string{"x"}, Dir: "-rf"}, `cd './-rf' && 'x'`},
		{"all", Command{Argv: []string{"x"}, Dir: "d", Env: map[string]string{"K": "V"}}, `cd 'd' && env 'K=V' 'x'`},
	}
	for _, tc := range tests {
		if got := shellLine(tc.cmd); got != tc.want {
			t.Errorf("%s: shellLine = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func ExampleQuote() {
	fmt.Println(Quote([]string{"psql", "-c", "select 'it''s' from t where x = $1"}))
	// Output: 'psql' '-c' 'select '\''it'\'''\''s'\'' from t where x = $1'
}

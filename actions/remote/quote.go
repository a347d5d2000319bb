package remote

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Quote joins argv into one POSIX shell command line in which every element is
// a single word with its exact bytes. Each element is wrapped in single
// quotes, and each single quote inside it is written as quote, backslash,
// quote, quote (close the quoting, an escaped quote, reopen):
//
//	Quote([]string{"echo", "it's $HOME"})  →  'echo' 'it'\''s $HOME'
//
// Nothing inside single quotes is special to a POSIX shell, so $, `, \, !, *,
// ~, spaces and newlines pass through unchanged. An empty element becomes a
// pair of single quotes and an empty argv becomes the empty string.
//
// A NUL byte cannot be passed through a shell; Quote does not reject it (it
// returns a string), but [SSH.Run] refuses commands that contain one.
func Quote(argv []string) string {
	var b strings.Builder
	for i, arg := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		quoteTo(&b, arg)
	}
	return b.String()
}

// quoteTo writes s to b as one single-quoted POSIX shell word.
func quoteTo(b *strings.Builder, s string) {
	b.WriteByte('\'')
	b.WriteString(strings.ReplaceAll(s, `'`, `'\''`))
	b.WriteByte('\'')
}

// shellLine renders cmd as the command line sent to a remote POSIX shell:
//
//	cd 'dir' && env 'K=V' ... 'argv0' 'argv1' ...
//
// The cd part appears only when Dir is set, the env part only when Env is
// not empty (variables sorted by name, so the line is deterministic). cmd
// must have passed validate.
func shellLine(cmd Command) string {
	var b strings.Builder
	if cmd.Dir != "" {
		dir := cmd.Dir
		if strings.HasPrefix(dir, "-") {
			// cd would read a leading '-' as an option ("cd -" even
			// means the previous directory).
			dir = "./" + dir
		}
		b.WriteString("cd ")
		quoteTo(&b, dir)
		b.WriteString(" && ")
	}
	if len(cmd.Env) > 0 {
		b.WriteString("env")
		for _, kv := range envList(cmd.Env) {
			b.WriteByte(' ')
			quoteTo(&b, kv)
		}
		b.WriteByte(' ')
	}
	b.WriteString(Quote(cmd.Argv))
	return b.String()
}

// envList returns env as sorted "K=V" strings.
func envList(env map[string]string) []string {
	keys := slices.Sorted(maps.Keys(env))
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + env[k]
	}
	return out
}

// validate reports the first problem that makes cmd impossible to run
// faithfully, both locally and through a remote shell.
func (c Command) validate() error {
	if len(c.Argv) == 0 {
		return errors.New("command has an empty argv")
	}
	if c.Argv[0] == "" {
		return errors.New("command argv[0] (the program) is empty")
	}
	for i, a := range c.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("command argv[%d] contains a NUL byte", i)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		if !validEnvName(k) {
			return fmt.Errorf("command env name %q is not a valid variable name (letters, digits and '_', not starting with a digit)", k)
		}
		if strings.IndexByte(c.Env[k], 0) >= 0 {
			return fmt.Errorf("command env %s contains a NUL byte", k)
		}
	}
	if strings.IndexByte(c.Dir, 0) >= 0 {
		return errors.New("command dir contains a NUL byte")
	}
	return nil
}

// validEnvName reports whether name is a portable environment variable name:
// [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
)

// builtins returns a registry holding only the built-ins.
func builtins(t *testing.T) *actions.Registry {
	t.Helper()
	r := actions.NewRegistry()
	if err := actions.RegisterBuiltins(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func newCall(name string, args map[string]any) *actions.Call {
	return &actions.Call{Step: "step-1", Name: name, Args: args, Clock: actionstest.NewClock(actionstest.Epoch), Attempt: 1}
}

func runAction(t *testing.T, name string, args map[string]any) (actions.Outputs, error) {
	t.Helper()
	a, err := builtins(t).NewAction(name)
	if err != nil {
		t.Fatal(err)
	}
	return a.Run(context.Background(), newCall(name, args))
}

func observe(t *testing.T, name string, args map[string]any) (any, error) {
	t.Helper()
	p, err := builtins(t).NewProbe(name)
	if err != nil {
		t.Fatal(err)
	}
	return p.Observe(context.Background(), newCall(name, args))
}

func sh(script string, args ...any) []any {
	return append([]any{"/bin/sh", "-c", script, "sh"}, args...)
}

func TestExecOutputsAndExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    map[string]any
		want    actions.Outputs
		wantErr []string // substrings of the error; nil means success
	}{{
		name: "stdout and stderr",
		args: map[string]any{"argv": sh(`echo out; echo err >&2`)},
		want: actions.Outputs{"exit_code": int64(0), "stdout": "out\n", "stderr": "err\n"},
	}, {
		name: "arguments are not split by a shell",
		args: map[string]any{"argv": sh(`printf '%s|' "$@"`, "a b", "$HOME", "")},
		want: actions.Outputs{"exit_code": int64(0), "stdout": "a b|$HOME||", "stderr": ""},
	}, {
		name: "env is added to the inherited environment",
		args: map[string]any{"argv": sh(`echo "$CSMPLAN_A $CSMPLAN_B ${PATH:+has-path}"`), "env": map[string]any{"CSMPLAN_A": "1", "CSMPLAN_B": "two words"}},
		want: actions.Outputs{"exit_code": int64(0), "stdout": "1 two words has-path\n", "stderr": ""},
	}, {
		name: "dir",
		args: map[string]any{"argv": []any{"pwd"}, "dir": dir},
		want: actions.Outputs{"exit_code": int64(0), "stdout": mustEvalSymlinks(t, dir) + "\n", "stderr": ""},
	}, {
		name: "stdin",
		args: map[string]any{"argv": []any{"cat"}, "stdin": "line 1\nline 2\n"},
		want: actions.Outputs{"exit_code": int64(0), "stdout": "line 1\nline 2\n", "stderr": ""},
	}, {
		name: "no stdin means empty input",
		args: map[string]any{"argv": []any{"cat"}},
		want: actions.Outputs{"exit_code": int64(0), "stdout": "", "stderr": ""},
	}, {
		name:    "non-zero exit fails with the program, code and last lines of stderr",
		args:    map[string]any{"argv": sh(`echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 3`)},
		want:    actions.Outputs{"exit_code": int64(3), "stdout": "", "stderr": "one\ntwo\nthree\nfour\n"},
		wantErr: []string{`exec "/bin/sh": exit code 3: two | three | four`},
	}, {
		name: "ok_exit_codes as float64 from JSON",
		args: map[string]any{"argv": sh(`exit 3`), "ok_exit_codes": []any{float64(0), float64(3)}},
		want: actions.Outputs{"exit_code": int64(3), "stdout": "", "stderr": ""},
	}, {
		name: "ok_exit_codes as int64 and int",
		args: map[string]any{"argv": sh(`exit 4`), "ok_exit_codes": []any{int64(4), 5}},
		want: actions.Outputs{"exit_code": int64(4), "stdout": "", "stderr": ""},
	}, {
		name:    "killed by a signal",
		args:    map[string]any{"argv": sh(`echo dying >&2; kill -9 $$`)},
		want:    actions.Outputs{"exit_code": int64(128 + 9), "stdout": "", "stderr": "dying\n"}, // as a shell reports SIGKILL
		wantErr: []string{`exec "/bin/sh": exit code 137: dying`},
	}, {
		name:    "zero not in ok_exit_codes",
		args:    map[string]any{"argv": []any{"true"}, "ok_exit_codes": []any{1}},
		want:    actions.Outputs{"exit_code": int64(0), "stdout": "", "stderr": ""},
		wantErr: []string{`exec "true": exit code 0 (ok_exit_codes [1])`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := runAction(t, "exec", tt.args)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Run: %v", err)
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("Run error = %v, want it to contain %q", err, w)
				}
			}
			if err != nil && actions.IsPermanent(err) {
				t.Errorf("a failed exit code is permanent; retries should be allowed: %v", err)
			}
			assertEqual(t, out, tt.want)
		})
	}
}

func TestExecProbeObservesNonZeroExit(t *testing.T) {
	t.Parallel()
	v, err := observe(t, "exec", map[string]any{"argv": sh(`echo nope; exit 7`)})
	if err != nil {
		t.Fatalf("Observe: %v; a non-zero exit is observed, not an error", err)
	}
	assertEqual(t, v, map[string]any{"exit_code": int64(7), "stdout": "nope\n", "stderr": ""})
	if _, err := observe(t, "exec", map[string]any{"argv": []any{"true"}, "ok_exit_codes": []any{0}}); err == nil || !actions.IsPermanent(err) {
		t.Errorf("exec probe with ok_exit_codes: %v, want a permanent argument error", err)
	}
}

func TestExecOutputCap(t *testing.T) {
	t.Parallel()
	out, err := runAction(t, "exec", map[string]any{"argv": sh(`head -c 1049576 /dev/zero | tr '\0' a; head -c 10 /dev/zero | tr '\0' b >&2`)})
	if err != nil {
		t.Fatal(err)
	}
	stdout := out["stdout"].(string)
	want := strings.Repeat("a", 1<<20) + "\n[truncated 1000 bytes]"
	if stdout != want {
		t.Errorf("stdout: %d bytes ending %q, want 1 MiB of a and the note", len(stdout), stdout[max(0, len(stdout)-40):])
	}
	if got := out["stderr"]; got != "bbbbbbbbbb" {
		t.Errorf("stderr = %q, want it whole", got)
	}
}

func TestExecNotFoundIsPermanent(t *testing.T) {
	t.Parallel()
	for _, argv0 := range []string{"csmplan-no-such-program", filepath.Join(t.TempDir(), "missing")} {
		_, err := runAction(t, "exec", map[string]any{"argv": []any{argv0}})
		if err == nil || !actions.IsPermanent(err) || !strings.Contains(err.Error(), argv0) {
			t.Errorf("exec %s = %v, want a permanent error naming it", argv0, err)
		}
	}
}

func TestExecBadArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, `argument "argv": is required`},
		{map[string]any{"argv": "ls -l"}, `argument "argv": want a list of strings, got a string`},
		{map[string]any{"argv": []any{}}, `argument "argv": the program (argv[0]) must not be empty`},
		{map[string]any{"argv": []any{"ls", 3}}, `argument "argv": element 1: want a string, got an integer`},
		{map[string]any{"argv": []any{"ls"}, "env": map[string]any{"A": 1}}, `argument "env": key "A": want a string, got an integer`},
		{map[string]any{"argv": []any{"ls"}, "env": map[string]any{"A=B": "x"}}, `argument "env": invalid variable name "A=B"`},
		{map[string]any{"argv": []any{"ls"}, "dir": true}, `argument "dir": want a string, got a boolean`},
		{map[string]any{"argv": []any{"ls"}, "ok_exit_codes": []any{1.5}}, `argument "ok_exit_codes": element 0: want an integer, got a number`},
		{map[string]any{"argv": []any{"ls"}, "ok_exit_codes": []any{}}, `argument "ok_exit_codes": must list at least one exit code`},
		{map[string]any{"argv": []any{"ls"}, "ok_exit_codes": json.Number("0")}, `argument "ok_exit_codes": want a list of integers, got a number`},
	}
	for _, tt := range tests {
		_, err := runAction(t, "exec", tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("exec %v = %v, want an error containing %q", tt.args, err, tt.want)
			continue
		}
		if !actions.IsPermanent(err) {
			t.Errorf("exec %v: argument error %v is not permanent", tt.args, err)
		}
	}
}

func TestExecAlreadyCancelled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	a, _ := builtins(t).NewAction("exec")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Run(ctx, newCall("exec", map[string]any{"argv": []any{"touch", marker}}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the program ran although the context was cancelled (stat: %v)", err)
	}
}

// exec runs through the same executor as csm.install: this machine by
// default, the target's host over SSH when the target has ssh.user.
func TestExecOnTarget(t *testing.T) {
	t.Parallel()
	reg := actions.Default()
	a, err := reg.NewAction("exec")
	if err != nil {
		t.Fatal(err)
	}
	call := func(target map[string]any) *actions.Call {
		c := newCall("exec", map[string]any{"argv": []any{"echo", "hi"}, "target": "t"})
		if target != nil {
			c.Targets = map[string]map[string]any{"t": target}
		}
		return c
	}
	out, err := a.Run(context.Background(), call(map[string]any{"host": "h"}))
	if err != nil || out["stdout"] != "hi\n" {
		t.Fatalf("a target without ssh runs here: %v, %v", out, err)
	}
	_, err = a.Run(context.Background(), call(map[string]any{"host": "127.0.0.1:9559", "ssh": map[string]any{"user": "u"}}))
	if err == nil || !strings.Contains(err.Error(), `remote: ssh config for "127.0.0.1"`) || !actions.IsPermanent(err) {
		t.Fatalf("a target with ssh.user: err = %v, want the SSH executor's permanent config error for the host without its port", err)
	}
	if _, err := a.Run(context.Background(), call(nil)); err == nil || !strings.Contains(err.Error(), `no target named "t"`) {
		t.Fatalf("an unknown target: err = %v", err)
	}
}

package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os/exec"
	"slices"
	"strings"

	"github.com/csmplan/csmplan/actions/remote"
)

const execArgsCommon = `
    "argv": {
      "type": "array",
      "minItems": 1,
      "prefixItems": [{"type": "string", "minLength": 1}],
      "items": {"type": "string"},
      "description": "The program and its arguments, such as [\"systemctl\", \"status\", \"csm\"]. Never a shell string: argv[0] is looked up in PATH and run directly."
    },
    "env": {
      "type": "object",
      "additionalProperties": {"type": "string"},
      "propertyNames": {"pattern": "^[^=]+$"},
      "description": "Variables added to the environment the program inherits; a name that is already set is replaced."
    },
    "dir": {"type": "string", "minLength": 1, "description": "Working directory of the program; by default the current directory."},
    "stdin": {"type": "string", "description": "Text written to the program's standard input; by default the input is empty."},
    "target": {"type": "string", "minLength": 1, "description": "The runbook target on whose host the program runs: over SSH when the target has an ssh mapping with a user (host from the target's host; ssh.port, ssh.key_file, ssh.known_hosts, ssh.agent), else on this machine. By default this machine."}`

var execActionSpec = Spec{
	Name:    "exec",
	Summary: "Run a program (an argv list, never a shell string) and check its exit code",
	Args: json.RawMessage(`{
  "type": "object",
  "description": "Arguments of the exec action.",
  "additionalProperties": false,
  "required": ["argv"],
  "properties": {` + execArgsCommon + `,
    "ok_exit_codes": {
      "type": "array",
      "minItems": 1,
      "items": {"type": "integer"},
      "default": [0],
      "description": "Exit codes that mean success; any other fails the action. Default [0]."
    }
  }
}`),
	Outputs: []Output{
		{Name: "exit_code", Type: "integer", Description: "Exit code of the program; 128 plus the signal number when a signal killed it, as a shell reports it."},
		{Name: "stdout", Type: "string", Description: "Standard output, at most 1 MiB, followed by \"[truncated N bytes]\" when cut."},
		{Name: "stderr", Type: "string", Description: "Standard error, at most 1 MiB, followed by \"[truncated N bytes]\" when cut."},
	},
	Mutates:      true,
	TargetFields: RemoteTargetFields,
}

var execProbeSpec = Spec{
	Name:    "exec",
	Summary: "Run a read-only program (an argv list, never a shell string) and observe its exit code and output",
	Args: json.RawMessage(`{
  "type": "object",
  "description": "Arguments of the exec probe. A non-zero exit code is observed, not an error.",
  "additionalProperties": false,
  "required": ["argv"],
  "properties": {` + execArgsCommon + `
  }
}`),
	Outputs: []Output{
		{Name: "exit_code", Type: "integer", Description: "Exit code of the program; 128 plus the signal number when a signal killed it, as a shell reports it."},
		{Name: "stdout", Type: "string", Description: "Standard output, at most 1 MiB, followed by \"[truncated N bytes]\" when cut."},
		{Name: "stderr", Type: "string", Description: "Standard error, at most 1 MiB, followed by \"[truncated N bytes]\" when cut."},
	},
	TargetFields: RemoteTargetFields,
}

// newExecutor returns the executor of a call's target (nil: this machine).
type newExecutor func(target map[string]any) (remote.Executor, error)

// execArgs are the parsed arguments of exec.
type execArgs struct {
	argv    []string
	env     map[string]string
	dir     string
	stdin   *string
	okCodes []int
}

func parseExec(args map[string]any, withCodes bool) (execArgs, error) {
	var a execArgs
	if !HasArg(args, "argv") {
		return a, ArgErrorf("argv", "is required: the program and its arguments")
	}
	argv, err := StringsArg(args, "argv")
	if err != nil {
		return a, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return a, ArgErrorf("argv", "the program (argv[0]) must not be empty")
	}
	for i, s := range argv {
		if strings.ContainsRune(s, 0) {
			return a, ArgErrorf("argv", "element %d contains a NUL byte", i)
		}
	}
	a.argv = argv
	if a.env, err = OptStringMapArg(args, "env"); err != nil {
		return a, err
	}
	for _, k := range slices.Sorted(maps.Keys(a.env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return a, ArgErrorf("env", "invalid variable name %q", k)
		}
		if strings.ContainsRune(a.env[k], 0) {
			return a, ArgErrorf("env", "variable %q contains a NUL byte", k)
		}
	}
	if a.dir, err = OptStringArg(args, "dir", ""); err != nil {
		return a, err
	}
	if HasArg(args, "stdin") {
		stdin, err := StringArg(args, "stdin")
		if err != nil {
			return a, err
		}
		a.stdin = &stdin
	}
	if withCodes {
		if a.okCodes, err = OptIntsArg(args, "ok_exit_codes", []int{0}); err != nil {
			return a, err
		}
		if len(a.okCodes) == 0 {
			return a, ArgErrorf("ok_exit_codes", "must list at least one exit code")
		}
	} else if HasArg(args, "ok_exit_codes") {
		return a, ArgErrorf("ok_exit_codes", "is not an argument of the exec probe: every exit code is observed")
	}
	return a, nil
}

// execRun runs the command of a on the host of the call's target (this
// machine when it names none) and returns its outputs.
func execRun(ctx context.Context, newEx newExecutor, call *Call, a execArgs) (code int, stdout, stderr *cappedBuffer, err error) {
	stdout, stderr = newCappedBuffer(maxOutput), newCappedBuffer(maxOutput)
	var target map[string]any
	if name, _ := OptStringArg(call.Args, "target", ""); name != "" {
		if _, target, err = call.Target("target"); err != nil {
			return -1, stdout, stderr, Permanent(err)
		}
	}
	ex, err := newEx(target)
	if err != nil {
		return -1, stdout, stderr, fmt.Errorf("exec %q: %w", a.argv[0], err)
	}
	if c, ok := ex.(io.Closer); ok {
		defer c.Close()
	}
	c := remote.Command{Argv: a.argv, Env: a.env, Dir: a.dir, Stdout: stdout, Stderr: stderr}
	if a.stdin != nil {
		c.Stdin = strings.NewReader(*a.stdin)
	}
	code, err = ex.Run(ctx, c)
	if err != nil {
		if ctx.Err() != nil {
			return code, stdout, stderr, fmt.Errorf("exec %q: %w", a.argv[0], ContextError(ctx))
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			err = Permanent(err)
		}
		return code, stdout, stderr, fmt.Errorf("exec %q: %w", a.argv[0], err)
	}
	return code, stdout, stderr, nil
}

func execOutputs(code int, stdout, stderr *cappedBuffer) Outputs {
	return Outputs{"exit_code": int64(code), "stdout": stdout.String(), "stderr": stderr.String()}
}

// execAction runs a program and fails unless its exit code is acceptable.
type execAction struct{ newExecutor newExecutor }

var (
	_ Action    = (*execAction)(nil)
	_ Validator = (*execAction)(nil)
)

// Validate checks the arguments.
func (*execAction) Validate(args map[string]any) error {
	_, err := parseExec(args, true)
	return err
}

// Run runs the program. When its exit code is not one of ok_exit_codes, the
// outputs are returned together with an error naming the program, the code
// and the last lines of its stderr.
func (e *execAction) Run(ctx context.Context, call *Call) (Outputs, error) {
	if err := ContextError(ctx); err != nil {
		return nil, err
	}
	a, err := parseExec(call.Args, true)
	if err != nil {
		return nil, err
	}
	code, stdout, stderr, err := execRun(ctx, e.newExecutor, call, a)
	if err != nil {
		return nil, err
	}
	out := execOutputs(code, stdout, stderr)
	if !slices.Contains(a.okCodes, code) {
		msg := fmt.Sprintf("exec %q: exit code %d", a.argv[0], code)
		if !slices.Equal(a.okCodes, []int{0}) {
			msg += fmt.Sprintf(" (ok_exit_codes %v)", a.okCodes)
		}
		if tail := lastLines(stderr.Tail(), 3); tail != "" {
			msg += ": " + tail
		}
		return out, errors.New(msg)
	}
	return out, nil
}

// execProbe runs a program and observes its exit code and output.
type execProbe struct{ newExecutor newExecutor }

var (
	_ Probe     = (*execProbe)(nil)
	_ Validator = (*execProbe)(nil)
)

// Validate checks the arguments.
func (*execProbe) Validate(args map[string]any) error {
	_, err := parseExec(args, false)
	return err
}

// Observe runs the program; any exit code is observed, not an error.
func (e *execProbe) Observe(ctx context.Context, call *Call) (any, error) {
	if err := ContextError(ctx); err != nil {
		return nil, err
	}
	a, err := parseExec(call.Args, false)
	if err != nil {
		return nil, err
	}
	code, stdout, stderr, err := execRun(ctx, e.newExecutor, call, a)
	if err != nil {
		return nil, err
	}
	return map[string]any(execOutputs(code, stdout, stderr)), nil
}

package main

import (
	"bytes"
	"context"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// secretRunbook holds when its secret param is right: the runbook knows
// the password it wants, the test gives it in every way. A child process
// says whether it sees the environment variable the password may come in.
const secretRunbook = `apiVersion: csmplan/v1
kind: Runbook
name: secret
params:
  password: {type: string, secret: true, required: true}
  user: {type: string, default: admin}
steps:
  - id: check
    pre:
      - title: the password is right
        value: ${params.password}
        expect: {in: ["s3cret-Zq", "@s3cret-Zq"]}
  - id: child
    action: exec
    with: {argv: [sh, -c, 'echo "child sees [$${CSMPLAN_PARAM_PASSWORD-unset}]"']}
  - id: report
    action: log
    with: {message: "user ${params.user}; ${steps.child.outputs.stdout}"}
`

func TestSecretParams(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "secret.yaml", secretRunbook)
	writeFile(t, dir, "pw.txt", "s3cret-Zq\n")
	writeFile(t, dir, "pw-crlf.txt", "s3cret-Zq\r\n")
	writeFile(t, dir, "pw-wrong.txt", "wrong\n")
	writeFile(t, dir, "params.yaml", "password: from-the-params-file\n")
	const warning = "csmplan run: warning: password was given on the command line, where other users can see it with ps; use -p password=@FILE or the environment variable CSMPLAN_PARAM_PASSWORD"
	tests := []struct {
		name    string
		env     []string
		args    []string
		code    int
		warned  bool
		stdout  []string
		stderr  []string
		nowhere string // never in the output
	}{
		{name: "file", args: []string{"-p", "password=@pw.txt"}, code: exitOK,
			stdout: []string{"user admin; child sees [unset]", "Succeeded:"}},
		{name: "file with CRLF", args: []string{"-p", "password=@pw-crlf.txt"}, code: exitOK},
		{name: "wrong file", args: []string{"-p", "password=@pw-wrong.txt"}, code: exitFailed,
			nowhere: "wrong"},
		{name: "missing file", args: []string{"-p", "password=@nope.txt"}, code: exitUsage,
			stderr: []string{"-p password=@FILE: open nope.txt:", "written @@"}},
		{name: "literal @ escaped", args: []string{"-p", "password=@@s3cret-Zq"}, code: exitOK, warned: true},
		{name: "environment", env: []string{"CSMPLAN_PARAM_PASSWORD=s3cret-Zq"}, code: exitOK,
			stdout: []string{"child sees [unset]"}},
		{name: "environment wins over params file", env: []string{"CSMPLAN_PARAM_PASSWORD=s3cret-Zq"}, args: []string{"--params", "params.yaml"}, code: exitOK},
		{name: "-p wins over environment", env: []string{"CSMPLAN_PARAM_PASSWORD=wrong"}, args: []string{"-p", "password=@pw.txt"}, code: exitOK},
		{name: "literal", args: []string{"-p", "password=s3cret-Zq"}, code: exitOK, warned: true, nowhere: "s3cret-Zq"},
		{name: "not secret: @ is literal", args: []string{"-p", "password=@pw.txt", "-p", "user=@pw.txt"}, code: exitOK,
			stdout: []string{"user @pw.txt;"}},
		{name: "missing", code: exitUsage,
			stderr: []string{"param password: required", "secret ones with -p NAME=@FILE or CSMPLAN_PARAM_<NAME>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cliEnv(t, dir, tt.env, append([]string{"run", "secret.yaml"}, tt.args...)...)
			r.want(t, tt.code, "stdout", tt.stdout...)
			r.want(t, tt.code, "stderr", tt.stderr...)
			if got := strings.Contains(r.stderr, warning); got != tt.warned {
				t.Errorf("warned %v, want %v; %v", got, tt.warned, r)
			}
			if tt.nowhere != "" && strings.Contains(r.stdout+r.stderr, tt.nowhere) {
				t.Errorf("the secret %q is shown; %v", tt.nowhere, r)
			}
		})
	}
}

// TestSecretFromStdin gives the password through a pipe, as the README
// says: echo ... | csmplan run -p password=@/dev/stdin.
func TestSecretFromStdin(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/stdin")
	}
	dir := t.TempDir()
	writeFile(t, dir, "secret.yaml", secretRunbook)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "run", "secret.yaml", "-p", "password=@/dev/stdin")
	cmd.Dir, cmd.Env, cmd.WaitDelay = dir, testEnv(), 5*time.Second
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader("s3cret-Zq\n"), &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "warning") || !strings.Contains(out.String(), "Succeeded:") {
		t.Errorf("output:\n%s", out.String())
	}
}

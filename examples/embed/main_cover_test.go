package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// runMainEnv, set in the environment of this test binary, makes it the
// program: TestMain runs main instead of the tests, so that a test runs the
// program as a person does and sees its output and exit code.
const runMainEnv = "CSMPLAN_EMBED_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runProgram runs this test binary as the program with the environment
// added to this process's, and returns its output and exit code.
func runProgram(t *testing.T, env ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0])
	cmd.Env = append(os.Environ(), append(env, runMainEnv+"=1")...)
	if testing.CoverMode() != "" {
		// The program writes its coverage counters where this test
		// binary writes its own, so that they count.
		if f := flag.Lookup("test.gocoverdir"); f != nil && f.Value.String() != "" {
			dir, err := filepath.Abs(f.Value.String())
			if err != nil {
				t.Fatal(err)
			}
			cmd.Env = append(cmd.Env, "GOCOVERDIR="+dir)
		}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the program: %v", err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

func TestMainRunsTheRunbook(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	stdout, stderr, code := runProgram(t, "TMPDIR="+tmp)
	if code != 0 {
		t.Fatalf("exit code %d, want 0\n--- stdout:\n%s--- stderr:\n%s", code, stdout, stderr)
	}
	want := "[1/2] Greet someone with our own action: succeeded\n" +
		"[2/2] Create a marker file with a real process: succeeded\n" +
		"outcome: succeeded - said: HELLO, CSMPLAN!\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	// The program removes its working directory when it is done.
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("the program left %v in TMPDIR", left)
	}
}

func TestMainWithoutAWorkingDirectory(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing")
	stdout, stderr, code := runProgram(t, "TMPDIR="+missing)
	if code != 1 || !strings.Contains(stderr, missing) || stdout != "" {
		t.Errorf("with TMPDIR=%s: exit code %d, stdout %q, stderr %q; want 1 and an error naming the directory", missing, code, stdout, stderr)
	}
}

func TestShoutWithoutText(t *testing.T) {
	t.Parallel()
	out, err := shout(context.Background(), &actions.Call{Name: "shout", Args: map[string]any{}})
	if !actions.IsPermanent(err) || !strings.Contains(err.Error(), "text") || out != nil {
		t.Errorf("shout without text: %v, %v; want a permanent error naming the argument", out, err)
	}
}

func TestRegistryChecksShoutArguments(t *testing.T) {
	t.Parallel()
	reg, err := registry()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Spec(actions.KindAction, "exec"); !ok {
		t.Error("the registry has no built-in exec")
	}
	src := "apiVersion: csmplan/v1\nkind: Runbook\nname: bad-shout\nsteps:\n  - id: s\n    action: shout\n    with: {text: hi, volume: 11}\n"
	_, err = plan.Parse("bad.yaml", []byte(src), plan.WithRegistry(reg))
	if !errors.Is(err, plan.ErrArgs) || !strings.Contains(err.Error(), "volume") {
		t.Errorf("shout with an unknown argument: %v, want plan.ErrArgs naming it", err)
	}
}

package csmtest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"

	"github.com/csmplan/csmplan/actions/csm"
	"github.com/csmplan/csmplan/actions/remote"
)

// TB is the part of testing.TB that [NewPairForTest] uses; a *testing.T
// or *testing.B is one. (The package does not import testing, so that a
// program such as the csmplan command can embed the simulator.)
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(f func())
}

// NewPairForTest starts a pair as [NewPair] does, fails t when it cannot,
// and closes it when t and its subtests end. For a run on a virtual clock,
// set Options.Clock (an actionstest.Clock, or the clock the run uses).
func NewPairForTest(t TB, opts Options) *Pair {
	t.Helper()
	p, err := NewPair(opts)
	if err != nil {
		t.Fatalf("csmtest.NewPairForTest: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// ControlExecutor is a [remote.Executor] that runs the control program
// (see [ControlMain]) in this process instead of starting a process: a
// command whose Argv[0] is [ControlProgram] runs as ControlMain(Argv[1:])
// with exactly the command's Env as its environment (nothing of this
// process's), its output copied to the command's Stdout and Stderr, and its
// exit code returned. Any other program is refused with an error wrapping
// exec.ErrNotFound, which the csm actions treat as permanent. Dir and Stdin
// are not used. When ctx is done first, Run returns an error wrapping
// ctx.Err() and the operation's output is dropped; an operation that
// already reached the server has happened, as with a killed process.
//
// The zero value is ready to use. [Pair.CSMOptions] plugs it into the csm
// actions.
type ControlExecutor struct{}

var _ remote.Executor = ControlExecutor{}

// Run runs cmd's control operation in this process.
func (ControlExecutor) Run(ctx context.Context, cmd remote.Command) (int, error) {
	if len(cmd.Argv) == 0 || cmd.Argv[0] != ControlProgram {
		prog := ""
		if len(cmd.Argv) > 0 {
			prog = cmd.Argv[0]
		}
		return -1, fmt.Errorf("csmtest: in-process executor: %q is not %s, the only program it runs: %w", prog, ControlProgram, exec.ErrNotFound)
	}
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("csmtest: %s: %w", ControlProgram, err)
	}
	env := maps.Clone(cmd.Env)
	args := append([]string(nil), cmd.Argv[1:]...)
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- ControlMain(args, func(k string) string { return env[k] }, &stdout, &stderr)
	}()
	select {
	case code := <-done:
		if cmd.Stdout != nil {
			if _, err := cmd.Stdout.Write(stdout.Bytes()); err != nil {
				return code, fmt.Errorf("csmtest: %s: write stdout: %w", ControlProgram, err)
			}
		}
		if cmd.Stderr != nil {
			if _, err := cmd.Stderr.Write(stderr.Bytes()); err != nil {
				return code, fmt.Errorf("csmtest: %s: write stderr: %w", ControlProgram, err)
			}
		}
		return code, nil
	case <-ctx.Done():
		return -1, fmt.Errorf("csmtest: %s: %w", ControlProgram, ctx.Err())
	}
}

// CSMOptions returns the options of the csm probes and actions (for
// csm.Register, or csmplan.NewRegistry) that run the commands of every
// target, the installer and the stop/start commands, with
// [ControlExecutor] in this process. The other fields are zero (the csm
// defaults); set them on the returned value.
func (p *Pair) CSMOptions() csm.Options {
	return csm.Options{Executor: func(map[string]any) (remote.Executor, error) { return ControlExecutor{}, nil }}
}

// Params returns the params of the default runbook (csm.UpgradeRunbook)
// that point it at the pair, for a registry made with [Pair.CSMOptions]:
// primary and secondary (the servers' addresses; no secondary without a
// standby), username, password, ca_file ([Pair.CAFile]), target_version
// ([Pair.TargetVersion]), maintain_dr (true when the pair has a standby),
// installer, server_stop and server_start ([Pair.InstallerArgv] and
// [Pair.ServerArgv] of [ControlProgram], which [ControlExecutor] runs), and
// backup_dir (a directory the pair owns, removed by Close). The runbook's
// timeouts are left at their defaults (30m, 10m, 90m, polled every 30s):
// cheap on a virtual clock; on the wall clock, shorten sync_timeout,
// takeover_timeout, install_timeout and poll_interval. Each call returns a
// new map, to change as a test needs.
func (p *Pair) Params() map[string]any {
	m := p.ParamsFor(ControlProgram)
	m["backup_dir"] = filepath.Join(p.caDir, "backups")
	return m
}

// ParamsFor returns the params of the default runbook for this pair, with
// the installer and the stop/start commands run as exe prefix... (see
// [Pair.InstallerArgv]: a program that calls [ControlMain]). backup_dir and
// the timeouts are left out: the runbook's defaults apply.
func (p *Pair) ParamsFor(exe string, prefix ...string) map[string]any {
	list := func(argv []string) []any {
		out := make([]any, len(argv))
		for i, a := range argv {
			out[i] = a
		}
		return out
	}
	m := map[string]any{
		"primary":        p.Primary().Addr(),
		"username":       p.Username(),
		"password":       p.Password(),
		"ca_file":        p.CAFile(),
		"target_version": p.TargetVersion(),
		"maintain_dr":    p.Secondary() != nil,
		"installer":      list(p.InstallerArgv(exe, prefix...)),
		"server_stop":    list(p.ServerArgv(exe, "stop", prefix...)),
		"server_start":   list(p.ServerArgv(exe, "start", prefix...)),
	}
	if s := p.Secondary(); s != nil {
		m["secondary"] = s.Addr()
	}
	return m
}

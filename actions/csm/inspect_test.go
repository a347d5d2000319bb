package csm

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

func inspect(t *testing.T, r *actions.Registry, call *actions.Call) (actions.Inspection, error) {
	t.Helper()
	a, err := r.NewAction(call.Name)
	if err != nil {
		t.Fatal(err)
	}
	in, ok := a.(actions.Inspector)
	if !ok {
		t.Fatalf("%s is not an Inspector", call.Name)
	}
	return in.Inspect(context.Background(), call)
}

// TestInspectInstall: what an interrupted csm.install left behind, from
// the server's answer and the host's process table.
func TestInspectInstall(t *testing.T) {
	t.Parallel()
	installer := "/opt/csm/install.bin -i silent"
	tests := []struct {
		name    string
		down    int32  // version requests answered 503
		version string // then the version
		ps      string // ps output; "FAIL" makes ps exit 1
		want    actions.Inspection
	}{
		{"the server is down", 1 << 30, "", "", actions.InProgress},
		{"the server answers at the target level", 0, "6.3.11", "", actions.Done},
		{"old level, the installer still runs", 0, "6.3.10.0", "  812 /usr/bin/sshd\n 4242 " + installer + "\n", actions.InProgress},
		{"old level, no installer runs", 0, "6.3.10.0", "  812 /usr/bin/sshd\n 4243 ps -eo pid=,args=\n", actions.NotDone},
		{"old level, ps does not work here", 0, "6.3.10.0", "FAIL", actions.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _ := installServer(t, tt.down, tt.version)
			ex := &fakeExec{run: func(_ context.Context, cmd remote.Command) (int, error) {
				if cmd.Argv[0] != "ps" {
					t.Errorf("Inspect ran %v: it must only look", cmd.Argv)
					return 0, nil
				}
				if tt.ps == "FAIL" {
					return 1, nil
				}
				_, _ = io.WriteString(cmd.Stdout, tt.ps)
				return 0, nil
			}}
			r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
			got, err := inspect(t, r, newCall("csm.install", f.target(), newFakeClock(), installArgs(map[string]any{"version": "6.3.11.0"})))
			if err != nil || got != tt.want {
				t.Fatalf("Inspect = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestInspectTakeoverAndTasks(t *testing.T) {
	t.Parallel()
	r := registry(t, Options{})
	for _, active := range []bool{true, false} {
		f, _ := tasksServer(t, active)
		want := map[bool]actions.Inspection{true: actions.Done, false: actions.NotDone}[active]
		if got, err := inspect(t, r, newCall("csm.takeover", f.target(), newFakeClock(), nil)); err != nil || got != want {
			t.Errorf("takeover on an active=%v server: %v, %v; want %v", active, got, err, want)
		}
		// An active server with an enabled task has not had it disabled; a
		// standby runs none.
		want = map[bool]actions.Inspection{true: actions.NotDone, false: actions.Done}[active]
		if got, err := inspect(t, r, newCall("csm.disable_tasks", f.target(), newFakeClock(), nil)); err != nil || got != want {
			t.Errorf("disable_tasks on an active=%v server: %v, %v; want %v", active, got, err, want)
		}
	}
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /sessions/scheduledtasks/1": func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, ScheduledTask{ID: 1, Enabled: true}) },
	})
	for enabled, want := range map[bool]actions.Inspection{true: actions.Done, false: actions.NotDone} {
		if got, err := inspect(t, r, newCall("csm.task", f.target(), newFakeClock(), map[string]any{"id": int64(1), "enabled": enabled})); err != nil || got != want {
			t.Errorf("task enabled=%v: %v, %v; want %v", enabled, got, err, want)
		}
	}
	if got, err := inspect(t, r, newCall("csm.add_standby", f.target(), newFakeClock(), map[string]any{"standby": "x", "username": "u", "password": "p"})); err != nil || got != actions.Unknown {
		t.Errorf("add_standby: %v, %v; want unknown", got, err)
	}
}

func TestFindProcess(t *testing.T) {
	t.Parallel()
	ps := "  1 /sbin/init\n 77 /opt/install.bin -i silent -f /tmp/p\n 78 /opt/install.bin.old -i\n"
	for argv, want := range map[string]string{"/opt/install.bin -i silent": "77", "/opt/install.bin -i silent -f /tmp/p": "77", "/opt/install.bin -x": "", "/opt/install": ""} {
		pid, running, err := findProcess(ps, []string{argv})
		if err != nil || running != (want != "") || pid != want {
			t.Errorf("findProcess(%q) = %q, %v, %v; want %q", argv, pid, running, err, want)
		}
	}
}

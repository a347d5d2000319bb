package csm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	r := registry(t, Options{})
	wantProbes := []string{"csm.ha", "csm.reachable", "csm.session", "csm.sessions", "csm.tasks", "csm.version"}
	wantActions := []string{"csm.add_standby", "csm.backup", "csm.disable_tasks", "csm.install", "csm.reconnect", "csm.server", "csm.set_standby", "csm.takeover", "csm.task"}
	if diff := cmp.Diff(wantProbes, r.Names(actions.KindProbe)); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantActions, r.Names(actions.KindAction)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	for _, kind := range []actions.Kind{actions.KindProbe, actions.KindAction} {
		for _, spec := range r.Specs(kind) {
			if kind == actions.KindAction && !spec.Mutates {
				t.Errorf("%s does not mutate", spec.Name)
			}
			if spec.Summary == "" || len(spec.Outputs) == 0 {
				t.Errorf("%s: summary or outputs missing", spec.Name)
			}
			for _, o := range spec.Outputs {
				if o.Description == "" || o.Type == "" {
					t.Errorf("%s: output %q undocumented", spec.Name, o.Name)
				}
			}
			sch, _ := r.ArgsSchema(kind, spec.Name)
			if err := sch.Validate(map[string]any{"target": "csm1", "bogus": true}); err == nil {
				t.Errorf("%s: an unknown argument is accepted", spec.Name)
			}
			if err := sch.Validate(map[string]any{}); err == nil {
				t.Errorf("%s: target is not required", spec.Name)
			}
		}
	}
	sch, _ := r.ArgsSchema(actions.KindAction, "csm.install")
	good := map[string]any{"target": "p", "argv": []any{"/tmp/install.bin", "-i", "silent"}, "env": map[string]any{"A": "b"}, "version": "6.3.10.2", "wait_timeout": "90m", "poll_interval": "${params.poll}"}
	if err := sch.Validate(good); err != nil {
		t.Errorf("csm.install rejects good arguments: %v", err)
	}
	for _, bad := range []map[string]any{
		{"target": "p", "argv": []any{}},
		{"target": "p", "argv": []any{"x"}, "wait_timeout": "soon"},
		{"target": "p", "argv": []any{"x"}, "env": map[string]any{"A": 1}},
	} {
		if err := sch.Validate(bad); err == nil {
			t.Errorf("csm.install accepts %v", bad)
		}
	}
	sch, _ = r.ArgsSchema(actions.KindAction, "csm.server")
	if err := sch.Validate(map[string]any{"target": "p", "op": "restart", "argv": []any{"x"}}); err == nil {
		t.Error("csm.server accepts op restart")
	}
	if err := Register(r, Options{}); !errors.Is(err, actions.ErrDuplicate) {
		t.Errorf("second Register: err = %v, want ErrDuplicate", err)
	}
}

func haRoute(ha HAStatus) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, ha) }
}

func TestProbes(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/ha": haRoute(HAStatus{
			Reply: Reply{Msg: MsgHAStatusQueried}, IsLocalActive: false, LocalHAPort: 9561,
			ServerInfo: []ServerInfo{{Server: "csm1.example.com", Role: RoleActive, Status: StatusSynchronized, Port: 9561}},
		}),
		"GET /sessions/short": sessionsRoute(),
		"GET /sessions/scheduledtasks": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, []ScheduledTask{{ID: 3, Name: "nightly", Enabled: true}, {ID: 4, Name: "weekly", Running: true}})
		},
		"GET /system/version": versionRoute("6.3.10.1"),
		"GET /sessions/MM1": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"name":"MM1","state":"Prepared","numcopysets":4}`))
		},
	})
	r := registry(t, Options{})
	clk := newFakeClock()
	for _, tc := range []struct {
		name string
		args map[string]any
		want any
	}{
		{"csm.ha", nil, map[string]any{
			"role": "Standby", "active": false, "partner": "csm1.example.com", "partner_role": "Active",
			"partner_port": int64(9561), "connected": true, "synchronized": true, "partner_check": "", "ha_port": int64(9561),
			"status": "Synchronized", "msg": "IWNR3048I",
			"servers": []any{map[string]any{"server": "csm1.example.com", "role": "Active", "status": "Synchronized", "port": int64(9561)}},
		}},
		{"csm.ha", map[string]any{"expected_partner": "CSM1.example.com.:9559", "synchronized_statuses": []any{"In Sync"}}, map[string]any{
			"role": "Standby", "active": false, "partner": "csm1.example.com", "partner_role": "Active",
			"partner_port": int64(9561), "connected": true, "synchronized": false, "partner_check": "ok", "ha_port": int64(9561),
			"status": "Synchronized", "msg": "IWNR3048I",
			"servers": []any{map[string]any{"server": "csm1.example.com", "role": "Active", "status": "Synchronized", "port": int64(9561)}},
		}},
		{"csm.sessions", map[string]any{"fields": []any{"name", "state"}}, []any{map[string]any{"name": "MM1", "state": "Prepared"}}},
		{"csm.tasks", map[string]any{"enabled_only": true, "fields": []any{"id", "name"}}, []any{map[string]any{"id": int64(3), "name": "nightly"}}},
		{"csm.sessions", nil, []any{map[string]any{
			"name": "MM1", "state": "Prepared", "status": "Normal", "type": "Metro Mirror",
			"copysets": int64(4), "recoverable": true, "error": false,
		}}},
		{"csm.tasks", nil, []any{
			map[string]any{"id": int64(3), "name": "nightly", "enabled": true, "running": false},
			map[string]any{"id": int64(4), "name": "weekly", "enabled": false, "running": true},
		}},
		{"csm.version", nil, map[string]any{"version": "6.3.10.1"}},
		{"csm.session", map[string]any{"name": "MM1"}, map[string]any{"name": "MM1", "state": "Prepared", "numcopysets": int64(4)}},
		{"csm.reachable", nil, true},
	} {
		got, err := observe(t, r, newCall(tc.name, f.target(), clk, tc.args))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	if n := f.tokenCount(); n != 1 {
		t.Errorf("tokens = %d, want 1: the client of a target is cached", n)
	}
}

func TestHAWithoutPartner(t *testing.T) {
	t.Parallel()
	got := haObservation(&HAStatus{Reply: Reply{Msg: MsgHAStatusQueried}, IsLocalActive: true, LocalHAPort: 9561}, DefaultSynchronizedStatuses)
	want := map[string]any{
		"role": "Active", "active": true, "partner": "", "partner_role": "", "partner_port": int64(0), "status": "",
		"connected": false, "synchronized": false, "partner_check": "", "ha_port": int64(9561), "servers": []any{}, "msg": "IWNR3048I",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReachable(t *testing.T) {
	t.Parallel()
	r := registry(t, Options{})
	clk := newFakeClock()
	down := map[string]any{"host": closedAddr(t), "username": testUser, "password": testPass, "insecure": "true"}
	var logs []string
	call := newCall("csm.reachable", down, clk, nil)
	call.Log = func(msg string) { logs = append(logs, msg) }
	got, err := observe(t, r, call)
	if err != nil || got != false {
		t.Fatalf("down server: %v, %v; want false, nil", got, err)
	}
	if len(clk.sleeps()) != 0 {
		t.Errorf("reachable retried: sleeps %v", clk.sleeps())
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "DISABLED") {
		t.Errorf("insecure target: logs %q, want the warning", logs)
	}

	f := newFakeCSM(t, map[string]http.HandlerFunc{"GET /system/version": func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}})
	if got, err := observe(t, r, newCall("csm.reachable", f.target(), clk, nil)); err != nil || got != false {
		t.Errorf("HTTP 503: %v, %v; want false, nil", got, err)
	}

	bad := f.target()
	bad["password"] = "wrong-password"
	_, err = observe(t, r, newCall("csm.reachable", bad, clk, nil))
	if !errors.Is(err, ErrAuth) || !actions.IsPermanent(err) {
		t.Errorf("bad credentials: err = %v, want a permanent ErrAuth", err)
	}
}

func TestTakeoverFailures(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"PUT /system/ha/takeover":  replyWith(MsgActionNotAllowed, "The takeover is not valid now."),
		"PUT /system/ha/reconnect": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
	})
	r := registry(t, Options{})
	ctx := context.Background()
	_, err := runAction(t, r, ctx, newCall("csm.takeover", f.target(), newFakeClock(), nil))
	if !actions.IsPermanent(err) || !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v, want a permanent rejection", err)
	}
	for _, want := range []string{"csm.takeover", `"csm1"`, f.srv.Listener.Addr().String(), MsgActionNotAllowed, "not valid now"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = runAction(t, r, ctx, newCall("csm.reconnect", f.target(), newFakeClock(), nil))
	if actions.IsPermanent(err) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("HTTP 503: err = %v, want a retryable ErrUnavailable", err)
	}
}

func TestReplyActions(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"PUT /system/ha/takeover":                                 replyWith(MsgTakeoverIssued, "Takeover issued."),
		"PUT /system/ha/reconnect":                                replyWith(MsgReconnected, "Reconnected."),
		"PUT /system/ha/setServerAsStandby/csm1.x.com":            replyWith(MsgMadeStandby, "Standby."),
		"PUT /system/ha/setStandbyServer/csm2.x.com/admin/pw%2F1": replyWith(MsgMadeStandby, "Standby added."),
		"POST /sessions/scheduledtasks/enable/7":                  replyWith("IWNR1810I", "Enabled."),
		"POST /sessions/scheduledtasks/disable/7":                 replyWith("IWNR1811I", "Disabled."),
	})
	r := registry(t, Options{})
	for _, tc := range []struct {
		name string
		args map[string]any
		want actions.Outputs
	}{
		{"csm.takeover", nil, actions.Outputs{"msg": MsgTakeoverIssued, "text": "Takeover issued."}},
		{"csm.reconnect", nil, actions.Outputs{"msg": MsgReconnected, "text": "Reconnected.", "sent": true}},
		{"csm.set_standby", map[string]any{"active": "csm1.x.com"}, actions.Outputs{"msg": MsgMadeStandby, "text": "Standby."}},
		{"csm.add_standby", map[string]any{"standby": "csm2.x.com", "username": "admin", "password": "pw/1"}, actions.Outputs{"msg": MsgMadeStandby, "text": "Standby added."}},
		{"csm.task", map[string]any{"id": int64(7), "enabled": true}, actions.Outputs{"msg": "IWNR1810I", "text": "Enabled.", "id": int64(7), "enabled": true}},
		{"csm.task", map[string]any{"id": float64(7), "enabled": "false"}, actions.Outputs{"msg": "IWNR1811I", "text": "Disabled.", "id": int64(7), "enabled": false}},
	} {
		got, err := runAction(t, r, context.Background(), newCall(tc.name, f.target(), newFakeClock(), tc.args))
		if err != nil {
			t.Errorf("%s %v: %v", tc.name, tc.args, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %v (-want +got):\n%s", tc.name, tc.args, diff)
		}
	}
	_, err := runAction(t, r, context.Background(), newCall("csm.task", f.target(), newFakeClock(), map[string]any{"id": "seven", "enabled": true}))
	if !actions.IsPermanent(err) || !strings.Contains(err.Error(), `"id"`) {
		t.Errorf("bad id: err = %v", err)
	}
}

func TestAddStandbyNeverShowsPassword(t *testing.T) {
	t.Parallel()
	const pass = "Very-Secret-42"
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"PUT /system/ha/setStandbyServer/csm2/admin/" + pass: replyWith("IWNR3030E", "Login to csm2 as admin/"+pass+" failed."),
	})
	r := registry(t, Options{})
	var logs []string
	call := newCall("csm.add_standby", f.target(), newFakeClock(), map[string]any{"standby": "csm2", "username": "admin", "password": pass})
	call.Log = func(msg string) { logs = append(logs, msg) }
	_, err := runAction(t, r, context.Background(), call)
	if err == nil || !strings.Contains(err.Error(), "IWNR3030E") {
		t.Fatalf("err = %v, want the IWNR3030E failure", err)
	}
	checkNoSecret(t, err, pass)
	checkNoSecret(t, err, testPass)
	for _, l := range logs {
		if strings.Contains(l, pass) {
			t.Errorf("password in log %q", l)
		}
	}
}

func TestTargetFields(t *testing.T) {
	t.Parallel()
	cfg, err := configFromTarget("p", map[string]any{
		"host": "csm1", "port": "9600", "username": "u", "password": "pw", "ca_file": "/ca.pem",
		"fingerprint": "AA", "insecure": "false",
	})
	want := Config{Host: "csm1", Port: 9600, Username: "u", Password: "pw", CAFile: "/ca.pem", Fingerprint: "AA"}
	if err != nil || !cmp.Equal(cfg, want, cmp.Comparer(func(a, b actions.Clock) bool { return a == b })) {
		t.Errorf("config = %+v, %v", cfg, err)
	}
	for _, tc := range []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{"port": 9559}, `target "p": host: is required`},
		{map[string]any{"host": "h", "port": "ninety"}, `target "p": port: want an integer in 1..65535`},
		{map[string]any{"host": "h", "port": 70000}, `target "p": port`},
		{map[string]any{"host": "h", "insecure": "maybe"}, `target "p": insecure`},
		{map[string]any{"host": "h", "password": 1234}, `target "p": password: want a string, got an integer`},
	} {
		_, err := configFromTarget("p", tc.fields)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !actions.IsPermanent(err) {
			t.Errorf("%v: err = %v, want a permanent %q", tc.fields, err, tc.want)
		}
	}

	r := registry(t, Options{})
	call := newCall("csm.version", map[string]any{"host": "h", "password": "pw-xyz"}, newFakeClock(), nil)
	_, err = observe(t, r, call)
	if !errors.Is(err, ErrNoTLSConfig) || !actions.IsPermanent(err) || strings.Contains(err.Error(), "pw-xyz") {
		t.Errorf("no TLS config: err = %v", err)
	}
	call.Args["target"] = "nope"
	if _, err := observe(t, r, call); err == nil || !strings.Contains(err.Error(), `no target named "nope"`) {
		t.Errorf("unknown target: err = %v", err)
	}
}

func TestDefaultExecutor(t *testing.T) {
	t.Parallel()
	ex, err := DefaultExecutor(map[string]any{"host": "csm1"})
	if _, ok := ex.(remote.Local); err != nil || !ok {
		t.Errorf("no ssh: %T, %v; want remote.Local", ex, err)
	}
	ex, err = DefaultExecutor(map[string]any{"host": "csm1:9559", "ssh": map[string]any{
		"user": "root", "port": "2222", "key_file": "/k", "known_hosts": "/kh", "agent": true,
	}})
	s, ok := ex.(*remote.SSH)
	if err != nil || !ok {
		t.Fatalf("ssh: %T, %v; want *remote.SSH", ex, err)
	}
	if got := s.String(); got != "root@csm1:2222" {
		t.Errorf("ssh executor = %s, want root@csm1:2222", got)
	}
	if _, err := DefaultExecutor(map[string]any{"host": "csm1", "ssh": map[string]any{"user": "root", "port": 0}}); err == nil || !strings.Contains(err.Error(), "ssh.port") {
		t.Errorf("bad ssh port: err = %v", err)
	}
	if _, err := DefaultExecutor(map[string]any{"host": "csm1", "ssh": "root@csm1"}); err == nil || !strings.Contains(err.Error(), "ssh: want a mapping") {
		t.Errorf("ssh string: err = %v", err)
	}
}

func TestBackupAction(t *testing.T) {
	t.Parallel()
	zip := bytes.Repeat([]byte("PK\x03\x04 config "), 5000)
	named := atomic.Bool{}
	named.Store(true)
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/backupserver/download": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			if named.Load() {
				w.Header().Set("Content-Disposition", `attachment; filename="csmBackup_20250301.zip"`)
			}
			_, _ = w.Write(zip)
		},
	})
	r := registry(t, Options{})
	dir := filepath.Join(t.TempDir(), "backups")
	sum := sha256.Sum256(zip)
	wantSum := hex.EncodeToString(sum[:])
	run := func() actions.Outputs {
		t.Helper()
		out, err := runAction(t, r, context.Background(), newCall("csm.backup", f.target(), newFakeClock(), map[string]any{"dir": dir}))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := run()
	want := actions.Outputs{"file": filepath.Join(dir, "csmBackup_20250301.zip"), "size": int64(len(zip)), "sha256": wantSum}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	data, err := os.ReadFile(filepath.Join(dir, "csmBackup_20250301.zip"))
	if err != nil || !bytes.Equal(data, zip) {
		t.Fatalf("file content wrong: %v", err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "csmBackup_20250301.zip"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}

	if got := run()["file"]; got != filepath.Join(dir, "csmBackup_20250301-2.zip") {
		t.Errorf("second backup written to %v, want a new name", got)
	}
	named.Store(false)
	if got := run()["file"]; got != filepath.Join(dir, "csm-backup-127.0.0.1-20250301T120000Z.zip") {
		t.Errorf("unnamed backup written to %v", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want 3 zips and no temporary file", names)
	}

	f.setRoute("GET /system/backupserver/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		_, _ = w.Write(zip[:10])
	})
	if _, err := runAction(t, r, context.Background(), newCall("csm.backup", f.target(), newFakeClock(), map[string]any{"dir": dir})); err == nil {
		t.Error("truncated download succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("a failed download left %d entries", len(entries))
	}
}

// installServer is a fake server whose version route answers 503 for the
// first `down` requests, then the version.
func installServer(t *testing.T, down int32, version string) (*fakeCSM, *atomic.Int32) {
	var n atomic.Int32
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/ha": haRoute(HAStatus{IsLocalActive: false, ServerInfo: []ServerInfo{{Server: "csm2", Role: RoleActive, Status: StatusSynchronized}}}),
		"GET /system/version": func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= down {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			versionRoute(version)(w, r)
		},
	})
	return f, &n
}

func installArgs(extra map[string]any) map[string]any {
	a := map[string]any{"argv": []any{"/opt/csm/install.bin", "-i", "silent"}, "env": map[string]any{"LANG": "C"}, "poll_interval": "30s", "wait_timeout": "60m"}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

func TestInstallWaitsForServer(t *testing.T) {
	t.Parallel()
	f, polls := installServer(t, 3, "6.3.10.2")
	ex := &fakeExec{run: func(ctx context.Context, cmd remote.Command) (int, error) {
		for i := 1; i <= 30; i++ {
			fmt.Fprintf(cmd.Stdout, "installing step %d\n", i)
		}
		return 0, nil
	}}
	var targets []map[string]any
	r := registry(t, Options{Executor: func(tgt map[string]any) (remote.Executor, error) {
		targets = append(targets, tgt)
		return ex, nil
	}})
	clk := newFakeClock()
	out, err := runAction(t, r, context.Background(), newCall("csm.install", f.target(), clk, installArgs(map[string]any{"version": "6.3.10.2"})))
	if err != nil {
		t.Fatal(err)
	}
	if out["exit_code"] != int64(0) || out["version"] != "6.3.10.2" {
		t.Errorf("outputs = %v", out)
	}
	tail := out["stdout_tail"].(string)
	if lines := strings.Split(tail, "\n"); len(lines) != 20 || lines[0] != "installing step 11" || lines[19] != "installing step 30" {
		t.Errorf("stdout_tail = %q, want the last 20 lines", tail)
	}
	if polls.Load() != 4 {
		t.Errorf("version polls = %d, want 4", polls.Load())
	}
	if diff := cmp.Diff([]time.Duration{30 * time.Second, 30 * time.Second, 30 * time.Second}, clk.sleeps()); diff != "" {
		t.Errorf("clock sleeps (-want +got):\n%s", diff)
	}
	cmds := ex.commands()
	if len(cmds) != 1 {
		t.Fatalf("commands = %d", len(cmds))
	}
	host, port := f.hostPort()
	wantEnv := map[string]string{"LANG": "C", "CSM_HOST": host, "CSM_PORT": fmt.Sprint(port), "CSM_TARGET_VERSION": "6.3.10.2"}
	if diff := cmp.Diff(wantEnv, cmds[0].Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/opt/csm/install.bin", "-i", "silent"}, cmds[0].Argv); diff != "" {
		t.Errorf("argv (-want +got):\n%s", diff)
	}
	if len(targets) != 1 || targets[0]["host"] != host {
		t.Errorf("executor got targets %v", targets)
	}
}

func TestInstallFailsWithStderrTail(t *testing.T) {
	t.Parallel()
	f, polls := installServer(t, 0, "6.3.10.1")
	ex := &fakeExec{run: func(ctx context.Context, cmd remote.Command) (int, error) {
		for i := 1; i <= 25; i++ {
			fmt.Fprintf(cmd.Stderr, "error line %d\n", i)
		}
		return 1, nil
	}}
	r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
	_, err := runAction(t, r, context.Background(), newCall("csm.install", f.target(), newFakeClock(), installArgs(nil)))
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 {
		t.Fatalf("err = %v, want an ExitError with code 1", err)
	}
	msg := err.Error()
	for _, want := range []string{"install.bin", "code 1", "error line 6\n", "error line 25", "csm.install", `"csm1"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "error line 5\n") {
		t.Errorf("error holds more than the last 20 lines:\n%s", msg)
	}
	if polls.Load() != 0 {
		t.Errorf("the server was polled %d times after a failed installer", polls.Load())
	}
}

func TestInstallRefusesActiveServer(t *testing.T) {
	t.Parallel()
	f, polls := installServer(t, 0, "6.3.10.2")
	ex := &fakeExec{run: func(context.Context, remote.Command) (int, error) { return 0, nil }}
	r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
	f.setRoute("GET /system/ha", haRoute(HAStatus{IsLocalActive: true, ServerInfo: []ServerInfo{{Server: "csm2", Role: RoleStandby}}}))
	_, err := runAction(t, r, context.Background(), newCall("csm.install", f.target(), newFakeClock(), installArgs(nil)))
	if err == nil || !strings.Contains(err.Error(), "active server of an HA pair") || len(ex.commands()) != 0 {
		t.Fatalf("active with a partner: err = %v, %d commands run", err, len(ex.commands()))
	}
	if _, err := runAction(t, r, context.Background(), newCall("csm.install", f.target(), newFakeClock(), installArgs(map[string]any{"allow_active": true}))); err != nil {
		t.Errorf("allow_active: %v", err)
	}
	f.setRoute("GET /system/ha", haRoute(HAStatus{IsLocalActive: true}))
	if _, err := runAction(t, r, context.Background(), newCall("csm.install", f.target(), newFakeClock(), installArgs(nil))); err != nil {
		t.Errorf("active without partner (no DR): %v", err)
	}
	if n := len(ex.commands()); n != 2 || polls.Load() != 2 {
		t.Errorf("installer ran %d times, version polled %d times; want 2 and 2", n, polls.Load())
	}
}

func TestInstallWaitTimeout(t *testing.T) {
	t.Parallel()
	f, _ := installServer(t, 1<<30, "")
	ex := &fakeExec{run: func(context.Context, remote.Command) (int, error) { return 0, nil }}
	r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
	clk := newFakeClock()
	_, err := runAction(t, r, context.Background(), newCall("csm.install", f.target(), clk, installArgs(map[string]any{"wait_timeout": "2m"})))
	if err == nil || !strings.Contains(err.Error(), "did not answer within 2m0s") || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want a wait timeout with the last ErrUnavailable", err)
	}
	if n := len(clk.sleeps()); n != 4 {
		t.Errorf("polls slept %d times, want 4 (2m / 30s)", n)
	}
}

func TestInstallCancel(t *testing.T) {
	t.Parallel()
	f, _ := installServer(t, 1<<30, "")
	started := make(chan struct{})
	ex := &fakeExec{run: func(ctx context.Context, cmd remote.Command) (int, error) {
		close(started)
		<-ctx.Done()
		return -1, fmt.Errorf("killed: %w", ctx.Err())
	}}
	r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := runAction(t, r, ctx, newCall("csm.install", f.target(), newFakeClock(), installArgs(nil)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel during the installer: err = %v", err)
	}

	// Cancelled while waiting for the server to come back.
	ctx, cancel = context.WithCancel(context.Background())
	clk := &cancellingClock{fakeClock: newFakeClock(), after: 2, cancel: cancel}
	ex.run = func(context.Context, remote.Command) (int, error) { return 0, nil }
	_, err = runAction(t, r, ctx, newCall("csm.install", f.target(), clk, installArgs(nil)))
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "within") {
		t.Fatalf("cancel during the wait: err = %v", err)
	}
}

// cancellingClock cancels a context at its after-th Sleep.
type cancellingClock struct {
	*fakeClock
	mu     sync.Mutex
	after  int
	cancel context.CancelFunc
}

func (c *cancellingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.after--
	if c.after == 0 {
		c.cancel()
	}
	c.mu.Unlock()
	return c.fakeClock.Sleep(ctx, d)
}

func TestServerAction(t *testing.T) {
	t.Parallel()
	var up atomic.Bool
	up.Store(true)
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/version": func(w http.ResponseWriter, r *http.Request) {
			if !up.Load() {
				resetConn(w)
				return
			}
			versionRoute("6.3.10.2")(w, r)
		},
	})
	ex := &fakeExec{run: func(context.Context, remote.Command) (int, error) { return 0, nil }}
	r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
	clk := &flipClock{fakeClock: newFakeClock(), flip: func() { up.Store(!up.Load()) }}
	args := map[string]any{"op": "stop", "argv": []any{"systemctl", "stop", "csm"}, "poll_interval": "10s"}
	out, err := runAction(t, r, context.Background(), newCall("csm.server", f.target(), clk, args))
	if err != nil {
		t.Fatal(err)
	}
	if out["reachable"] != false || out["version"] != "" || out["exit_code"] != int64(0) {
		t.Errorf("stop outputs = %v", out)
	}
	if got := ex.commands()[0].Env["CSM_SERVER_OP"]; got != "stop" {
		t.Errorf("CSM_SERVER_OP = %q", got)
	}
	if n := len(clk.sleeps()); n != 1 {
		t.Errorf("stop: slept %d times, want 1 (still answering once)", n)
	}

	args["op"] = "start"
	args["argv"] = []any{"systemctl", "start", "csm"}
	out, err = runAction(t, r, context.Background(), newCall("csm.server", f.target(), clk, args))
	if err != nil {
		t.Fatal(err)
	}
	if out["reachable"] != true || out["version"] != "6.3.10.2" {
		t.Errorf("start outputs = %v", out)
	}
}

// flipClock calls flip at each Sleep: the server changes state while the
// action waits.
type flipClock struct {
	*fakeClock
	flip func()
}

func (c *flipClock) Sleep(ctx context.Context, d time.Duration) error {
	c.flip()
	return c.fakeClock.Sleep(ctx, d)
}

func TestInstallProgramNotFoundIsPermanent(t *testing.T) {
	t.Parallel()
	f, _ := installServer(t, 0, "6.3.10.2")
	r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return remote.Local{}, nil }})
	args := installArgs(map[string]any{"argv": []any{"/nonexistent/csm-installer-" + t.Name()}})
	_, err := runAction(t, r, context.Background(), newCall("csm.install", f.target(), newFakeClock(), args))
	if err == nil || !actions.IsPermanent(err) {
		t.Fatalf("err = %v, want a permanent failure", err)
	}
}

func TestInstallWithLocalExecutor(t *testing.T) {
	t.Parallel()
	f, _ := installServer(t, 0, "6.3.10.2")
	r := registry(t, Options{}) // the default executor: the target has no ssh, so remote.Local
	args := installArgs(map[string]any{"argv": []any{"sh", "-c", `echo "upgrading $CSM_HOST:$CSM_PORT to $CSM_TARGET_VERSION"`}, "version": "6.3.10.2"})
	out, err := runAction(t, r, context.Background(), newCall("csm.install", f.target(), newFakeClock(), args))
	if err != nil {
		t.Fatal(err)
	}
	host, port := f.hostPort()
	if want := fmt.Sprintf("upgrading %s:%d to 6.3.10.2", host, port); out["stdout_tail"] != want {
		t.Errorf("stdout_tail = %q, want %q", out["stdout_tail"], want)
	}
}

// A long wait for the server reports its progress: to a display that
// redraws it (Call.Progress) at each poll after the first, to a log of
// lines (Call.Log alone) every 10 polls.
func TestInstallWaitReportsProgress(t *testing.T) {
	t.Parallel()
	f, _ := installServer(t, 1<<30, "")
	ex := &fakeExec{run: func(context.Context, remote.Command) (int, error) { return 0, nil }}
	r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
	still := func(withProgress bool) []string {
		call := newCall("csm.install", f.target(), newFakeClock(), installArgs(map[string]any{"wait_timeout": "10m", "poll_interval": "30s"}))
		var got []string
		keep := func(msg string) {
			if strings.Contains(msg, "still waiting") {
				got = append(got, msg)
			}
		}
		call.Log = keep
		if withProgress {
			call.Log = func(string) {}
			call.Progress = keep
		}
		if _, err := runAction(t, r, context.Background(), call); err == nil {
			t.Fatal("want a wait timeout")
		}
		return got
	}
	if logs := still(false); len(logs) != 2 || !strings.Contains(logs[0], "to answer: 4m30s of 10m0s (not answering yet)") {
		t.Errorf("progress logs = %q, want two, the first after 9 sleeps of 30s", logs)
	}
	if progress := still(true); len(progress) != 19 || !strings.Contains(progress[0], "to answer: 30s of 10m0s (not answering yet)") {
		t.Errorf("progress statuses = %q, want 19, the first after one sleep of 30s", progress)
	}
}

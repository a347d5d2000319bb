package csm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/remote"
)

// pairCall is a call on target "csm1" of a runbook that also has "csm2".
func pairCall(name string, csm1, csm2 map[string]any, args map[string]any) *actions.Call {
	call := newCall(name, csm1, newFakeClock(), args)
	call.Targets["csm2"] = csm2
	return call
}

// TestInstallGuard: the installer never runs on the only active server of
// a pair nor on the server that manages the sessions (the manager); it
// runs on an active server whose partner is the active manager (the
// procedure's step 10) and on a server without partner.
func TestInstallGuard(t *testing.T) {
	t.Parallel()
	withPartner := func(active bool) HAStatus {
		return HAStatus{IsLocalActive: active, ServerInfo: []ServerInfo{{Server: "csm2", Role: RoleActive, Status: StatusDifferentLevels}}}
	}
	tests := []struct {
		name    string
		target  HAStatus
		manager *HAStatus // nil: the manager does not answer
		args    map[string]any
		refused string // "" when the installer runs
	}{
		{"a standby whose manager is active", withPartner(false), &HAStatus{IsLocalActive: true}, map[string]any{"manager": "csm2"}, ""},
		{"an old active whose manager took over (step 10)", withPartner(true), &HAStatus{IsLocalActive: true}, map[string]any{"manager": "csm2"}, ""},
		{"a server without partner (no DR)", HAStatus{IsLocalActive: true}, &HAStatus{IsLocalActive: false}, map[string]any{"manager": "csm2"}, ""},
		{"the manager is a standby", withPartner(true), &HAStatus{IsLocalActive: false}, map[string]any{"manager": "csm2"}, "is not active"},
		{"the manager does not answer", withPartner(false), nil, map[string]any{"manager": "csm2"}, "does not answer"},
		{"the target is the manager", withPartner(true), &HAStatus{IsLocalActive: true}, map[string]any{"manager": "csm1"}, "it is the manager"},
		{"an active server with a partner and no manager", withPartner(true), &HAStatus{IsLocalActive: true}, nil, "no manager is given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _ := installServer(t, 0, "6.3.11.0")
			f.setRoute("GET /system/ha", haRoute(tt.target))
			mgr := newFakeCSM(t, map[string]http.HandlerFunc{})
			if tt.manager != nil {
				mgr.setRoute("GET /system/ha", haRoute(*tt.manager))
			} else {
				mgr.setRoute("GET /system/ha", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
			}
			ex := &fakeExec{run: func(context.Context, remote.Command) (int, error) { return 0, nil }}
			r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
			mt := mgr.target()
			_, err := runAction(t, r, context.Background(), pairCall("csm.install", f.target(), mt, installArgs(tt.args)))
			switch {
			case tt.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.refused == "" && len(ex.commands()) != 1:
				t.Fatalf("the installer ran %d times, want once", len(ex.commands()))
			case tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused)):
				t.Fatalf("err = %v, want it refused with %q", err, tt.refused)
			case tt.refused != "" && len(ex.commands()) != 0:
				t.Fatalf("refused, but the installer ran")
			}
		})
	}
}

// tasksServer is a fake active (or standby) server with two scheduled
// tasks, the first enabled.
func tasksServer(t *testing.T, active bool) (*fakeCSM, func() []ScheduledTask) {
	var mu sync.Mutex
	tasks := []ScheduledTask{{ID: 1, Name: "hourly", Enabled: true}, {ID: 2, Name: "weekly"}}
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/ha": haRoute(HAStatus{IsLocalActive: active, ServerInfo: []ServerInfo{{Server: "csm2"}}}),
		"GET /sessions/scheduledtasks": func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			writeJSON(w, tasks)
		},
		"POST /sessions/scheduledtasks/disable/1": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			tasks[0].Enabled = false
			mu.Unlock()
			replyWith("IWNR9050I", "disabled")(w, r)
		},
	})
	return f, func() []ScheduledTask {
		mu.Lock()
		defer mu.Unlock()
		return append([]ScheduledTask(nil), tasks...)
	}
}

func TestDisableTasks(t *testing.T) {
	t.Parallel()
	r := registry(t, Options{})
	f, tasks := tasksServer(t, true)
	out, err := runAction(t, r, context.Background(), newCall("csm.disable_tasks", f.target(), newFakeClock(), nil))
	if err != nil {
		t.Fatal(err)
	}
	want := actions.Outputs{"disabled": []any{int64(1)}, "names": []any{"hourly"}, "standby": false}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
	if got := tasks(); got[0].Enabled || got[1].Enabled {
		t.Errorf("tasks after: %+v, want none enabled", got)
	}
	// A standby runs no scheduled tasks: nothing to disable, no command.
	s, _ := tasksServer(t, false)
	out, err = runAction(t, r, context.Background(), newCall("csm.disable_tasks", s.target(), newFakeClock(), nil))
	if err != nil || out["standby"] != true || len(out["disabled"].([]any)) != 0 || s.count("POST /sessions/scheduledtasks/disable/1") != 0 {
		t.Errorf("on a standby: %v, %v, %d commands", out, err, s.count("POST /sessions/scheduledtasks/disable/1"))
	}
}

// TestReconnectUnlessRole: the nudge of procedure step 3 waits for the role
// and reconnects only when it does not come.
func TestReconnectUnlessRole(t *testing.T) {
	t.Parallel()
	r := registry(t, Options{})
	for _, tc := range []struct {
		active bool
		sent   bool
	}{{false, false}, {true, true}} {
		f := newFakeCSM(t, map[string]http.HandlerFunc{
			"GET /system/ha":           haRoute(HAStatus{IsLocalActive: tc.active}),
			"PUT /system/ha/reconnect": replyWith(MsgReconnected, "reconnected"),
		})
		clk := newFakeClock()
		start := clk.Now()
		out, err := runAction(t, r, context.Background(), newCall("csm.reconnect", f.target(), clk,
			map[string]any{"unless_role": "Standby", "wait_timeout": "10m", "poll_interval": "1m"}))
		if err != nil || out["sent"] != tc.sent || f.count("PUT /system/ha/reconnect") != map[bool]int{true: 1, false: 0}[tc.sent] {
			t.Errorf("active %v: outputs %v, err %v, %d reconnects; want sent %v", tc.active, out, err, f.count("PUT /system/ha/reconnect"), tc.sent)
		}
		if waited := clk.Now().Sub(start); tc.sent && waited < 10*time.Minute {
			t.Errorf("the reconnect was sent after %v, want after the 10m wait", waited)
		}
	}
}

// TestSetStandbyByHost: the active server is named by host, never
// host:port; the HA port travels as one more path segment.
func TestSetStandbyByHost(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{})
	host, port := f.hostPort()
	f.setRoute("PUT /system/ha/setServerAsStandby/"+host+"/9561", replyWith(MsgMadeStandby, "standby"))
	r := registry(t, Options{})
	a, _ := r.NewAction("csm.set_standby")
	v := a.(actions.Validator)
	if err := v.Validate(map[string]any{"target": "csm1", "active": host + ":9559"}); err == nil || !strings.Contains(err.Error(), "REST port is not the HA port") {
		t.Errorf("host:port accepted: %v", err)
	}
	if err := v.Validate(map[string]any{"target": "csm1"}); err == nil {
		t.Error("neither active nor active_target: accepted")
	}
	peer := f.target() // the active server: the same fake, as its own target
	peer["port"] = int64(port)
	out, err := runAction(t, r, context.Background(), pairCall("csm.set_standby", f.target(), peer, map[string]any{"active_target": "csm2", "ha_port": int64(9561)}))
	if err != nil || out["msg"] != MsgMadeStandby {
		t.Fatalf("set_standby: %v, %v", out, err)
	}
}

func TestSeverityLenient(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]byte{
		"IWNR3063I": 'I', "IWNR9013e": 'E', " IWNR9013E ": 'E', "iwnc1302s": 'S', "IWNR1W": 'W',
		"": 0, "E": 0, "ERROR": 0, "1234E": 0, "IWNR3063X": 0, "IWNR-3063E": 0,
	} {
		if got := Severity(msg); got != want {
			t.Errorf("Severity(%q) = %q, want %q", msg, got, want)
		}
	}
}

// TestCommandReplies: a command answered with a lower-case or padded E
// severity, or with no message id at all, fails with the reply shown;
// every request carries the form content type, bodiless ones included.
func TestCommandReplies(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var types []string
	reply := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			types = append(types, r.Method+" "+r.Header.Get("Content-Type"))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}
	}
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"PUT /system/ha/takeover":  reply(`{"msg":"IWNR9013e","msgTranslated":"rejected"}`),
		"PUT /system/ha/reconnect": reply(`{"msg":" IWNR9013E ","msgTranslated":"rejected"}`),
		"PUT /system/backupserver": reply(`{"resultText":"done, trust me"}`),
		"GET /system/version":      reply(`{"version":"6.3.10.1"}`),
	})
	c := f.client(t, newFakeClock())
	ctx := context.Background()
	for name, call := range map[string]func() (*Reply, error){
		"takeover": func() (*Reply, error) { return c.Takeover(ctx) }, "reconnect": func() (*Reply, error) { return c.Reconnect(ctx) },
	} {
		if _, err := call(); !errors.Is(err, ErrRejected) {
			t.Errorf("%s: err = %v, want ErrRejected", name, err)
		}
	}
	_, err := c.CreateBackup(ctx)
	var ae *APIError
	if !errors.Is(err, ErrRejected) || !errors.As(err, &ae) || !ae.NoMessageID || !strings.Contains(err.Error(), "done, trust me") {
		t.Errorf("no message id: err = %v, want ErrRejected showing the reply", err)
	}
	if _, err := c.Version(ctx); err != nil {
		t.Errorf("a GET needs no message id: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ty := range types {
		if !strings.HasSuffix(ty, " application/x-www-form-urlencoded") {
			t.Errorf("request %q has no form content type", ty)
		}
	}
}

// TestHAStatusLoose: odd serverinfo fields do not hide islocalactive; a
// reply without it is an error.
func TestHAStatusLoose(t *testing.T) {
	t.Parallel()
	var h HAStatus
	odd := `{"msg":"IWNR3048I","islocalactive":"true","localhaport":"9561","maxsupportedconnections":1,"extra":{"a":1},
		"serverinfo":[{"server":"csm2","role":"Standby","status":"Synchronized","port":"9561","lastHeartbeat":{"ok":true},"version":6.311}]}`
	if err := json.Unmarshal([]byte(odd), &h); err != nil {
		t.Fatal(err)
	}
	want := HAStatus{Reply: Reply{Msg: "IWNR3048I"}, IsLocalActive: true, LocalHAPort: 9561, MaxSupportedConnections: 1,
		ServerInfo: []ServerInfo{{Server: "csm2", Role: "Standby", Status: "Synchronized", Port: 9561,
			Extra: map[string]any{"lastHeartbeat": map[string]any{"ok": true}, "version": 6.311}}}}
	if d := cmp.Diff(want, h); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, bad := range []string{`{"msg":"x"}`, `{"islocalactive":"maybe"}`, `{"islocalactive":null}`} {
		if err := json.Unmarshal([]byte(bad), &h); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestBackupBounds: a backup over max_size is refused and leaves no file; a
// partial download left by a killed run (its process gone) is removed by
// the next backup, while one of a live process stays.
func TestBackupBounds(t *testing.T) {
	t.Parallel()
	zip := bytes.Repeat([]byte("PK"), 4096)
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/backupserver/download": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/zip")
			w.Header().Set("Content-Length", strconv.Itoa(len(zip)))
			_, _ = w.Write(zip)
		},
	})
	r := registry(t, Options{})
	dir := t.TempDir()
	stale := filepath.Join(dir, partPrefix+"999999999-1"+partSuffix) // no such process
	live := filepath.Join(dir, partPrefix+strconv.Itoa(os.Getpid())+"-2"+partSuffix)
	for _, p := range []string{stale, live} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := runAction(t, r, context.Background(), newCall("csm.backup", f.target(), newFakeClock(), map[string]any{"dir": dir, "max_size": "4KiB"}))
	if !errors.Is(err, ErrTooLarge) || !actions.IsPermanent(err) || !strings.Contains(err.Error(), "max_size") {
		t.Fatalf("err = %v, want a permanent ErrTooLarge naming max_size", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{filepath.Base(live)}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want only the live process's partial file %v", names, want)
	}
	out, err := runAction(t, r, context.Background(), newCall("csm.backup", f.target(), newFakeClock(), map[string]any{"dir": dir, "max_size": int64(1 << 20)}))
	if err != nil || out["size"] != int64(len(zip)) {
		t.Fatalf("within the limit: %v, %v", out, err)
	}
	if err := roomFor(dir, 1<<62); err == nil || !strings.Contains(err.Error(), "bytes free") {
		t.Errorf("roomFor a huge backup: %v, want refused (the OS tells the free space here)", err)
	}
	for in, want := range map[string]int64{"512MiB": 512 << 20, "2GB": 2e9, "1024": 1024, " 1.5 KiB": 1536} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "lots", "5XB", "0"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q): no error", bad)
		}
	}
}

// Errors that retrying cannot fix are permanent, so that a wait stops at
// once: refused credentials, an unverifiable certificate, a name that
// does not resolve.
func TestPermanentErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.DNSError{Err: "no such host", Name: "csm9.invalid", IsNotFound: true}, true},
		{&net.DNSError{Err: "i/o timeout", Name: "csm9.example.com", IsTimeout: true}, false},
		{fmt.Errorf("login: %w", ErrAuth), true},
		{&CertError{Server: "x:9559", Err: errors.New("unknown authority")}, true},
		{fmt.Errorf("get: %w", ErrUnavailable), false},
	} {
		if got := permanent(tc.err); got != tc.want {
			t.Errorf("permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

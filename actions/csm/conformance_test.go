package csm

import (
	"context"
	"net/http"
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/actions/remote"
)

// TestConformance runs the actionstest conformance suite on every CSM probe
// and action, against a fake server that answers every route.
func TestConformance(t *testing.T) {
	t.Parallel()
	f := newFakeCSM(t, map[string]http.HandlerFunc{
		"GET /system/ha":      haRoute(HAStatus{Reply: Reply{Msg: MsgHAStatusQueried}, IsLocalActive: false, ServerInfo: []ServerInfo{{Server: "csm2", Role: RoleActive, Status: StatusSynchronized, Port: 9561}}}),
		"GET /sessions/short": sessionsRoute(),
		"GET /sessions/MM1": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, SessionShort{Name: "MM1", State: "Prepared"})
		},
		"GET /sessions/scheduledtasks":              func(w http.ResponseWriter, r *http.Request) { writeJSON(w, []ScheduledTask{{ID: 1, Name: "n"}}) },
		"GET /system/version":                       versionRoute("6.3.10.1"),
		"PUT /system/ha/takeover":                   replyWith(MsgTakeoverIssued, "ok"),
		"PUT /system/ha/reconnect":                  replyWith(MsgReconnected, "ok"),
		"PUT /system/ha/setServerAsStandby/csm2":    replyWith(MsgMadeStandby, "ok"),
		"PUT /system/ha/setStandbyServer/csm2/u/pw": replyWith(MsgMadeStandby, "ok"),
		"POST /sessions/scheduledtasks/enable/1":    replyWith("IWNR1810I", "ok"),
		"POST /sessions/scheduledtasks/disable/1":   replyWith("IWNR1811I", "ok"),
		"GET /system/backupserver/download": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/zip")
			_, _ = w.Write([]byte("PK\x03\x04"))
		},
	})
	ex := &fakeExec{run: func(context.Context, remote.Command) (int, error) { return 0, nil }}
	r := registry(t, Options{Executor: func(map[string]any) (remote.Executor, error) { return ex, nil }})
	call := &actions.Call{Targets: map[string]map[string]any{"csm1": f.target()}}
	target := map[string]any{"target": "csm1"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{"target": "csm1"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	noTarget := map[string]any{"target": ""}

	for _, name := range []string{"csm.ha", "csm.sessions", "csm.version", "csm.tasks", "csm.reachable"} {
		actionstest.TestProbe(t, r, name, actionstest.Conformance{Valid: []map[string]any{target}, Invalid: []map[string]any{noTarget}, Call: call, Run: true})
	}
	actionstest.TestProbe(t, r, "csm.session", actionstest.Conformance{
		Valid: []map[string]any{with("name", "MM1")}, Invalid: []map[string]any{target, with("name", "")}, Call: call, Run: true,
	})
	for _, tc := range []struct {
		name           string
		valid, invalid []map[string]any
	}{
		{"csm.takeover", []map[string]any{target}, []map[string]any{noTarget}},
		{"csm.reconnect", []map[string]any{target}, []map[string]any{noTarget}},
		{"csm.set_standby", []map[string]any{with("active", "csm2")}, []map[string]any{target}},
		{"csm.add_standby", []map[string]any{with("standby", "csm2", "username", "u", "password", "pw")}, []map[string]any{with("standby", "csm2", "username", "u")}},
		{"csm.task", []map[string]any{with("id", int64(1), "enabled", true), with("id", int64(1), "enabled", false)}, []map[string]any{with("id", "x", "enabled", true), with("id", int64(1))}},
		{"csm.backup", []map[string]any{with("dir", t.TempDir())}, []map[string]any{target}},
		{"csm.install", []map[string]any{with("argv", []any{"/opt/install.bin"}, "version", "6.3.10.2", "wait_timeout", "10m", "poll_interval", "10s")}, []map[string]any{with("argv", []any{}), with("argv", []any{"x"}, "poll_interval", "0s")}},
		{"csm.server", []map[string]any{with("op", "start", "argv", []any{"systemctl", "start", "csm"})}, []map[string]any{with("op", "restart", "argv", []any{"x"}), with("op", "stop")}},
	} {
		actionstest.TestAction(t, r, tc.name, actionstest.Conformance{Valid: tc.valid, Invalid: tc.invalid, Call: call, Run: true})
	}
}

package csmtest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions/csm"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Clock: clk, Username: "admin", Password: "s3cret"})
	c := newClient(t, p, p.Primary())
	ctx := context.Background()

	resp, data, err := c.raw(ctx, "POST", "/system/v1/tokens", url.Values{"username": {"admin"}, "password": {"wrong"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var r csm.Reply
	if err := json.Unmarshal(data, &r); err != nil || resp.StatusCode != 401 || csm.Severity(r.Msg) != 'E' {
		t.Fatalf("wrong password: HTTP %d %s (%v), want 401 with an E msg", resp.StatusCode, data, err)
	}
	if strings.Contains(string(data), "wrong") {
		t.Fatal("the reply echoes the password")
	}
	for _, tok := range []string{"", "bogus"} {
		resp, data, err := c.raw(ctx, "GET", "/system/ha", nil, tok)
		if err != nil || resp.StatusCode != 401 || !strings.Contains(string(data), msgUnauthorized) {
			t.Fatalf("token %q: HTTP %v %s %v, want 401", tok, resp.StatusCode, data, err)
		}
	}
	if err := c.login(); err != nil {
		t.Fatal(err)
	}
	tok := c.token
	if resp, _, _ := c.raw(ctx, "GET", "/system/ha", nil, tok); resp.StatusCode != 200 {
		t.Fatalf("valid token: HTTP %d", resp.StatusCode)
	}
	// Tokens are per server.
	p2 := newPair(t, Options{Clock: clk})
	if resp, _, _ := newClient(t, p2, p2.Primary()).raw(ctx, "GET", "/system/ha", nil, tok); resp.StatusCode != 401 {
		t.Fatalf("another server's token: HTTP %d", resp.StatusCode)
	}
	clk.Advance(DefaultTokenLifetime)
	if resp, _, _ := c.raw(ctx, "GET", "/system/ha", nil, tok); resp.StatusCode != 401 {
		t.Fatalf("expired token: HTTP %d, want 401", resp.StatusCode)
	}
	if v := c.version(); v != DefaultVersion {
		t.Fatalf("after a new login: version %q", v)
	}
}

func TestNotFoundAndBadRequest(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Clock: newFakeClock()})
	c := newClient(t, p, p.Primary())
	var r csm.Reply
	for _, tc := range []struct{ method, path string }{
		{"GET", "/no/such/thing"}, {"DELETE", "/system/ha"}, {"GET", "/sessions/NOPE"}, {"GET", "/sessions/scheduledtasks/99"}, {"GET", "/sessions/scheduledtasks/x"},
	} {
		r = csm.Reply{}
		if code := c.must(tc.method, tc.path, nil, &r); code != 404 || !csm.Failed(r.Msg) {
			t.Errorf("%s %s: HTTP %d %+v, want 404 with an E msg", tc.method, tc.path, code, r)
		}
	}
	if err := c.login(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", c.base+"/sessions/MM_PROD_DB", strings.NewReader(`{"cmd":"Suspend"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Auth-Token", c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(data), msgBadRequest) {
		t.Fatalf("JSON body: HTTP %d %s, want 400", resp.StatusCode, data)
	}
	r = csm.Reply{}
	if code := c.must("POST", "/sessions/MM_PROD_DB", url.Values{}, &r); code != 400 || r.Msg != msgBadRequest {
		t.Fatalf("no cmd: HTTP %d %+v", code, r)
	}
}

func TestBackups(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock()})
	c := newClient(t, p, p.Secondary()) // the standby can back up too
	wantMsg(t, "create", c.reply("PUT", "/system/backupserver", nil), msgBackupCreated)
	if err := c.login(); err != nil {
		t.Fatal(err)
	}
	resp, data, err := c.raw(context.Background(), "GET", "/system/backupserver/download", nil, c.token)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/zip" {
		t.Fatalf("download: HTTP %d Content-Type %q", resp.StatusCode, ct)
	}
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || !strings.HasPrefix(params["filename"], "csmBackup_20260105_090000") || !strings.HasSuffix(params["filename"], ".zip") {
		t.Fatalf("Content-Disposition %q (%v)", resp.Header.Get("Content-Disposition"), err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "csmConfig/csm.properties" {
		t.Fatalf("zip holds %v", zr.File)
	}
	f, _ := zr.File[0].Open()
	content, _ := io.ReadAll(f)
	f.Close()
	if !strings.Contains(string(content), "version=6.3.10.0") || !strings.Contains(string(content), "sessions=MM_PROD_DB,GM_DR_SITE,FC_NIGHTLY") {
		t.Fatalf("config file:\n%s", content)
	}
	var l csm.BackupList
	c.must("GET", "/system/backupserver", nil, &l)
	if l.Msg != msgBackupsListed || len(l.Backups) != 2 || l.Backups[0].Name == l.Backups[1].Name || l.Backups[1].Size != int64(len(data)) {
		t.Fatalf("backup list %+v", l)
	}
}

func TestSessionsAndCommands(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock()})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())
	var full []csm.SessionShort
	prim.must("GET", "/sessions", nil, &full)
	if len(full) != 3 || full[0].RulesName != "Metro Mirror" || full[1].RulesName != "Global Mirror" || full[2].State != "Target Available" {
		t.Fatalf("sessions %+v", full)
	}
	var one csm.SessionShort
	if code := sec.must("GET", "/sessions/GM_DR_SITE", nil, &one); code != 200 || one.Name != "GM_DR_SITE" || one.NumCopySets != 48 {
		t.Fatalf("one session: HTTP %d %+v", code, one)
	}
	cmd := func(c *tclient, name, command string) csm.Reply {
		return c.reply("POST", "/sessions/"+name, url.Values{"cmd": {command}})
	}
	wantMsg(t, "suspend on the standby", cmd(sec, "MM_PROD_DB", "Suspend"), msgStandbyCommand)
	wantMsg(t, "suspend", cmd(prim, "MM_PROD_DB", "Suspend"), csm.MsgSessionCmdDone)
	wantMsg(t, "suspend again", cmd(prim, "MM_PROD_DB", "Suspend"), csm.MsgActionNotAllowed)
	wantMsg(t, "unknown command", cmd(prim, "MM_PROD_DB", "Dance"), csm.MsgActionNotAllowed)
	if s := sec.sessions()[0]; s.State != "Suspended" || s.Status != "Severe" {
		t.Fatalf("after suspend %+v", s)
	}
	wantMsg(t, "start", cmd(prim, "MM_PROD_DB", "Start H1->H2"), csm.MsgSessionCmdDone)
	if got := p.CheckFinal(p.Version()); len(got) != 0 {
		t.Fatalf("CheckFinal after restoring the session: %v", got)
	}
	if countEvents(p.Timeline(), EventSession, "") != 2 {
		t.Fatal("session changes not on the timeline")
	}
}

func TestScheduledTasks(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Standby: true, Clock: clk})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())
	var tasks []csm.ScheduledTask
	prim.must("GET", "/sessions/scheduledtasks", nil, &tasks)
	if len(tasks) != 2 || !tasks[0].Enabled || tasks[1].Enabled || tasks[0].NextRun != clk.Now().Add(time.Hour).UnixMilli() || tasks[1].NextRun != 0 {
		t.Fatalf("tasks %+v", tasks)
	}
	wantMsg(t, "enable on the standby", sec.reply("POST", "/sessions/scheduledtasks/enable/2", nil), msgStandbyCommand)
	wantMsg(t, "disable", prim.reply("POST", "/sessions/scheduledtasks/disable/1", nil), msgTaskChanged)
	clk.Advance(3 * time.Hour)
	if n := countEvents(p.Timeline(), EventTaskRun, "*"); n != 0 {
		t.Fatalf("%d runs of disabled tasks", n)
	}
	wantMsg(t, "enable", prim.reply("POST", "/sessions/scheduledtasks/enable/1", nil), msgTaskChanged)
	clk.Advance(2*time.Hour + time.Minute)
	tl := p.Timeline()
	if countEvents(tl, EventTaskRun, "primary") != 2 || countEvents(tl, EventTaskRun, "secondary") != 0 {
		t.Fatalf("task runs: want 2 on the active primary, none on the standby:\n%s", dump(tl))
	}
	var one csm.ScheduledTask
	prim.must("GET", "/sessions/scheduledtasks/1", nil, &one)
	if one.LastRan != clk.Now().Add(-time.Minute).UnixMilli() || one.Actions[0].SessionName != "FC_NIGHTLY" {
		t.Fatalf("task 1 %+v", one)
	}
	// The synchronized standby's table is a copy of the active server's,
	// taken when the active server's changes.
	sec.must("GET", "/sessions/scheduledtasks/1", nil, &one)
	if !one.Enabled || one.Actions[0].SessionName != "FC_NIGHTLY" {
		t.Fatalf("task 1 on the standby %+v, want the active server's copy", one)
	}
}

func TestHAConfiguration(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Standby: true, Clock: clk, SyncTime: time.Minute})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())

	wantMsg(t, "remove", prim.reply("PUT", "/system/ha/removeHaServer/"+p.Secondary().Host(), nil), msgHARemoved)
	if h := sec.ha(); !h.IsLocalActive || len(h.ServerInfo) != 0 {
		t.Fatalf("secondary after remove: %+v, want a standalone active server", h)
	}
	wantMsg(t, "reconnect without partner", prim.reply("PUT", "/system/ha/reconnect", nil), csm.MsgNoHAServers)
	wantMsg(t, "remove again", prim.reply("PUT", "/system/ha/removeHaServer/"+p.Secondary().Host(), nil), csm.MsgNoHAServers)

	base := "/system/ha/setStandbyServer/" + url.PathEscape(p.Secondary().Host()) + "/" + p.Username() + "/"
	r := prim.reply("PUT", base+"badpass", nil)
	wantMsg(t, "wrong standby password", r, msgBadStandbyCreds)
	if strings.Contains(r.MsgTranslated, "badpass") {
		t.Fatal("the reply echoes the password")
	}
	wantMsg(t, "unknown server", prim.reply("PUT", "/system/ha/setStandbyServer/10.0.0.9/"+p.Username()+"/"+p.Password(), nil), msgUnknownServer)
	wantMsg(t, "set standby", prim.reply("PUT", base+p.Password(), nil), csm.MsgMadeStandby)
	wantHA(t, "pending", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusSynchronizationPending)
	clk.Advance(time.Minute)
	wantHA(t, "synchronized", sec.ha(), false, p.Primary(), csm.RoleActive, csm.StatusSynchronized)
	wantMsg(t, "setStandbyServer on the standby", sec.reply("PUT", "/system/ha/setStandbyServer/localhost/"+p.Username()+"/"+p.Password(), nil), msgNotActive)
	wantMsg(t, "setServerAsStandby naming a standby", prim.reply("PUT", "/system/ha/setServerAsStandby/"+p.Secondary().Host(), nil), msgNotActive)

	// Stop the standby with the site's script: the active sees Disconnected;
	// start it: it reconnects.
	if code, out, errs := runControl(p.Secondary(), p.ServerArgv("x", "stop")[1:]); code != 0 || !strings.Contains(out, "stopped secondary") {
		t.Fatalf("stop: exit %d %q %q", code, out, errs)
	}
	wantHA(t, "standby stopped", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusDisconnected)
	wantMsg(t, "reconnect to a stopped partner", prim.reply("PUT", "/system/ha/reconnect", nil), msgUnreachable)
	if code, _, errs := runControl(p.Secondary(), p.ServerArgv("x", "start")[1:]); code != 0 {
		t.Fatalf("start: exit %d %q", code, errs)
	}
	clk.Advance(time.Minute)
	wantHA(t, "standby started", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusSynchronized)
	if vs := p.Violations(); len(vs) != 0 {
		t.Fatalf("violations %v", vs)
	}
	// Stopping the active server leaves no active server.
	runControl(p.Primary(), p.ServerArgv("x", "stop")[1:])
	if got := invariants(p.Violations()); len(got) != 1 || got[0] != InvariantOneActive {
		t.Fatalf("violations %v, want one-active", got)
	}
}

func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{InstallTime: -time.Second}, "Options.InstallTime: negative"},
		{Options{Sessions: []csm.SessionShort{{Name: "A"}, {Name: "A"}}}, `Options.Sessions[1]: duplicate name "A"`},
		{Options{Sessions: []csm.SessionShort{{Name: ""}}}, "Options.Sessions[0]: empty name"},
		{Options{Sessions: []csm.SessionShort{{Name: "a/b"}}}, `Options.Sessions[0]: name "a/b"`},
		{Options{Tasks: []csm.ScheduledTask{{ID: 1}, {ID: 1}}}, "Options.Tasks[1]: duplicate id 1"},
	} {
		if _, err := NewPair(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPair(%+v) error %v, want %q", tc.o, err, tc.want)
		}
	}
	if got := nextVersion("6.3.10.9"); got != "6.3.10.10" {
		t.Errorf("nextVersion = %q", got)
	}
	if got := nextVersion("6.3.x"); got != "6.3.x.1" {
		t.Errorf("nextVersion = %q", got)
	}
}

func TestCAAndServers(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true})
	path := t.TempDir() + "/ca.pem"
	if err := p.WriteCA(path); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(p.CAPEM(), []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatalf("CAPEM %q", p.CAPEM())
	}
	a, b := p.Primary(), p.Secondary()
	if a.Host() != "127.0.0.1" || a.Port() == b.Port() || a.URL() != "https://"+a.Addr() || a.Name() != "primary" || len(p.Servers()) != 2 {
		t.Fatalf("servers %v %v", a, b)
	}
	// localhost is in the certificate too.
	c := newClient(t, p, a)
	c.base = "https://localhost:" + a.Env()["CSM_PORT"] + "/CSM/web"
	if err := c.login(); err != nil {
		t.Fatalf("login via localhost: %v", err)
	}
}

// Re-establishing HA with setServerAsStandby when the old active did not
// reconnect by itself.
func TestSetServerAsStandby(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Standby: true, Clock: clk, InstallTime: time.Minute, Faults: []string{FaultNoAutoReconnect}})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())
	if got := p.ActiveFaults(); len(got) != 1 || got[0] != FaultNoAutoReconnect {
		t.Fatalf("ActiveFaults() = %v", got)
	}
	wantMsg(t, "takeover", sec.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	wantMsg(t, "naming itself", prim.reply("PUT", "/system/ha/setServerAsStandby/"+p.Primary().Host(), nil), msgUnknownServer)
	wantMsg(t, "naming a stranger", prim.reply("PUT", "/system/ha/setServerAsStandby/192.0.2.1", nil), msgUnknownServer)
	// host:port (the REST port) is refused: the HA port is not the REST port.
	r := prim.reply("PUT", "/system/ha/setServerAsStandby/"+p.Secondary().Addr(), nil)
	wantMsg(t, "naming host:port", r, msgUnknownServer)
	if !strings.Contains(r.MsgTranslated, "by its host") {
		t.Fatalf("host:port refused with %q, want it to say why", r.MsgTranslated)
	}
	wantMsg(t, "set as standby", prim.reply("PUT", "/system/ha/setServerAsStandby/"+p.Secondary().Host(), nil), csm.MsgMadeStandby)
	wantHA(t, "primary", prim.ha(), false, p.Secondary(), csm.RoleActive, csm.StatusSynchronized)
	// Now install the primary and stop the secondary: naming a down server.
	install(t, p, p.Primary())
	clk.Advance(time.Minute)
	runControl(p.Secondary(), p.ServerArgv("x", "stop")[1:])
	wantMsg(t, "active is down", prim.reply("PUT", "/system/ha/setServerAsStandby/"+p.Secondary().Host(), nil), msgUnreachable)
	if code, out, _ := runControl(p.Secondary(), p.ServerArgv("x", "stop")[1:]); code != 0 || !strings.Contains(out, "already down") {
		t.Fatalf("second stop: exit %d %q", code, out)
	}
	if got := invariants(p.Violations()); len(got) != 1 || got[0] != InvariantOneActive {
		t.Fatalf("violations %v, want one-active (the active was stopped)", got)
	}
}

func TestEventString(t *testing.T) {
	t.Parallel()
	e := Event{Time: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), Server: "primary", Kind: EventTakeover, Detail: "accepted", Requests: 7}
	if got, want := e.String(), "2026-01-05T09:00:00Z primary takeover: accepted (requests 7)"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	e.Server = ""
	if got := e.String(); !strings.Contains(got, " pair takeover") {
		t.Fatalf("String() = %q", got)
	}
	if got := (Violation{Invariant: "one-active", Detail: "x"}).String(); got != "one-active (x)" {
		t.Fatalf("Violation.String() = %q", got)
	}
	p := newPair(t, Options{Clock: newFakeClock()})
	if s := p.Primary().String(); s != "primary ("+p.Primary().Addr()+")" {
		t.Fatalf("Server.String() = %q", s)
	}
}

// IBM's REXX REST framework appends the HA port to the HA paths; the REST
// port there is refused.
func TestHAPathsWithPort(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock(), Faults: []string{FaultNoAutoReconnect}})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())
	wantMsg(t, "takeover", sec.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	s := p.Secondary()
	wantMsg(t, "set as standby with the REST port", prim.reply("PUT", "/system/ha/setServerAsStandby/"+s.Host()+"/"+strconv.Itoa(s.Port()), nil), msgUnknownServer)
	wantMsg(t, "set as standby with the HA port", prim.reply("PUT", "/system/ha/setServerAsStandby/"+s.Host()+"/"+strconv.Itoa(s.HAPort()), nil), csm.MsgMadeStandby)
	wantHA(t, "primary", prim.ha(), false, p.Secondary(), csm.RoleActive, csm.StatusSynchronized)
}

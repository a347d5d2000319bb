package csmtest

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions/csm"
)

func TestUnknownFault(t *testing.T) {
	t.Parallel()
	_, err := NewPair(Options{Faults: []string{"standby-unsynchronized", "disk-full"}})
	if err == nil || !strings.Contains(err.Error(), `csmtest: unknown fault "disk-full"`) ||
		!strings.Contains(err.Error(), strings.Join(FaultNames(), ", ")) {
		t.Fatalf("NewPair error = %v, want the unknown fault and the valid ones", err)
	}
	p := newPair(t, Options{})
	if err := p.Inject("nope"); err == nil || !strings.Contains(err.Error(), "valid faults are standby-unsynchronized") {
		t.Fatalf("Inject error = %v", err)
	}
	if err := p.Clear("nope"); err == nil {
		t.Fatal("Clear of an unknown fault: no error")
	}
	if len(FaultNames()) != 17 {
		t.Fatalf("FaultNames() = %v, want 17 names", FaultNames())
	}
}

func TestFaultStandbyUnsynchronized(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Standby: true, Clock: clk, Faults: []string{FaultStandbyUnsynchronized}})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())
	clk.Advance(24 * time.Hour)
	wantHA(t, "secondary", sec.ha(), false, p.Primary(), csm.RoleActive, csm.StatusSynchronizationPending)
	if err := p.Clear(FaultStandbyUnsynchronized); err != nil {
		t.Fatal(err)
	}
	wantHA(t, "primary after clear", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusSynchronized)
	if err := p.Inject(FaultStandbyUnsynchronized); err != nil {
		t.Fatal(err)
	}
	wantHA(t, "primary after inject", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusSynchronizationPending)
	if vs := p.Violations(); len(vs) != 0 {
		t.Fatalf("violations %v", vs)
	}
}

// A server in standby mode accepts a takeover whatever the relationship
// status; away from a running manager at the same level while
// unsynchronized, the monitor records it.
func TestTakeoverUnsynchronizedViolation(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock(), Faults: []string{FaultStandbyUnsynchronized}})
	sec := newClient(t, p, p.Secondary())
	wantMsg(t, "takeover", sec.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	if got := invariants(p.Violations()); !slices.Equal(got, []string{InvariantTakeoverUnsynchronized}) {
		t.Fatalf("violations %v, want takeover-unsynchronized", got)
	}
}

func TestFaultSessionTransitory(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock()})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())
	if err := p.Inject(FaultSessionTransitory); err != nil {
		t.Fatal(err)
	}
	ss := sec.sessions()
	if ss[0].Name != "MM_PROD_DB" || ss[0].State != "Preparing" {
		t.Fatalf("sessions %+v, want MM_PROD_DB Preparing", ss)
	}
	wantMsg(t, "command on the transitory session", prim.reply("POST", "/sessions/MM_PROD_DB", map[string][]string{"cmd": {"Suspend"}}), csm.MsgActionNotAllowed)
	// The server does not refuse the takeover; the monitor records it.
	wantMsg(t, "takeover", sec.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	vs := p.Violations()
	if len(vs) != 1 || vs[0].Invariant != InvariantTakeoverTransitory || !strings.Contains(vs[0].Detail, "MM_PROD_DB Preparing") {
		t.Fatalf("violations %v, want takeover-transitory naming MM_PROD_DB", vs)
	}
	if err := p.Clear(FaultSessionTransitory); err != nil {
		t.Fatal(err)
	}
	if ss := sec.sessions(); ss[0].State != "Prepared" {
		t.Fatalf("after Clear: %+v, want Prepared", ss[0])
	}
}

func TestFaultTakeoverRejected(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock(), Faults: []string{FaultTakeoverRejected}})
	sec := newClient(t, p, p.Secondary())
	r := sec.reply("PUT", "/system/ha/takeover", nil)
	wantMsg(t, "takeover", r, msgTakeoverRejected)
	if !csm.Failed(r.Msg) {
		t.Fatalf("%s is not a failure", r.Msg)
	}
	if p.Secondary().Role() != csm.RoleStandby || countEvents(p.Timeline(), EventTakeoverRefused, "secondary") != 1 {
		t.Fatal("the rejected takeover changed the role or was not recorded")
	}
}

func TestTakeoverOnActiveRejected(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock()})
	prim := newClient(t, p, p.Primary())
	r := prim.reply("PUT", "/system/ha/takeover", nil)
	wantMsg(t, "takeover on the active", r, msgTakeoverOnActive)
	if !csm.Failed(r.Msg) || p.Primary().Role() != csm.RoleActive || p.Secondary().Role() != csm.RoleStandby {
		t.Fatalf("reply %+v; roles changed?", r)
	}
	if vs := p.Violations(); len(vs) != 0 {
		t.Fatalf("violations %v", vs)
	}
}

func TestFaultNoAutoReconnect(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Standby: true, Clock: clk, ReconnectDelay: time.Minute, SyncTime: time.Minute, Faults: []string{FaultNoAutoReconnect}})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())
	wantMsg(t, "takeover", sec.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	clk.Advance(time.Hour)
	wantHA(t, "primary stays active", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusDisconnected)
	wantMsg(t, "reconnect", prim.reply("PUT", "/system/ha/reconnect", nil), csm.MsgReconnected)
	wantHA(t, "primary after reconnect", prim.ha(), false, p.Secondary(), csm.RoleActive, csm.StatusSynchronizationPending)
	clk.Advance(time.Minute)
	wantHA(t, "secondary", sec.ha(), true, p.Primary(), csm.RoleStandby, csm.StatusSynchronized)
}

func TestFaultInstallerFails(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock(), Faults: []string{FaultInstallerFails}})
	code, out, errs := runControl(p.Secondary(), p.InstallerArgv("x")[1:])
	if code != 1 || out != "" || !strings.Contains(errs, "installer-fails") {
		t.Fatalf("exit %d stdout %q stderr %q, want 1 and the fault on stderr", code, out, errs)
	}
	if v := newClient(t, p, p.Secondary()).version(); v != p.Version() {
		t.Fatalf("version %s after a failed install", v)
	}
	if countEvents(p.Timeline(), EventInstallFailed, "secondary") != 1 {
		t.Fatal("failed install not on the timeline")
	}
}

func TestFaultNoRestart(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Clock: clk, InstallTime: time.Minute, Faults: []string{FaultNoRestart}})
	c := newClient(t, p, p.Primary())
	install(t, p, p.Primary())
	clk.Advance(time.Hour)
	if _, err := c.call("GET", "/system/version", nil, nil); !isTransportError(err) {
		t.Fatalf("the server answered after a no-restart install (err %v)", err)
	}
	if got := p.CheckFinal(""); len(got) != 1 || got[0].Invariant != InvariantFinalVersion || !strings.Contains(got[0].Detail, "primary is down") {
		t.Fatalf("CheckFinal %v, want primary down", got)
	}
	if code, _, errs := runControl(p.Primary(), p.ServerArgv("x", "start")[1:]); code != 0 {
		t.Fatalf("start: exit %d: %s", code, errs)
	}
	if v := c.version(); v != p.TargetVersion() {
		t.Fatalf("after start: version %s", v)
	}
}

func TestFaultWrongVersionAndSessionChanged(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Clock: clk, Faults: []string{FaultWrongVersion, FaultSessionChanged}})
	c := newClient(t, p, p.Primary())
	install(t, p, p.Primary())
	if v := c.version(); v != p.Version() {
		t.Fatalf("version %s, want the old %s (fault wrong-version)", v, p.Version())
	}
	ss := c.sessions()
	if ss[0].State != "Suspended" || ss[0].Status != "Severe" || ss[1].State != "Prepared" {
		t.Fatalf("sessions %+v, want the first Prepared one Suspended", ss)
	}
	got := p.Summary("")
	want := "simulator: violated: final-version (primary runs 6.3.10.0, want 6.3.10.1); final-sessions (MM_PROD_DB state Suspended, want Prepared, MM_PROD_DB status Severe, want Normal)"
	if got != want {
		t.Fatalf("Summary:\n got %q\nwant %q", got, want)
	}
	// Installing the old version again: wrong-version then appends .99.
	code, _, _ := runControl(p.Primary(), []string{"install", "--version", p.Version(), "--ca", p.CAFile(), "--key-file", p.ControlKeyFile()})
	if v := c.version(); code != 0 || v != p.Version()+".99" {
		t.Fatalf("exit %d version %s, want %s.99", code, v, p.Version())
	}
}

func TestFaultBackupFails(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Clock: newFakeClock(), Faults: []string{FaultBackupFails}})
	c := newClient(t, p, p.Primary())
	var r csm.Reply
	if code := c.must("PUT", "/system/backupserver", nil, &r); code != 500 || r.Msg != msgBackupFailed {
		t.Fatalf("create: HTTP %d %+v", code, r)
	}
	r = csm.Reply{}
	if code := c.must("GET", "/system/backupserver/download", nil, &r); code != 500 || !csm.Failed(r.Msg) {
		t.Fatalf("download: HTTP %d %+v", code, r)
	}
	var l csm.BackupList
	if code := c.must("GET", "/system/backupserver", nil, &l); code != 200 || len(l.Backups) != 0 {
		t.Fatalf("list: HTTP %d %+v", code, l)
	}
}

func TestFaultTokenExpiry(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Clock: newFakeClock(), Faults: []string{FaultTokenExpiry}})
	c := newClient(t, p, p.Primary())
	if err := c.login(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= TokenUses+1; i++ {
		resp, _, err := c.raw(context.Background(), "GET", "/system/version", nil, c.token)
		if err != nil {
			t.Fatal(err)
		}
		want := http.StatusOK
		if i > TokenUses {
			want = http.StatusUnauthorized
		}
		if resp.StatusCode != want {
			t.Fatalf("use %d: HTTP %d, want %d", i, resp.StatusCode, want)
		}
	}
	if v := c.version(); v != p.Version() { // the client logs in again
		t.Fatalf("version %q after re-authentication", v)
	}
}

func TestFaultConnectionReset(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Clock: newFakeClock()})
	c := newClientKA(t, p, p.Primary(), false)
	if err := c.login(); err != nil {
		t.Fatal(err)
	}
	if err := p.Inject(FaultConnectionReset); err != nil {
		t.Fatal(err)
	}
	var failed []int
	for i := 1; i <= 8; i++ {
		if _, _, err := c.raw(context.Background(), "GET", "/system/version", nil, c.token); err != nil {
			failed = append(failed, i)
		}
	}
	if !slices.Equal(failed, []int{4, 8}) {
		t.Fatalf("failed requests %v, want [4 8]", failed)
	}
	if n := countEvents(p.Timeline(), EventConnectionReset, "primary"); n != 2 {
		t.Fatalf("%d resets on the timeline, want 2", n)
	}
	if p.Requests() != 9 {
		t.Fatalf("Requests() = %d, want 9", p.Requests())
	}
}

func TestFaultSlowResponse(t *testing.T) {
	t.Parallel()
	const delay = 30 * time.Millisecond
	p := newPair(t, Options{Clock: newFakeClock(), SlowDelay: delay, Faults: []string{FaultSlowResponse}})
	c := newClient(t, p, p.Primary())
	start := time.Now()
	if v := c.version(); v != p.Version() {
		t.Fatalf("version %q", v)
	}
	// login and version: two delayed responses
	if d := time.Since(start); d < 2*delay {
		t.Fatalf("two slow responses took %v, want at least %v", d, 2*delay)
	}

	// The delay honours the request's context.
	q := newPair(t, Options{Clock: newFakeClock(), SlowDelay: time.Hour, Faults: []string{FaultSlowResponse}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := newClient(t, q, q.Primary()).raw(ctx, "GET", "/system/version", nil, ""); err == nil {
		t.Fatal("a one-hour delay answered before the context ended")
	}
}

func TestDefaultSlowDelay(t *testing.T) {
	t.Parallel()
	real := newPair(t, Options{})
	virtual := newPair(t, Options{Clock: newFakeClock()})
	if real.opts.SlowDelay != DefaultSlowDelay || virtual.opts.SlowDelay != VirtualSlowDelay {
		t.Fatalf("slow delays %v and %v", real.opts.SlowDelay, virtual.opts.SlowDelay)
	}
}

func TestInstallOnManagerViolation(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Standby: true, Clock: clk, InstallTime: 10 * time.Minute})
	install(t, p, p.Primary())
	got := invariants(p.Violations())
	if !slices.Equal(got, []string{InvariantInstallerOnManager, InvariantOneActive}) {
		t.Fatalf("violations %v, want installer-on-manager and one-active", got)
	}
	sum := p.Summary("")
	if !strings.HasPrefix(sum, "simulator: violated: installer-on-manager (the installer started on primary while it managed the sessions") {
		t.Fatalf("Summary = %q", sum)
	}
}

// After a takeover both servers may be Active for a while; the installer
// may run on the one that no longer manages the sessions (the procedure's
// step 10), never on the one that took over.
func TestInstallWhileBothActive(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Standby: true, Clock: clk, ReconnectDelay: 10 * time.Minute, InstallTime: time.Minute})
	sec := newClient(t, p, p.Secondary())
	wantMsg(t, "takeover", sec.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	if r := p.Primary().Role(); r != csm.RoleActive {
		t.Fatalf("primary %s right after the takeover, want Active until it reconnects", r)
	}
	install(t, p, p.Primary()) // the old active: allowed
	if vs := p.Violations(); len(vs) != 0 {
		t.Fatalf("violations %v, want none", vs)
	}
	install(t, p, p.Secondary()) // the manager: never
	if got := invariants(p.Violations()); !slices.Equal(got, []string{InvariantInstallerOnManager, InvariantOneActive}) {
		t.Fatalf("violations %v, want installer-on-manager and one-active", got)
	}
}

func TestFaultVersionSuffix(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock(), Faults: []string{FaultVersionSuffix}})
	if a, b := newClient(t, p, p.Primary()).version(), newClient(t, p, p.Secondary()).version(); a != "6.3.10" || b != "6.3.10.0-b20261101" {
		t.Fatalf("versions %q and %q, want 6.3.10 and 6.3.10.0-b20261101", a, b)
	}
	if p.Primary().Version() != "6.3.10.0" {
		t.Fatal("the level itself changed")
	}
}

func TestFaultPartnerMismatch(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock(), Faults: []string{FaultPartnerMismatch}})
	if h := newClient(t, p, p.Primary()).ha(); len(h.ServerInfo) != 1 || h.ServerInfo[0].Server != mismatchedPartner {
		t.Fatalf("primary's serverinfo %+v, want the partner %s", h.ServerInfo, mismatchedPartner)
	}
	wantHA(t, "secondary", newClient(t, p, p.Secondary()).ha(), false, p.Primary(), csm.RoleActive, csm.StatusSynchronized)
}

// serverinfo-odd sends a port as a string and extra fields; the reply still
// decodes with its role.
func TestFaultServerinfoOdd(t *testing.T) {
	t.Parallel()
	p := newPair(t, Options{Standby: true, Clock: newFakeClock(), Faults: []string{FaultServerinfoOdd}})
	c := newClient(t, p, p.Secondary())
	if err := c.login(); err != nil {
		t.Fatal(err)
	}
	_, body, err := c.raw(context.Background(), "GET", "/system/ha", nil, c.token)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"port":"`+strconv.Itoa(HAPort)+`"`) || !strings.Contains(string(body), `"lastHeartbeat"`) {
		t.Fatalf("reply %s, want a string port and extra fields", body)
	}
	var h csm.HAStatus
	if err := json.Unmarshal(body, &h); err != nil || h.IsLocalActive || len(h.ServerInfo) != 1 || h.ServerInfo[0].Port != HAPort || h.ServerInfo[0].Extra["connections"] != "1" {
		t.Fatalf("decoded %+v, %v", h, err)
	}
}

// cert-renewed: after an install the server presents a new self-signed
// certificate, which the pair's CA does not verify.
func TestFaultCertRenewed(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Clock: clk, InstallTime: time.Minute, Faults: []string{FaultCertRenewed}})
	before := p.Primary().Fingerprint()
	install(t, p, p.Primary())
	clk.Advance(time.Minute)
	if after := p.Primary().Fingerprint(); after == before {
		t.Fatal("the certificate was not renewed")
	}
	if err := newClient(t, p, p.Primary()).login(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("login with the CA after the renewal: %v, want a certificate error", err)
	}
}

// Reading the sessions from the new manager while the old-level partner
// can still run scheduled tasks breaks window-open-at-validation.
func TestWindowOpenAtValidation(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Standby: true, Clock: clk, InstallTime: time.Minute})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())
	wantMsg(t, "takeover", sec.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	install(t, p, p.Primary())
	clk.Advance(time.Minute)
	wantMsg(t, "takeover back", prim.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	clk.Advance(3 * time.Minute)
	prim.sessions()
	if got := invariants(p.Violations()); !slices.Equal(got, []string{InvariantWindowOpen}) {
		t.Fatalf("violations %v, want window-open-at-validation", got)
	}
	if w := p.BothActive(); !w.Open || w.Total != 3*time.Minute {
		t.Fatalf("window %+v, want open for 3m", w)
	}
}

package csmtest

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions/csm"
)

// TestProcedureWithDR runs the 11 steps of the upgrade keeping DR by raw
// HTTP and the control program, on a virtual clock, under both readings of
// what two servers at different levels do.
func TestProcedureWithDR(t *testing.T) {
	t.Parallel()
	t.Run("procedure", func(t *testing.T) { t.Parallel(); procedureWithDR(t, false) })
	t.Run("reconnect-across-levels", func(t *testing.T) { t.Parallel(); procedureWithDR(t, true) })
}

func procedureWithDR(t *testing.T, across bool) {
	clk := newFakeClock()
	const install20, sync5, reconnect2 = 20 * time.Minute, 5 * time.Minute, 2 * time.Minute
	var faults []string
	if across {
		faults = []string{FaultReconnectAcrossLevels}
	}
	p := newPair(t, Options{Standby: true, Clock: clk, InstallTime: install20, SyncTime: sync5, ReconnectDelay: reconnect2, Faults: faults})
	prim, sec := newClient(t, p, p.Primary()), newClient(t, p, p.Secondary())
	from, target := p.Version(), p.TargetVersion()
	if from != "6.3.10.0" || target != "6.3.10.1" {
		t.Fatalf("versions %s → %s, want 6.3.10.0 → 6.3.10.1", from, target)
	}
	before := prim.sessions()

	// 1. The standby is synchronized, no session transitory, same levels.
	wantHA(t, "step 1 primary", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusSynchronized)
	wantHA(t, "step 1 secondary", sec.ha(), false, p.Primary(), csm.RoleActive, csm.StatusSynchronized)
	for _, s := range before {
		if isTransitory(s.State) {
			t.Fatalf("step 1: session %s is %s", s.Name, s.State)
		}
	}
	if a, b := prim.version(), sec.version(); a != from || b != from {
		t.Fatalf("step 1: versions %s and %s, want %s", a, b, from)
	}

	// 2. Takeover on the secondary.
	wantMsg(t, "step 2 takeover", sec.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	if h := sec.ha(); !h.IsLocalActive {
		t.Fatal("step 2: secondary is not active after the takeover")
	}
	wantHA(t, "step 2 primary before reconnecting", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusDisconnected)

	// 3. The primary reconnects after the delay and becomes Standby.
	clk.Advance(reconnect2)
	wantHA(t, "step 3 primary", prim.ha(), false, p.Secondary(), csm.RoleActive, csm.StatusSynchronizationPending)
	clk.Advance(sync5)
	wantHA(t, "step 3 secondary", sec.ha(), true, p.Primary(), csm.RoleStandby, csm.StatusSynchronized)
	clk.Advance(time.Hour) // the hourly task runs, on the secondary only
	tl := p.Timeline()
	if countEvents(tl, EventTaskRun, "secondary") != 1 || countEvents(tl, EventTaskRun, "primary") != 0 {
		t.Fatalf("step 3: task runs: want one on the secondary only; timeline:\n%s", dump(tl))
	}

	// 4-7. The installer on the primary (a Standby).
	install(t, p, p.Primary())
	if _, err := prim.call("GET", "/system/version", nil, nil); !isTransportError(err) {
		t.Fatalf("step 4: primary answered while the installer runs (err %v)", err)
	}
	wantHA(t, "step 4 secondary", sec.ha(), true, p.Primary(), csm.RoleStandby, csm.StatusDisconnected)

	// 8. The primary restarted at the new version, still in standby mode.
	// Between two levels the relationship cannot connect (the procedure's
	// reading) or connects as between one level (the other reading).
	clk.Advance(install20)
	if v := prim.version(); v != target {
		t.Fatalf("step 8: primary at %s, want %s", v, target)
	}
	if across {
		wantHA(t, "step 8 primary", prim.ha(), false, p.Secondary(), csm.RoleActive, csm.StatusSynchronizationPending)
	} else {
		wantHA(t, "step 8 primary", prim.ha(), false, p.Secondary(), csm.RoleActive, csm.StatusDifferentLevels)
		clk.Advance(sync5)
		wantHA(t, "step 8 primary, later", prim.ha(), false, p.Secondary(), csm.RoleActive, csm.StatusDifferentLevels)
	}

	// 9. Takeover from the primary, accepted whatever the relationship
	// status. The old-level secondary stays Active (procedure) until its
	// tasks are disabled, or reconnects as standby (other reading).
	wantMsg(t, "step 9 takeover", prim.reply("PUT", "/system/ha/takeover", nil), csm.MsgTakeoverIssued)
	clk.Advance(reconnect2 + sync5)
	if across {
		wantHA(t, "step 9 primary", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusSynchronized)
		if w := p.BothActive(); w.Open || w.Total != 2*reconnect2 {
			t.Fatalf("step 9: window %+v, want closed after the reconnects of steps 3 and 9", w)
		}
	} else {
		if h := sec.ha(); !h.IsLocalActive {
			t.Fatal("step 9: the old-level secondary is not Active")
		}
		if w := p.BothActive(); !w.Open || w.Total != reconnect2+(reconnect2+sync5) {
			t.Fatalf("step 9: window %+v, want open since the takeover", w)
		}
		// The old-level secondary cannot be made standby of the upgraded
		// primary, nor reconnect to it.
		wantMsg(t, "step 9 set as standby across levels", sec.reply("PUT", "/system/ha/setServerAsStandby/"+p.Primary().Host(), nil), msgDifferentLevels)
		wantMsg(t, "step 9 reconnect across levels", sec.reply("PUT", "/system/ha/reconnect", nil), msgDifferentLevels)
		wantMsg(t, "step 9 close the window", sec.reply("POST", "/sessions/scheduledtasks/disable/1", nil), msgTaskChanged)
		if w := p.BothActive(); w.Open {
			t.Fatalf("step 9: window %+v, want closed", w)
		}
	}
	if after := prim.sessions(); !slices.Equal(after, before) {
		t.Fatalf("step 9: sessions %+v, want %+v", after, before)
	}

	// 10. The installer on the secondary (the old active, which no longer
	// manages the sessions).
	install(t, p, p.Secondary())
	clk.Advance(install20)
	if v := sec.version(); v != target {
		t.Fatalf("step 10: secondary at %s, want %s", v, target)
	}

	// 11. Re-establish HA: the secondary is standby of the primary, named
	// by host with the HA port as IBM's REXX framework appends it.
	wantMsg(t, "step 11", sec.reply("PUT", "/system/ha/setServerAsStandby/"+p.Primary().Host()+"/"+strconv.Itoa(p.Primary().HAPort()), nil), csm.MsgMadeStandby)
	clk.Advance(sync5)
	wantHA(t, "step 11 primary", prim.ha(), true, p.Secondary(), csm.RoleStandby, csm.StatusSynchronized)

	if got := p.Summary(target); got != "simulator: invariants held" {
		t.Fatalf("Summary = %q\ntimeline:\n%s", got, dump(p.Timeline()))
	}
	tl = p.Timeline()
	if n, m := countEvents(tl, EventTakeover, "*"), countEvents(tl, EventInstallStart, "*"); n != 2 || m != 2 {
		t.Fatalf("timeline has %d takeovers and %d installs, want 2 and 2:\n%s", n, m, dump(tl))
	}
	if p.Requests() == 0 || tl[len(tl)-1].Requests == 0 {
		t.Fatal("no requests counted")
	}
}

// TestProcedureWithoutDR: steps 4-7 on a single server.
func TestProcedureWithoutDR(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPair(t, Options{Clock: clk, InstallTime: 10 * time.Minute, Version: "6.3.9.2", TargetVersion: "6.3.11.0"})
	if p.Secondary() != nil {
		t.Fatal("Secondary() is not nil without Standby")
	}
	c := newClient(t, p, p.Primary())
	h := c.ha()
	if !h.IsLocalActive || len(h.ServerInfo) != 0 || h.LocalHAPort != HAPort {
		t.Fatalf("HA status %+v, want active with no partner", h)
	}
	wantMsg(t, "takeover", c.reply("PUT", "/system/ha/takeover", nil), msgNoPartner)
	wantMsg(t, "reconnect", c.reply("PUT", "/system/ha/reconnect", nil), csm.MsgNoHAServers)
	install(t, p, p.Primary()) // on the Active server: fine without DR
	if p.Primary().Up() {
		t.Fatal("the server is up while the installer runs")
	}
	clk.Advance(10 * time.Minute)
	if v := c.version(); v != "6.3.11.0" {
		t.Fatalf("version %s, want 6.3.11.0", v)
	}
	if !c.ha().IsLocalActive {
		t.Fatal("an upgraded standalone server must come back Active")
	}
	if got := p.Summary("6.3.11.0"); got != "simulator: invariants held" {
		t.Fatalf("Summary = %q", got)
	}
	if got := p.Summary("6.3.12.0"); !strings.HasPrefix(got, "simulator: violated: final-version (primary runs 6.3.11.0, want 6.3.12.0)") {
		t.Fatalf("Summary for another target = %q", got)
	}
}

func dump(tl []Event) string {
	var b strings.Builder
	for _, e := range tl {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

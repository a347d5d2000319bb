package csmtest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm"
)

// The model of the pair. Everything here is guarded by Pair.mu. Time-driven
// behaviour is a queue of due transitions (plus the scheduled tasks' next
// runs) processed in time order by advanceLocked when anyone looks: there are
// no timers.

type serverState int

const (
	stateUp         serverState = iota
	stateInstalling             // the installer runs: down until install.end
	stateStopped                // stopped by the stop control operation
	stateFailed                 // did not restart after an install (fault no-restart)
)

func (st serverState) String() string {
	switch st {
	case stateUp:
		return "up"
	case stateInstalling:
		return "installing"
	case stateStopped:
		return "stopped"
	default:
		return "down (did not restart)"
	}
}

// linkState is the HA relationship between the two servers.
type linkState int

const (
	linkNone         linkState = iota // no HA relationship
	linkDisconnected                  // configured, not connected
	linkLevels                        // configured, cannot connect: the servers are at different levels
	linkPending                       // connected, synchronizing
	linkSynced                        // connected and synchronized
)

// String returns the relationship status string reported in /system/ha.
func (l linkState) String() string {
	switch l {
	case linkDisconnected:
		return csm.StatusDisconnected
	case linkLevels:
		return csm.StatusDifferentLevels
	case linkPending:
		return csm.StatusSynchronizationPending
	case linkSynced:
		return csm.StatusSynchronized
	}
	return "no HA relationship"
}

func (l linkState) connected() bool { return l == linkPending || l == linkSynced }

type installRun struct {
	gen      uint64
	from, to string
	end      time.Time
}

type token struct {
	expires time.Time
	uses    int
}

type dueKind int

const (
	dueInstallDone dueKind = iota // an installer finishes
	dueReconnect                  // the old active reconnects after a takeover
	dueSyncDone                   // the relationship becomes Synchronized
)

type due struct {
	at   time.Time
	kind dueKind
	srv  *Server
	gen  uint64
}

// task is one scheduled task in one server's configuration: each server
// has its own table, and a synchronized standby's is a copy of its active
// server's.
type task struct {
	csm.ScheduledTask
	next time.Time // zero when the task does not run
}

func (t *task) clone() *task {
	c := *t
	c.Actions = slices.Clone(t.Actions)
	return &c
}

// window is the both-active window: the time in which both servers are up
// and Active with at least one enabled scheduled task each, so that both may
// run scheduled tasks.
type window struct {
	open    bool
	since   time.Time
	total   time.Duration
	longest time.Duration
	count   int
}

type model struct {
	now         time.Time // the time the model has been advanced to
	paired      bool      // the two servers are configured as HA partners
	link        linkState
	linkGen     uint64 // bumped on every link change: stale dueSyncDone are ignored
	syncBlocked bool   // synchronization held back by fault standby-unsynchronized
	epochs      uint64
	installs    uint64
	queue       []due // in insertion order
	sessions    []csm.SessionShort
	initial     []csm.SessionShort
	initialTask []csm.ScheduledTask // the tasks at NewPair, for CheckFinal
	window      window
	faults      map[string]bool
	transitory  struct { // the session held in Preparing by fault session-transitory
		on                  bool
		name, state, status string
	}
	sessionChanged bool // fault session-changed has fired
	requests       int
	resetCount     int
	timeline       []Event
	violations     []Violation
	noActive       bool // invariant one-active currently broken
	certs          int  // certificates renewed (fault cert-renewed)
	windowFlagged  bool // invariant window-open-at-validation reported
}

var transitoryStates = []string{"Preparing", "Suspending", "Recovering", "Draining", "Flashing", "Terminating"}

func isTransitory(state string) bool {
	return slices.ContainsFunc(transitoryStates, func(t string) bool { return strings.EqualFold(t, state) })
}

func (p *Pair) initLocked() {
	m := &p.m
	m.now = p.clock.Now()
	m.faults = map[string]bool{}
	m.sessions = slices.Clone(p.opts.Sessions)
	m.initial = slices.Clone(p.opts.Sessions)
	m.initialTask = slices.Clone(p.opts.Tasks)
	for i, s := range p.servers {
		for _, t := range p.opts.Tasks {
			tk := &task{ScheduledTask: t}
			tk.Actions = slices.Clone(t.Actions)
			if t.NextRun != 0 {
				tk.next = time.UnixMilli(t.NextRun)
			}
			p.scheduleTaskLocked(tk)
			s.tasks = append(s.tasks, tk)
		}
		s.version = p.opts.Version
		s.state = stateUp
		s.role = csm.RoleStandby
		if i == 0 {
			s.role = csm.RoleActive
			m.epochs++
			s.epoch = m.epochs
		}
	}
	detail := "single server without DR, " + p.describeLocked()
	if p.opts.Standby {
		m.paired = true
		m.link = linkSynced
		detail = "HA pair, " + p.describeLocked()
	}
	p.event(nil, EventStart, detail)
	for _, f := range p.opts.Faults {
		p.injectLocked(f)
	}
	p.checkLocked()
}

// scheduleTaskLocked sets the next run of t from its Enabled flag and
// interval.
func (p *Pair) scheduleTaskLocked(t *task) {
	if !t.Enabled || t.Schedule.IntervalMinutes <= 0 {
		t.next, t.NextRun = time.Time{}, 0
		return
	}
	if t.next.IsZero() {
		t.next = p.m.now.Add(time.Duration(t.Schedule.IntervalMinutes) * time.Minute)
	}
	t.NextRun = t.next.UnixMilli()
}

// advanceLocked brings the model to the clock's now, processing every due
// transition and task run in time order.
func (p *Pair) advanceLocked() {
	m := &p.m
	now := p.clock.Now()
	for {
		have, qi := false, -1
		var tk *task
		var tsrv *Server
		var at time.Time
		for i, d := range m.queue {
			if !have || d.at.Before(at) {
				have, qi, at = true, i, d.at
			}
		}
		for _, s := range p.servers {
			for _, t := range s.tasks {
				if !t.next.IsZero() && (!have || t.next.Before(at)) {
					have, qi, tk, tsrv, at = true, -1, t, s, t.next
				}
			}
		}
		if !have || at.After(now) {
			break
		}
		if at.After(m.now) {
			m.now = at
		}
		if tk != nil {
			p.runTaskLocked(tsrv, tk)
		} else {
			d := m.queue[qi]
			m.queue = slices.Delete(m.queue, qi, qi+1)
			p.processLocked(d)
		}
		p.checkLocked()
	}
	if now.After(m.now) {
		m.now = now
	}
}

func (p *Pair) push(d due) { p.m.queue = append(p.m.queue, d) }

func (p *Pair) processLocked(d due) {
	m := &p.m
	switch d.kind {
	case dueInstallDone:
		if d.srv.state == stateInstalling && d.srv.install.gen == d.gen {
			p.finishInstallLocked(d.srv)
		}
	case dueReconnect:
		p.autoReconnectLocked(d.srv)
	case dueSyncDone:
		if d.gen != m.linkGen || m.link != linkPending {
			return
		}
		if m.faults[FaultStandbyUnsynchronized] {
			m.syncBlocked = true
			return
		}
		m.syncBlocked = false
		p.setLink(linkSynced, "synchronization complete")
		p.replicateLocked()
	}
}

// replicateLocked copies the active server's configuration (its scheduled
// task table) to a synchronized standby.
func (p *Pair) replicateLocked() {
	if len(p.servers) < 2 || p.m.link != linkSynced {
		return
	}
	a, b := p.servers[0], p.servers[1]
	if a.role != csm.RoleActive {
		a, b = b, a
	}
	if a.role != csm.RoleActive || b.role != csm.RoleStandby {
		return
	}
	b.tasks = b.tasks[:0]
	for _, t := range a.tasks {
		b.tasks = append(b.tasks, t.clone())
	}
}

// sameLevel reports whether the two servers run the same code level.
func (p *Pair) sameLevel() bool {
	return len(p.servers) == 2 && actions.SameLevel(p.servers[0].version, p.servers[1].version)
}

// canConnect reports whether the two servers can form a working HA
// relationship: IBM's command reference says a standby must be at the same
// level as the active server. Fault reconnect-across-levels gives the other
// reading, in which they connect (and synchronize) whatever their levels.
func (p *Pair) canConnect() bool {
	return p.sameLevel() || p.m.faults[FaultReconnectAcrossLevels]
}

func (p *Pair) other(s *Server) *Server {
	for _, o := range p.servers {
		if o != s {
			return o
		}
	}
	return nil
}

func (p *Pair) event(s *Server, kind EventKind, detail string) {
	name := ""
	if s != nil {
		name = s.name
	}
	e := Event{Time: p.m.now, Server: name, Kind: kind, Detail: detail, Requests: p.m.requests}
	p.m.timeline = append(p.m.timeline, e)
	if p.opts.OnEvent != nil {
		p.opts.OnEvent(e)
	}
}

func (p *Pair) violate(invariant, detail string) {
	p.m.violations = append(p.m.violations, Violation{Time: p.m.now, Invariant: invariant, Detail: detail})
	p.event(nil, EventViolation, invariant+": "+detail)
}

func (p *Pair) setRole(s *Server, role, reason string) {
	if s.role == role {
		return
	}
	s.role = role
	if role == csm.RoleActive {
		p.m.epochs++
		s.epoch = p.m.epochs
	}
	p.event(s, EventRole, role+": "+reason)
}

func (p *Pair) setLink(l linkState, reason string) {
	if p.m.link == l {
		return
	}
	p.m.link = l
	p.event(nil, EventHAStatus, l.String()+": "+reason)
}

// setState moves s up or down. Going down drops its tokens and breaks the
// HA connection.
func (p *Pair) setState(s *Server, st serverState, reason string) {
	if s.state == st {
		return
	}
	wasUp := s.state == stateUp
	s.state = st
	s.boot++
	switch {
	case st == stateUp:
		p.event(s, EventUp, reason)
	case wasUp:
		clear(s.tokens)
		s.dropIdle()
		p.event(s, EventDown, st.String()+": "+reason)
		p.disconnectLocked(s.name + " is down")
	}
}

func (p *Pair) disconnectLocked(reason string) {
	if p.m.link.connected() {
		p.m.linkGen++
		p.setLink(linkDisconnected, reason)
	}
}

// connectLocked connects the two (up, paired) servers: when both believe
// they are Active, the one that became Active last wins and the other
// becomes Standby; then the relationship synchronizes for SyncTime.
func (p *Pair) connectLocked(reason string) {
	m := &p.m
	a, b := p.servers[0], p.servers[1]
	if !p.canConnect() {
		// The relationship stays configured but cannot connect; each
		// server keeps its role (an old-level active stays Active and keeps
		// running its enabled scheduled tasks).
		p.setLink(linkLevels, reason+": "+a.name+" runs "+a.version+", "+b.name+" runs "+b.version)
		return
	}
	switch {
	case a.role == csm.RoleActive && b.role == csm.RoleActive:
		winner, loser := a, b
		if b.epoch > a.epoch {
			winner, loser = b, a
		}
		p.setRole(loser, csm.RoleStandby, "reconnected and saw the takeover by "+winner.name)
	case a.role == csm.RoleStandby && b.role == csm.RoleStandby:
		p.setRole(a, csm.RoleActive, "reconnected with no active server")
	}
	m.linkGen++
	m.syncBlocked = false
	p.setLink(linkPending, reason)
	p.push(due{at: m.now.Add(p.opts.SyncTime), kind: dueSyncDone, gen: m.linkGen})
	p.refreshViewsLocked()
}

// autoReconnectLocked is the automatic reconnect of s to its partner.
func (p *Pair) autoReconnectLocked(s *Server) {
	m := &p.m
	o := p.other(s)
	if o == nil || !m.paired || m.link.connected() || s.state != stateUp || o.state != stateUp {
		return
	}
	if m.faults[FaultNoAutoReconnect] {
		p.event(s, EventHAStatus, "no automatic reconnect (fault no-auto-reconnect)")
		return
	}
	p.connectLocked("automatic reconnect of " + s.name)
}

// refreshViewsLocked updates what each server knows of its partner's role,
// which is frozen while they are disconnected.
func (p *Pair) refreshViewsLocked() {
	if len(p.servers) == 2 && p.m.link.connected() {
		a, b := p.servers[0], p.servers[1]
		a.seenRole, b.seenRole = b.role, a.role
	}
}

func (p *Pair) describeLocked() string {
	var parts []string
	for _, s := range p.servers {
		parts = append(parts, fmt.Sprintf("%s %s (%s, %s)", s.name, s.role, s.state, s.version))
	}
	if p.opts.Standby {
		parts = append(parts, "HA "+p.m.link.String())
	}
	return strings.Join(parts, ", ")
}

// managerLocked returns the server that manages the sessions: of the
// Active servers, the one that became Active last (after a takeover both may
// believe they are Active; the sessions are managed where the takeover went).
// It returns nil when no server is Active.
func (p *Pair) managerLocked() *Server {
	var mgr *Server
	for _, s := range p.servers {
		if s.role == csm.RoleActive && (mgr == nil || s.epoch > mgr.epoch) {
			mgr = s
		}
	}
	return mgr
}

// hasEnabledTask reports whether s has an enabled scheduled task that runs.
func (s *Server) hasEnabledTask() bool {
	return slices.ContainsFunc(s.tasks, func(t *task) bool { return !t.next.IsZero() })
}

// checkLocked checks the continuous invariants and measures the
// both-active window; it records a violation when one starts to be broken.
func (p *Pair) checkLocked() {
	m := &p.m
	p.refreshViewsLocked()
	if !p.opts.Standby {
		return
	}
	mgr := p.managerLocked()
	ok := mgr != nil && mgr.state == stateUp
	if !ok && !m.noActive {
		p.violate(InvariantOneActive, "no server is up, Active and managing the sessions: "+p.describeLocked())
	}
	m.noActive = !ok
	both := true
	for _, s := range p.servers {
		if s.state != stateUp || s.role != csm.RoleActive || !s.hasEnabledTask() {
			both = false
		}
	}
	w := &m.window
	switch {
	case both && !w.open:
		w.open, w.since = true, m.now
		w.count++
		p.event(nil, EventWindow, "opened: both servers are up and Active with enabled scheduled tasks")
	case !both && w.open:
		d := m.now.Sub(w.since)
		w.open = false
		w.total += d
		w.longest = max(w.longest, d)
		p.event(nil, EventWindow, fmt.Sprintf("closed after %v", d))
	}
}

// validationLocked is called when sessions are read from s: reading them
// from the manager while the old-level partner still runs scheduled tasks
// (the window of the procedure's step 9 left open) breaks the invariant
// that the window is closed before validation starts.
func (p *Pair) validationLocked(s *Server) {
	m := &p.m
	if !p.opts.Standby || !m.window.open || s != p.managerLocked() || p.sameLevel() {
		return
	}
	if !m.windowFlagged {
		m.windowFlagged = true
		p.violate(InvariantWindowOpen, fmt.Sprintf("the sessions were read from %s (validation) while both servers could run scheduled tasks, for %v so far", s.name, m.now.Sub(m.window.since)))
	}
}

func (p *Pair) transitorySessionsLocked() []string {
	var out []string
	for _, s := range p.m.sessions {
		if isTransitory(s.State) {
			out = append(out, s.Name+" "+s.State)
		}
	}
	return out
}

// runTaskLocked runs t of s's table when it is due: it runs only where s
// is up and Active (a Standby runs no scheduled tasks).
func (p *Pair) runTaskLocked(s *Server, t *task) {
	at := t.next
	if s.state == stateUp && s.role == csm.RoleActive {
		p.event(s, EventTaskRun, fmt.Sprintf("task %d %q", t.ID, t.Name))
		t.LastRan = at.UnixMilli()
	}
	t.next = at.Add(time.Duration(t.Schedule.IntervalMinutes) * time.Minute)
	t.NextRun = t.next.UnixMilli()
}

func (p *Pair) injectLocked(name string) {
	m := &p.m
	if m.faults[name] {
		return
	}
	m.faults[name] = true
	p.event(nil, EventFault, "injected "+name)
	switch name {
	case FaultStandbyUnsynchronized:
		if m.link == linkSynced {
			m.linkGen++
			m.syncBlocked = true
			p.setLink(linkPending, "fault standby-unsynchronized")
		}
	case FaultSessionTransitory:
		for i, s := range m.sessions {
			if isTransitory(s.State) {
				continue
			}
			m.transitory.on = true
			m.transitory.name, m.transitory.state, m.transitory.status = s.Name, s.State, s.Status
			m.sessions[i].State = "Preparing"
			p.event(nil, EventSession, fmt.Sprintf("%s: %s → Preparing (fault session-transitory)", s.Name, s.State))
			break
		}
	case FaultConnectionReset:
		m.resetCount = 0
	case FaultReconnectAcrossLevels:
		if m.link == linkLevels {
			for _, s := range p.servers {
				p.autoReconnectLocked(s)
			}
		}
	}
}

func (p *Pair) clearLocked(name string) {
	m := &p.m
	if !m.faults[name] {
		return
	}
	delete(m.faults, name)
	p.event(nil, EventFault, "cleared "+name)
	switch name {
	case FaultStandbyUnsynchronized:
		if m.link == linkPending && m.syncBlocked {
			m.syncBlocked = false
			p.push(due{at: m.now, kind: dueSyncDone, gen: m.linkGen})
		}
	case FaultSessionTransitory:
		if !m.transitory.on {
			return
		}
		m.transitory.on = false
		for i, s := range m.sessions {
			if s.Name == m.transitory.name && s.State == "Preparing" {
				m.sessions[i].State, m.sessions[i].Status = m.transitory.state, m.transitory.status
				p.event(nil, EventSession, fmt.Sprintf("%s: Preparing → %s (fault session-transitory cleared)", s.Name, m.transitory.state))
			}
		}
	case FaultNoAutoReconnect:
		for _, s := range p.servers {
			p.autoReconnectLocked(s)
		}
	}
}

// takeoverLocked is PUT /system/ha/takeover on s. A server in standby mode
// accepts it whatever the relationship status: the runbook's guards decide
// when a takeover is safe, and the monitor checks them.
func (p *Pair) takeoverLocked(s *Server) result {
	m := &p.m
	o := p.other(s)
	refuse := func(msg, text string) result {
		p.event(s, EventTakeoverRefused, msg+" "+text)
		return p.replyResult(200, msg, text)
	}
	switch {
	case o == nil || !m.paired:
		return refuse(msgNoPartner, "Takeover is not possible: this server has no HA partner.")
	case s.role == csm.RoleActive:
		return refuse(msgTakeoverOnActive, "Takeover must be issued on the standby server; this server is active.")
	case m.faults[FaultTakeoverRejected]:
		return refuse(msgTakeoverRejected, "The takeover was rejected by the server.")
	}
	if from := p.managerLocked(); from != nil && from != s && from.state == stateUp {
		// Management moves away from a running manager: the relationship
		// must be synchronized (between two levels it never is: the
		// procedure's step 9 takes over anyway, guarded by the sessions) and
		// no session transitory.
		if m.link != linkSynced && p.sameLevel() {
			p.violate(InvariantTakeoverUnsynchronized, fmt.Sprintf("takeover accepted on %s while the HA status was %s", s.name, m.link))
		}
		if tr := p.transitorySessionsLocked(); len(tr) > 0 {
			p.violate(InvariantTakeoverTransitory, fmt.Sprintf("takeover accepted on %s while sessions were transitory: %s", s.name, strings.Join(tr, ", ")))
		}
	}
	p.event(s, EventTakeover, "accepted; HA status was "+m.link.String())
	p.setRole(s, csm.RoleActive, "takeover")
	p.disconnectLocked("takeover by " + s.name)
	if o.state == stateUp {
		p.push(due{at: m.now.Add(p.opts.ReconnectDelay), kind: dueReconnect, srv: o})
	}
	return p.replyResult(200, csm.MsgTakeoverIssued, "The takeover was issued: this server is now the active server.")
}

// installLocked starts the installer on s.
func (p *Pair) installLocked(s *Server, version string) (int, string) {
	m := &p.m
	switch {
	case version == "":
		return 400, "install: --version is required"
	case m.faults[FaultInstallerFails]:
		p.event(s, EventInstallFailed, "installer for "+version+" failed (fault installer-fails); server untouched")
		return 500, "installer for " + version + " failed on " + s.name + " (fault installer-fails); the server is untouched"
	case s.state == stateInstalling:
		return 409, "an installer is already running on " + s.name
	}
	if p.opts.Standby && s == p.managerLocked() {
		p.violate(InvariantInstallerOnManager, fmt.Sprintf("the installer started on %s while it managed the sessions (%s)", s.name, p.describeLocked()))
	}
	m.installs++
	s.installs++
	s.install = installRun{gen: m.installs, from: s.version, to: version, end: m.now.Add(p.opts.InstallTime)}
	p.event(s, EventInstallStart, fmt.Sprintf("from %s to %s, down for %v", s.version, version, p.opts.InstallTime))
	p.setState(s, stateInstalling, "installer running")
	p.push(due{at: s.install.end, kind: dueInstallDone, srv: s, gen: s.install.gen})
	return 200, fmt.Sprintf("installer for %s started on %s (%s): the server is down for %v and restarts at the new version", version, s.name, s.Addr(), p.opts.InstallTime)
}

func (p *Pair) finishInstallLocked(s *Server) {
	m := &p.m
	v := s.install.to
	if m.faults[FaultWrongVersion] {
		if s.install.from != v {
			v = s.install.from
		} else {
			v += ".99"
		}
	}
	s.version = v
	if m.faults[FaultNoRestart] {
		s.state = stateFailed
		p.event(s, EventInstallEnd, "installed "+v+"; the server did not restart (fault no-restart)")
		return
	}
	p.event(s, EventInstallEnd, "installed "+v)
	if m.faults[FaultCertRenewed] {
		if err := s.renewCert(); err != nil {
			p.event(s, EventFault, "cert-renewed: "+err.Error())
		} else {
			m.certs++
			p.event(s, EventCert, "the upgrade replaced the certificate with a new self-signed one (fault cert-renewed)")
		}
	}
	p.setState(s, stateUp, "restarted after the install at version "+v)
	if m.faults[FaultSessionChanged] && !m.sessionChanged {
		m.sessionChanged = true
		i := slices.IndexFunc(m.sessions, func(x csm.SessionShort) bool { return strings.EqualFold(x.State, "Prepared") })
		if i < 0 {
			i = 0
		}
		if i < len(m.sessions) {
			old := m.sessions[i].State
			m.sessions[i].State, m.sessions[i].Status = "Suspended", "Severe"
			p.event(nil, EventSession, fmt.Sprintf("%s: %s → Suspended (fault session-changed)", m.sessions[i].Name, old))
		}
	}
	p.autoReconnectLocked(s)
}

// controlLocked runs a control operation on s.
func (p *Pair) controlLocked(s *Server, op, version string) (int, string) {
	switch op {
	case "install":
		return p.installLocked(s, version)
	case "stop":
		switch s.state {
		case stateInstalling:
			return 409, "cannot stop " + s.name + ": an installer is running"
		case stateUp:
			p.setState(s, stateStopped, "stopped by the stop script")
			return 200, "stopped " + s.name + " (" + s.Addr() + ")"
		}
		return 200, s.name + " is already down (" + s.state.String() + ")"
	case "start":
		switch s.state {
		case stateInstalling:
			return 409, "cannot start " + s.name + ": an installer is running"
		case stateUp:
			return 200, s.name + " is already running"
		}
		p.setState(s, stateUp, "started by the start script")
		p.autoReconnectLocked(s)
		return 200, "started " + s.name + " (" + s.Addr() + ") at version " + s.version
	}
	return 400, fmt.Sprintf("unknown operation %q: want install, stop or start", op)
}

// sessionCommandLocked runs a session command.
func (p *Pair) sessionCommandLocked(i int, cmd string) result {
	m := &p.m
	sess := &m.sessions[i]
	c := strings.ToLower(strings.TrimSpace(cmd))
	type move struct {
		from          []string
		state, status string
	}
	var mv move
	switch {
	case c == "start" || strings.HasPrefix(c, "start "):
		mv = move{[]string{"Defined", "Suspended", "Suspended (Partial)", "Target Available"}, "Prepared", "Normal"}
	case c == "suspend":
		mv = move{[]string{"Prepared"}, "Suspended", "Severe"}
	case c == "recover":
		mv = move{[]string{"Suspended", "Suspended (Partial)"}, "Target Available", "Normal"}
	case c == "flash":
		mv = move{[]string{"Defined", "Prepared", "Target Available"}, "Target Available", "Normal"}
	case c == "terminate":
		mv = move{[]string{"Preparing", "Prepared", "Suspended", "Suspended (Partial)", "Target Available", "Protected"}, "Defined", "Inactive"}
	}
	ok := slices.ContainsFunc(mv.from, func(f string) bool { return strings.EqualFold(f, sess.State) })
	if m.transitory.on && sess.Name == m.transitory.name && m.faults[FaultSessionTransitory] {
		ok = false
	}
	if !ok {
		return p.replyResult(200, csm.MsgActionNotAllowed, fmt.Sprintf("The action %s is not valid for session %s in state %s.", cmd, sess.Name, sess.State), cmd, sess.Name)
	}
	old := sess.State
	sess.State, sess.Status = mv.state, mv.status
	p.event(nil, EventSession, fmt.Sprintf("%s: %s → %s (command %s)", sess.Name, old, mv.state, cmd))
	return p.replyResult(200, csm.MsgSessionCmdDone, fmt.Sprintf("The command %s in session %s has completed.", cmd, sess.Name), cmd, sess.Name)
}

package csmtest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/csmplan/csmplan/actions/csm"
)

// EventKind says what an [Event] records.
type EventKind string

// Event kinds of the timeline.
const (
	EventStart           EventKind = "start"            // the pair was created
	EventTakeover        EventKind = "takeover"         // a takeover was accepted
	EventTakeoverRefused EventKind = "takeover-refused" // a takeover was refused (E reply)
	EventRole            EventKind = "role"             // a server's role changed
	EventHAStatus        EventKind = "ha-status"        // the relationship status changed
	EventHAConfig        EventKind = "ha-config"        // standby set or HA server removed
	EventInstallStart    EventKind = "install-start"    // the installer started
	EventInstallEnd      EventKind = "install-end"      // the installer finished
	EventInstallFailed   EventKind = "install-failed"   // the installer failed (fault installer-fails)
	EventDown            EventKind = "down"             // a server went down
	EventUp              EventKind = "up"               // a server came up
	EventTaskRun         EventKind = "task-run"         // a scheduled task ran
	EventTask            EventKind = "task"             // a task was enabled or disabled
	EventSession         EventKind = "session"          // a session changed state
	EventBackup          EventKind = "backup"           // a backup was created
	EventFault           EventKind = "fault"            // a fault was injected or cleared
	EventConnectionReset EventKind = "connection-reset" // a request's connection was reset (fault)
	EventViolation       EventKind = "violation"        // an invariant was broken
	EventWindow          EventKind = "window"           // the both-active window opened or closed
	EventCert            EventKind = "cert"             // a server's certificate was replaced (fault cert-renewed)
)

// Event is one entry of the pair's timeline.
type Event struct {
	Time     time.Time // on Options.Clock
	Server   string    // "primary", "secondary", or "" for the pair
	Kind     EventKind
	Detail   string
	Requests int // REST API requests received so far
}

// String formats the event on one line.
func (e Event) String() string {
	who := e.Server
	if who == "" {
		who = "pair"
	}
	return fmt.Sprintf("%s %s %s: %s (requests %d)", e.Time.UTC().Format(time.RFC3339), who, e.Kind, e.Detail, e.Requests)
}

// Invariant names of [Violation]. The manager is the server that manages
// the sessions: of the Active servers, the one that became Active last.
const (
	// InvariantOneActive: with DR, at every moment a server is up, Active
	// and managing the sessions (the manager is up).
	InvariantOneActive = "one-active"
	// InvariantInstallerOnManager: with DR, the installer never starts on
	// the server that manages the sessions, and so never on the only
	// Active server.
	InvariantInstallerOnManager = "installer-on-manager"
	// InvariantTakeoverUnsynchronized: no takeover away from a running
	// manager while the relationship between two servers at the same level
	// is not Synchronized. (Between two levels it never synchronizes: the
	// procedure's step 9 takes over anyway, guarded by the sessions.)
	InvariantTakeoverUnsynchronized = "takeover-unsynchronized"
	// InvariantTakeoverTransitory: no takeover away from a running manager
	// while a session is transitory (Preparing, Suspending, Recovering,
	// Draining, Flashing, Terminating).
	InvariantTakeoverTransitory = "takeover-transitory"
	// InvariantWindowOpen: the both-active window of the procedure's step
	// 9 (the upgraded manager and the old-level partner both up and Active
	// with enabled scheduled tasks) is closed before validation starts:
	// sessions are not read from the manager while it is open.
	InvariantWindowOpen = "window-open-at-validation"
	// InvariantFinalVersion ([Pair.CheckFinal]): every server is up at the
	// target version.
	InvariantFinalVersion = "final-version"
	// InvariantFinalHA ([Pair.CheckFinal]): with DR, primary Active,
	// secondary Standby, Synchronized; without, the server is Active.
	InvariantFinalHA = "final-ha"
	// InvariantFinalSessions ([Pair.CheckFinal]): the sessions have the
	// names, states and statuses they had at NewPair.
	InvariantFinalSessions = "final-sessions"
	// InvariantFinalTasks ([Pair.CheckFinal]): the active server's
	// scheduled tasks are enabled as they were at NewPair.
	InvariantFinalTasks = "final-tasks"
)

// Violation is a broken invariant.
type Violation struct {
	Time      time.Time // on Options.Clock
	Invariant string    // one of the Invariant* names
	Detail    string
}

// String returns "NAME (detail)".
func (v Violation) String() string { return v.Invariant + " (" + v.Detail + ")" }

// Timeline returns the events so far, oldest first.
func (p *Pair) Timeline() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advanceLocked()
	return slices.Clone(p.m.timeline)
}

// Violations returns the invariants broken so far, in order.
func (p *Pair) Violations() []Violation {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advanceLocked()
	return slices.Clone(p.m.violations)
}

// CheckFinal checks the state at the end of an upgrade to targetVersion
// (empty means [Pair.TargetVersion]): every server up at targetVersion; with
// DR the HA relationship re-established (primary Active, secondary Standby,
// Synchronized); the sessions as at NewPair (names, states, statuses).
func (p *Pair) CheckFinal(targetVersion string) []Violation {
	if targetVersion == "" {
		targetVersion = p.opts.TargetVersion
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advanceLocked()
	m := &p.m
	var out []Violation
	add := func(inv, format string, args ...any) {
		out = append(out, Violation{Time: m.now, Invariant: inv, Detail: fmt.Sprintf(format, args...)})
	}
	for _, s := range p.servers {
		switch {
		case s.state != stateUp:
			add(InvariantFinalVersion, "%s is %s", s.name, s.state)
		case s.version != targetVersion:
			add(InvariantFinalVersion, "%s runs %s, want %s", s.name, s.version, targetVersion)
		}
	}
	if p.opts.Standby {
		a, b := p.servers[0], p.servers[1]
		if a.role != csm.RoleActive || b.role != csm.RoleStandby || !m.paired || m.link != linkSynced {
			add(InvariantFinalHA, "want primary Active, secondary Standby, %s; have primary %s, secondary %s, %s",
				csm.StatusSynchronized, a.role, b.role, m.link)
		}
	} else if a := p.servers[0]; a.role != csm.RoleActive {
		add(InvariantFinalHA, "primary is %s, want Active", a.role)
	}
	if d := diffSessions(m.initial, m.sessions); d != "" {
		add(InvariantFinalSessions, "%s", d)
	}
	if mgr := p.managerLocked(); mgr != nil {
		want, have := enabledIDs(m.initialTask), []int{}
		for _, t := range mgr.tasks {
			if t.Enabled {
				have = append(have, t.ID)
			}
		}
		if !slices.Equal(want, have) {
			add(InvariantFinalTasks, "%s has tasks %v enabled, want %v", mgr.name, have, want)
		}
	}
	return out
}

func enabledIDs(ts []csm.ScheduledTask) []int {
	out := []int{}
	for _, t := range ts {
		if t.Enabled {
			out = append(out, t.ID)
		}
	}
	return out
}

// Window is what the monitor measured of the both-active window: the time
// in which both servers were up and Active with at least one enabled
// scheduled task each, so that both could run scheduled tasks.
type Window struct {
	Total   time.Duration // over the whole run, on Options.Clock
	Longest time.Duration
	Count   int  // how many times it opened
	Open    bool // it is open now
}

// BothActive returns the both-active window measured so far (an open
// window counts up to now).
func (p *Pair) BothActive() Window {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advanceLocked()
	w := p.m.window
	out := Window{Total: w.total, Longest: w.longest, Count: w.count, Open: w.open}
	if w.open {
		d := p.m.now.Sub(w.since)
		out.Total += d
		out.Longest = max(out.Longest, d)
	}
	return out
}

// WindowSummary is a line for people about [Pair.BothActive], such as
// "simulated pair: both servers could run scheduled tasks for 2m0s (1 window,
// closed)".
func (p *Pair) WindowSummary() string {
	w := p.BothActive()
	if w.Count == 0 {
		return "simulated pair: both servers could run scheduled tasks for 0s (the window never opened)"
	}
	state := "closed"
	if w.Open {
		state = "still open"
	}
	n := "window"
	if w.Count > 1 {
		n = "windows"
	}
	return fmt.Sprintf("simulated pair: both servers could run scheduled tasks for %v (%d %s, the longest %v; %s)", w.Total.Round(time.Millisecond), w.Count, n, w.Longest.Round(time.Millisecond), state)
}

// diffSessions compares names, states (case-insensitively) and statuses.
func diffSessions(want, have []csm.SessionShort) string {
	var diffs []string
	byName := map[string]csm.SessionShort{}
	for _, s := range have {
		byName[s.Name] = s
	}
	for _, w := range want {
		h, ok := byName[w.Name]
		if !ok {
			diffs = append(diffs, w.Name+" missing")
			continue
		}
		delete(byName, w.Name)
		if !strings.EqualFold(h.State, w.State) {
			diffs = append(diffs, fmt.Sprintf("%s state %s, want %s", w.Name, h.State, w.State))
		}
		if !strings.EqualFold(h.Status, w.Status) {
			diffs = append(diffs, fmt.Sprintf("%s status %s, want %s", w.Name, h.Status, w.Status))
		}
	}
	for _, h := range have {
		if _, ok := byName[h.Name]; ok {
			diffs = append(diffs, h.Name+" unexpected")
		}
	}
	return strings.Join(diffs, ", ")
}

// Summary returns "simulator: invariants held" when no invariant was broken
// and [Pair.CheckFinal] finds nothing, else "simulator: violated: NAME
// (detail); NAME (detail)".
func (p *Pair) Summary(targetVersion string) string {
	return summary(append(p.Violations(), p.CheckFinal(targetVersion)...), "")
}

// SafetySummary is the summary line for an upgrade that stopped before it
// completed: it names the safety invariants violated so far and does not
// check the final state (target versions, HA re-established, sessions),
// which a stopped upgrade does not reach. It starts with "simulator:
// invariants held" when none was violated.
func (p *Pair) SafetySummary() string {
	return summary(p.Violations(), " (the upgrade stopped before the end: the final state was not checked)")
}

// InvariantsSummary is the summary line of the safety invariants alone,
// for a pair whose clients' upgrade may or may not have ended (csmplan
// sim): "simulator: invariants held", or the invariants violated so far.
func (p *Pair) InvariantsSummary() string {
	return summary(p.Violations(), "")
}

func summary(vs []Violation, held string) string {
	if len(vs) == 0 {
		return "simulator: invariants held" + held
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return "simulator: violated: " + strings.Join(parts, "; ")
}

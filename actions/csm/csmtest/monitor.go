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

// Invariant names of [Violation].
const (
	// InvariantOneActive: with DR, at every moment at least one server is
	// Active and up (managing sessions).
	InvariantOneActive = "one-active"
	// InvariantInstallerOnActive: with DR, the installer never runs on a
	// server whose role is Active.
	InvariantInstallerOnActive = "installer-on-active"
	// InvariantSplitBrainInstall: never both servers Active while an
	// installer runs.
	InvariantSplitBrainInstall = "split-brain-install"
	// InvariantTakeoverUnsynchronized: no takeover accepted while the
	// relationship is not Synchronized.
	InvariantTakeoverUnsynchronized = "takeover-unsynchronized"
	// InvariantTakeoverTransitory: no takeover accepted while a session is
	// transitory (Preparing, Suspending, Recovering, Draining, Flashing,
	// Terminating).
	InvariantTakeoverTransitory = "takeover-transitory"
	// InvariantTaskOnStandby: scheduled tasks never run on a Standby.
	InvariantTaskOnStandby = "task-on-standby"
	// InvariantFinalVersion ([Pair.CheckFinal]): every server is up at the
	// target version.
	InvariantFinalVersion = "final-version"
	// InvariantFinalHA ([Pair.CheckFinal]): with DR, primary Active,
	// secondary Standby, Synchronized; without, the server is Active.
	InvariantFinalHA = "final-ha"
	// InvariantFinalSessions ([Pair.CheckFinal]): the sessions have the
	// names, states and statuses they had at NewPair.
	InvariantFinalSessions = "final-sessions"
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
	return out
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

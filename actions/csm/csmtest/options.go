package csmtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm"
)

// Defaults of [Options].
const (
	DefaultVersion       = "6.3.10.0"
	DefaultUsername      = "csmadmin"
	DefaultPassword      = "passw0rd"
	DefaultTokenLifetime = 2 * time.Hour
	// DefaultSlowDelay is the real delay of fault slow-response on the wall
	// clock ([actions.RealClock]).
	DefaultSlowDelay = 50 * time.Millisecond
	// VirtualSlowDelay is the real delay of fault slow-response when the
	// clock is not [actions.RealClock] (a virtual clock in a test).
	VirtualSlowDelay = time.Millisecond
)

// Modelled constants (not public facts: see the package documentation).
const (
	// HAPort is the HA communication port reported in /system/ha.
	HAPort = 9561
	// MaxSupportedConnections is the maxsupportedconnections field of
	// /system/ha: one partner.
	MaxSupportedConnections = 1
	// TokenUses is how many authenticated requests a token serves while
	// fault token-expiry is active.
	TokenUses = 3
	// ResetEvery: while fault connection-reset is active, every
	// ResetEvery-th API request (counted from the injection) has its
	// connection reset.
	ResetEvery = 4
)

// Fault names, for [Options.Faults], [Pair.Inject] and [Pair.Clear].
const (
	// FaultStandbyUnsynchronized: the HA relationship never reaches
	// Synchronized; it stays Synchronization Pending while connected.
	FaultStandbyUnsynchronized = "standby-unsynchronized"
	// FaultSessionTransitory: one session (the first one not already
	// transitory) stays in state Preparing; clearing restores its state.
	FaultSessionTransitory = "session-transitory"
	// FaultTakeoverRejected: takeover answers an E reply.
	FaultTakeoverRejected = "takeover-rejected"
	// FaultNoAutoReconnect: no automatic reconnect (after a takeover, or
	// when a server comes back up): the relationship stays Disconnected until
	// PUT /system/ha/reconnect (or setServerAsStandby/setStandbyServer).
	FaultNoAutoReconnect = "no-auto-reconnect"
	// FaultInstallerFails: the install control operation fails (the
	// control program exits 1) and the server is untouched.
	FaultInstallerFails = "installer-fails"
	// FaultNoRestart: after an install the server stays down (until a start
	// control operation).
	FaultNoRestart = "no-restart"
	// FaultWrongVersion: an install brings the server back at a version
	// other than the requested one: the old version, or the requested one
	// with ".99" appended when the old one equals it.
	FaultWrongVersion = "wrong-version"
	// FaultSessionChanged: when the first install completes, one session
	// changes state (the first Prepared one, else the first one, becomes
	// Suspended with status Severe).
	FaultSessionChanged = "session-changed"
	// FaultBackupFails: backup create and download answer HTTP 500 with an
	// E reply.
	FaultBackupFails = "backup-fails"
	// FaultTokenExpiry: each token serves only [TokenUses] requests, then
	// answers 401.
	FaultTokenExpiry = "token-expiry"
	// FaultConnectionReset: every [ResetEvery]-th API request has its
	// connection reset before any answer.
	FaultConnectionReset = "connection-reset"
	// FaultSlowResponse: every API response is delayed by
	// [Options.SlowDelay] of real time (the only real-time behaviour).
	FaultSlowResponse = "slow-response"
	// FaultReconnectAcrossLevels is the other reading of what CSM does
	// between two levels (not public): servers at different levels connect
	// and synchronize as servers at the same level do, so that after a
	// takeover an old-level server reconnects as the standby of a newer one.
	// Without it (the default, the procedure's reading) a relationship
	// between two levels never connects: the old active stays Active,
	// disconnected, and keeps running its enabled scheduled tasks;
	// reconnect, setServerAsStandby and setStandbyServer between two levels
	// answer IWNR9025E.
	FaultReconnectAcrossLevels = "reconnect-across-levels"
	// FaultCertRenewed: an install replaces the server's certificate with a
	// new self-signed one (not signed by the pair's CA), as an upgrade that
	// regenerates it would: a client that verifies with the CA file or the
	// old fingerprint must stop.
	FaultCertRenewed = "cert-renewed"
	// FaultVersionSuffix: the servers write their level differently: the
	// primary without trailing ".0" parts (6.3.11.0 reads 6.3.11), the
	// secondary with a build suffix (6.3.11.0-b20261101).
	FaultVersionSuffix = "version-suffix"
	// FaultPartnerMismatch: the primary reports as its HA partner a server
	// that is not the secondary (127.0.0.9): the pair is not the pair the
	// operator named.
	FaultPartnerMismatch = "partner-mismatch"
	// FaultServerinfoOdd: /system/ha carries extra fields, and serverinfo
	// entries extra fields and differently typed ones (the port as a
	// string, a nested object, a number where a string is modelled).
	FaultServerinfoOdd = "serverinfo-odd"
)

var faultNames = []string{
	FaultStandbyUnsynchronized, FaultSessionTransitory, FaultTakeoverRejected,
	FaultNoAutoReconnect, FaultInstallerFails, FaultNoRestart, FaultWrongVersion,
	FaultSessionChanged, FaultBackupFails, FaultTokenExpiry, FaultConnectionReset,
	FaultSlowResponse, FaultReconnectAcrossLevels, FaultCertRenewed, FaultVersionSuffix,
	FaultPartnerMismatch, FaultServerinfoOdd,
}

// FaultNames returns the valid fault names.
func FaultNames() []string { return slices.Clone(faultNames) }

func checkFault(name string) error {
	if slices.Contains(faultNames, name) {
		return nil
	}
	return fmt.Errorf("unknown fault %q: valid faults are %s", name, strings.Join(faultNames, ", "))
}

// Options configure a simulated pair. The zero value is an HA-less single
// server; set Standby for the HA pair of the procedure. Durations are on
// Clock; zero means "at once".
type Options struct {
	// Clock is the source of time for all behaviour over time. Default
	// actions.RealClock{}. Everything is computed lazily from Clock.Now()
	// when a request (or a Pair method) arrives, so a virtual clock makes
	// the simulation deterministic.
	Clock actions.Clock
	// Standby true: an HA pair, primary Active and secondary Standby,
	// Synchronized. False: a single server without DR.
	Standby bool
	// Version is the version both servers start at. Default DefaultVersion.
	Version string
	// TargetVersion is the version the simulated installer of
	// [Pair.InstallerArgv] installs. Default: Version with its last dotted
	// number incremented (6.3.10.0 → 6.3.10.1).
	TargetVersion string
	// Username and Password are the credentials the servers accept.
	// Defaults DefaultUsername and DefaultPassword.
	Username, Password string
	// InstallTime is how long the installer keeps the server down.
	InstallTime time.Duration
	// OnEvent, when set, is given each event of the pair's timeline as it
	// happens (see Pair.Timeline), with the pair locked: it must not call
	// the pair, nor block.
	OnEvent func(Event)
	// SyncTime is how long the relationship stays Synchronization Pending
	// after the servers (re)connect.
	SyncTime time.Duration
	// ReconnectDelay is how long after a takeover the old active server
	// reconnects, sees the takeover and becomes Standby.
	ReconnectDelay time.Duration
	// TokenLifetime is how long a token is valid. Default
	// DefaultTokenLifetime (about 2 hours by public accounts; uncertain).
	TokenLifetime time.Duration
	// SlowDelay is the real delay of fault slow-response. Default
	// DefaultSlowDelay with actions.RealClock, VirtualSlowDelay otherwise.
	SlowDelay time.Duration
	// Faults are injected from the start (see the Fault* constants).
	Faults []string
	// Sessions are the sessions both servers manage. Default: three
	// sessions (Metro Mirror and Global Mirror Prepared, FlashCopy Target
	// Available, all Normal).
	Sessions []csm.SessionShort
	// Tasks are the scheduled tasks. Default: two interval tasks, the first
	// enabled (hourly), the second disabled. A task runs when enabled and
	// Schedule.IntervalMinutes > 0; NextRun 0 means first run one interval
	// after NewPair.
	Tasks []csm.ScheduledTask
	// ControlKey authenticates the control endpoint. Random when empty.
	ControlKey string
	// CA signs the servers' certificates. Nil: a CA of the pair's own.
	// Many pairs in one process may share one (see [NewCA]): its key is
	// made once instead of once per pair.
	CA *CA
}

// DefaultSessions returns the sessions of a pair created without
// Options.Sessions.
func DefaultSessions() []csm.SessionShort {
	return []csm.SessionShort{
		{Name: "MM_PROD_DB", Status: "Normal", State: "Prepared", NumCopySets: 24, ProductionHost: "H1", RulesName: "Metro Mirror"},
		{Name: "GM_DR_SITE", Status: "Normal", State: "Prepared", NumCopySets: 48, ProductionHost: "H1", RulesName: "Global Mirror"},
		{Name: "FC_NIGHTLY", Status: "Normal", State: "Target Available", NumCopySets: 12, ProductionHost: "H1", Recoverable: true, RulesName: "FlashCopy"},
	}
}

// DefaultTasks returns the scheduled tasks of a pair created without
// Options.Tasks.
func DefaultTasks() []csm.ScheduledTask {
	return []csm.ScheduledTask{
		{
			ID: 1, Name: "Hourly FlashCopy", Description: "Flash FC_NIGHTLY every hour", Enabled: true,
			Schedule: csm.TaskSchedule{Type: "interval", IntervalMinutes: 60},
			Actions:  []csm.TaskAction{{SessionName: "FC_NIGHTLY", State: "Target Available", Timeout: 300}},
		},
		{
			ID: 2, Name: "Weekly GM check", Description: "Check GM_DR_SITE is Prepared", Enabled: false,
			Schedule: csm.TaskSchedule{Type: "interval", IntervalMinutes: 7 * 24 * 60},
			Actions:  []csm.TaskAction{{SessionName: "GM_DR_SITE", State: "Prepared", Timeout: 600}},
		},
	}
}

// withDefaults fills in defaults and validates o.
func (o Options) withDefaults() (Options, error) {
	if o.Clock == nil {
		o.Clock = actions.RealClock{}
	}
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if o.TargetVersion == "" {
		o.TargetVersion = nextVersion(o.Version)
	}
	if o.Username == "" {
		o.Username = DefaultUsername
	}
	if o.Password == "" {
		o.Password = DefaultPassword
	}
	if o.TokenLifetime == 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	if o.SlowDelay == 0 {
		o.SlowDelay = VirtualSlowDelay
		switch o.Clock.(type) {
		case actions.RealClock, *actions.RealClock:
			o.SlowDelay = DefaultSlowDelay
		}
	}
	for name, d := range map[string]time.Duration{
		"InstallTime": o.InstallTime, "SyncTime": o.SyncTime, "ReconnectDelay": o.ReconnectDelay,
		"TokenLifetime": o.TokenLifetime, "SlowDelay": o.SlowDelay,
	} {
		if d < 0 {
			return o, fmt.Errorf("csmtest: Options.%s: negative duration %v", name, d)
		}
	}
	if o.Sessions == nil {
		o.Sessions = DefaultSessions()
	}
	o.Sessions = slices.Clone(o.Sessions)
	seen := map[string]bool{}
	for i, s := range o.Sessions {
		switch {
		case s.Name == "":
			return o, fmt.Errorf("csmtest: Options.Sessions[%d]: empty name", i)
		case strings.ContainsAny(s.Name, "/?#"):
			return o, fmt.Errorf("csmtest: Options.Sessions[%d]: name %q contains '/', '?' or '#'", i, s.Name)
		case seen[s.Name]:
			return o, fmt.Errorf("csmtest: Options.Sessions[%d]: duplicate name %q", i, s.Name)
		}
		seen[s.Name] = true
	}
	if o.Tasks == nil {
		o.Tasks = DefaultTasks()
	}
	o.Tasks = slices.Clone(o.Tasks)
	ids := map[int]bool{}
	for i, t := range o.Tasks {
		switch {
		case ids[t.ID]:
			return o, fmt.Errorf("csmtest: Options.Tasks[%d]: duplicate id %d", i, t.ID)
		case t.Schedule.IntervalMinutes < 0:
			return o, fmt.Errorf("csmtest: Options.Tasks[%d]: negative Schedule.IntervalMinutes %d", i, t.Schedule.IntervalMinutes)
		}
		ids[t.ID] = true
		o.Tasks[i].Actions = slices.Clone(t.Actions)
	}
	o.Faults = slices.Clone(o.Faults)
	for _, f := range o.Faults {
		if err := checkFault(f); err != nil {
			return o, fmt.Errorf("csmtest: %w", err) // the name says which
		}
	}
	return o, nil
}

// nextVersion increments the last dotted number of v (6.3.10.0 → 6.3.10.1),
// or appends ".1" when v does not end in a number.
func nextVersion(v string) string {
	i := strings.LastIndexByte(v, '.')
	n, err := strconv.Atoi(v[i+1:])
	if err != nil || n < 0 {
		return v + ".1"
	}
	return v[:i+1] + strconv.Itoa(n+1)
}

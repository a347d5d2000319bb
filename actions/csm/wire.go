package csm

// The JSON shapes of the CSM REST API, in one place. Field names marked
// "modelled" are not documented publicly (see CSM.md): they are this
// project's model, shared by the client and the simulator, and are the only
// place to change if a real server names them differently.

// Reply is the common part of every command reply.
type Reply struct {
	Msg           string   `json:"msg"`           // message id such as IWNR3048I; the last letter is the severity
	MsgTranslated string   `json:"msgTranslated"` // the message in the requested language
	ResultText    string   `json:"resultText,omitempty"`
	Inserts       []string `json:"inserts,omitempty"`
	Timestamp     int64    `json:"timestamp,omitempty"` // epoch milliseconds
}

// TokenReply is the reply of POST /system/v1/tokens.
type TokenReply struct {
	Reply
	Token string `json:"token"`
}

// HAStatus is the reply of GET /system/ha.
type HAStatus struct {
	Reply
	IsLocalActive           bool         `json:"islocalactive"`
	MaxSupportedConnections int          `json:"maxsupportedconnections"`
	LocalHAPort             int          `json:"localhaport"`
	ServerInfo              []ServerInfo `json:"serverinfo"`
}

// ServerInfo is one entry of HAStatus.ServerInfo: the partner server of the
// HA relationship as seen from the server answering. Modelled.
type ServerInfo struct {
	Server string `json:"server"` // host name or address of the partner
	Role   string `json:"role"`   // the partner's role: Active or Standby
	Status string `json:"status"` // relationship status: see the Status* constants
	Port   int    `json:"port"`   // the partner's HA port (9561)
}

// HA roles.
const (
	RoleActive  = "Active"
	RoleStandby = "Standby"
)

// Relationship status strings. Modelled (see CSM.md): configurable in the
// runbook through its expectations.
const (
	StatusSynchronized           = "Synchronized"
	StatusSynchronizationPending = "Synchronization Pending"
	StatusDisconnected           = "Disconnected"
	StatusDisconnectedConsistent = "Disconnected Consistent"
)

// SessionShort is one element of GET /sessions/short.
type SessionShort struct {
	Name            string `json:"name"`
	Status          string `json:"status"` // Inactive, Normal, Warning, Severe, Unknown
	State           string `json:"state"`  // Defined, Prepared, Preparing, ...
	NumCopySets     int    `json:"numcopysets"`
	ProductionHost  string `json:"productionhost"`
	HasError        bool   `json:"haserror"`
	Recoverable     bool   `json:"recoverable"`
	HyperSwapStatus string `json:"hyperswapstatus"`
	RulesName       string `json:"rulesname"` // the session type, such as "Metro Mirror"
}

// Version is the reply of GET /system/version. Modelled: the reply fields are
// not documented publicly.
type Version struct {
	Reply
	Version string `json:"version"` // dotted, such as 6.3.10.1
}

// ScheduledTask is one element of GET /sessions/scheduledtasks.
type ScheduledTask struct {
	ID          int          `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Enabled     bool         `json:"enabled"`
	Running     bool         `json:"running"`
	NextRun     int64        `json:"nextRun"` // epoch milliseconds, 0 when not scheduled
	LastRan     int64        `json:"lastRan"` // epoch milliseconds, 0 when never
	Schedule    TaskSchedule `json:"schedule"`
	Actions     []TaskAction `json:"actions"`
}

// TaskSchedule is the schedule of a scheduled task.
type TaskSchedule struct {
	Type string `json:"type"` // such as "interval"
	// IntervalMinutes is modelled: the period of an interval schedule.
	IntervalMinutes int `json:"intervalMinutes,omitempty"`
}

// TaskAction is one session command that a scheduled task issues.
type TaskAction struct {
	SessionName string `json:"sessionName"`
	State       string `json:"state"`
	Timeout     int    `json:"timeout"`
}

// Backup is one configuration backup, an element of the "backups" field of
// GET /system/backupserver. Modelled.
type Backup struct {
	Name      string `json:"name"`
	Size      int64  `json:"size"`
	Timestamp int64  `json:"timestamp"` // epoch milliseconds
}

// BackupList is the reply of GET /system/backupserver. Modelled.
type BackupList struct {
	Reply
	Backups []Backup `json:"backups"`
}

// Message ids named in CSM.md.
const (
	MsgTakeoverIssued   = "IWNR3063I"
	MsgReconnected      = "IWNR3052I"
	MsgMadeStandby      = "IWNR3020I"
	MsgNoHAServers      = "IWNR3050I"
	MsgHAStatusQueried  = "IWNR3048I"
	MsgSessionCmdDone   = "IWNR1026I"
	MsgActionNotAllowed = "IWNC1302E"
)

// Severity returns the severity letter of a message id (I, W, E or S), or 0
// when the id is empty.
func Severity(msg string) byte {
	if msg == "" {
		return 0
	}
	return msg[len(msg)-1]
}

// Failed reports whether a message id has the severity E (error) or S
// (severe): such a reply is a failure even with HTTP 200.
func Failed(msg string) bool {
	s := Severity(msg)
	return s == 'E' || s == 'S'
}

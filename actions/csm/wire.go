package csm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The JSON shapes of the CSM REST API, in one place. Field names marked
// "modelled" are not documented publicly by IBM: they are this
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
// HA relationship as seen from the server answering. Modelled: as
// lshaservers documents its columns (Server, Role, Status, Port).
type ServerInfo struct {
	Server string `json:"server"` // host name or IP address of the partner, never with the REST port
	Role   string `json:"role"`   // the partner's role: Active or Standby
	Status string `json:"status"` // relationship status: see the Status* constants
	Port   int    `json:"port"`   // the HA port (9561), the same on both servers of a pair
	// Extra holds the fields of the entry this model does not name, as
	// decoded (a real server may send more).
	Extra map[string]any `json:"-"`
}

// UnmarshalJSON decodes an HA status loosely: an unknown field, or a known
// one of another type than modelled (a port as a string, a role as a
// number), does not hide the others. Only islocalactive is required, as a
// boolean or the string "true" or "false": without it the server's role is
// unknown.
func (h *HAStatus) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	active, ok := looseBool(raw["islocalactive"])
	if !ok {
		return fmt.Errorf("islocalactive is missing or not a boolean (%s)", strings.TrimSpace(string(raw["islocalactive"])))
	}
	*h = HAStatus{
		Reply: Reply{
			Msg: looseString(raw["msg"]), MsgTranslated: looseString(raw["msgTranslated"]),
			ResultText: looseString(raw["resultText"]),
		},
		IsLocalActive:           active,
		MaxSupportedConnections: looseInt(raw["maxsupportedconnections"]),
		LocalHAPort:             looseInt(raw["localhaport"]),
	}
	var ts json.Number
	if json.Unmarshal(raw["timestamp"], &ts) == nil {
		h.Timestamp, _ = ts.Int64()
	}
	var entries []json.RawMessage
	if json.Unmarshal(raw["serverinfo"], &entries) != nil {
		return nil // absent, null or odd: no partner is known
	}
	for _, e := range entries {
		var m map[string]json.RawMessage
		if json.Unmarshal(e, &m) != nil {
			continue
		}
		si := ServerInfo{
			Server: looseString(m["server"]), Role: looseString(m["role"]),
			Status: looseString(m["status"]), Port: looseInt(m["port"]),
		}
		for k, v := range m {
			switch k {
			case "server", "role", "status", "port":
				continue
			}
			var x any
			if json.Unmarshal(v, &x) == nil {
				if si.Extra == nil {
					si.Extra = map[string]any{}
				}
				si.Extra[k] = x
			}
		}
		h.ServerInfo = append(h.ServerInfo, si)
	}
	return nil
}

// looseString reads a JSON string, or a number or boolean as its text; ""
// for anything else.
func looseString(raw json.RawMessage) string {
	var x any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if len(raw) == 0 || d.Decode(&x) != nil {
		return ""
	}
	switch v := x.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// looseInt reads a JSON integer, or a string holding one; 0 otherwise.
func looseInt(raw json.RawMessage) int {
	n, err := strconv.Atoi(looseString(raw))
	if err != nil {
		return 0
	}
	return n
}

// looseBool reads a JSON boolean or the string "true" or "false".
func looseBool(raw json.RawMessage) (bool, bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil && len(raw) > 0 && string(raw) != "null" {
		return b, true
	}
	b, err := strconv.ParseBool(looseString(raw))
	return b, err == nil && looseString(raw) != ""
}

// HA roles.
const (
	RoleActive  = "Active"
	RoleStandby = "Standby"
)

// Relationship status strings. Modelled (IBM does not publish them): configurable in the
// runbook through its expectations.
const (
	StatusSynchronized           = "Synchronized"
	StatusSynchronizationPending = "Synchronization Pending"
	StatusDisconnected           = "Disconnected"
	StatusDisconnectedConsistent = "Disconnected Consistent"
	// StatusDifferentLevels: the relationship is configured but cannot
	// connect because the two servers run different code levels (a
	// standby must be at the active server's level). Modelled.
	StatusDifferentLevels = "Disconnected (different levels)"
)

// DefaultSynchronizedStatuses are the relationship status strings that mean
// "synchronized" in the csm.ha probe's synchronized field. Modelled: the
// strings are not public, so [Options].SynchronizedStatuses and the probe's
// synchronized_statuses argument override them.
var DefaultSynchronizedStatuses = []string{StatusSynchronized}

// connectedStatuses are the relationship status strings that mean the two
// servers are connected (synchronized or synchronizing). Modelled.
var connectedStatuses = []string{StatusSynchronized, StatusSynchronizationPending}

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

// Message ids of IBM CSM with a known meaning (from IBM documentation and clients).
const (
	MsgTakeoverIssued   = "IWNR3063I"
	MsgReconnected      = "IWNR3052I"
	MsgMadeStandby      = "IWNR3020I"
	MsgNoHAServers      = "IWNR3050I"
	MsgHAStatusQueried  = "IWNR3048I"
	MsgSessionCmdDone   = "IWNR1026I"
	MsgActionNotAllowed = "IWNC1302E"
)

// Severity returns the severity letter of a message id (I, W, E or S),
// read leniently: surrounding spaces and the letter's case do not matter
// ("IWNR9013e", " IWNR9013E "). It returns 0 when msg is not a message id
// (letters, then digits, then one of I, W, E, S).
func Severity(msg string) byte {
	id := strings.TrimSpace(msg)
	n := len(id)
	if n < 3 {
		return 0
	}
	sev := id[n-1] &^ 0x20 // upper case
	digits, letters := 0, 0
	for digits < n-1 && id[n-2-digits] >= '0' && id[n-2-digits] <= '9' {
		digits++
	}
	for i := 0; i < n-1-digits; i++ {
		c := id[i] &^ 0x20
		if c < 'A' || c > 'Z' {
			return 0
		}
		letters++
	}
	if digits == 0 || letters == 0 {
		return 0
	}
	switch sev {
	case 'I', 'W', 'E', 'S':
		return sev
	}
	return 0
}

// Failed reports whether a message id has the severity E (error) or S
// (severe): such a reply is a failure even with HTTP 200.
func Failed(msg string) bool {
	s := Severity(msg)
	return s == 'E' || s == 'S'
}

package csmtest

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/csmplan/csmplan/actions/csm"
)

// Simulator-only message ids: no public source names an id for these situations. The
// 9xxx range marks them as the simulator's own; see the package
// documentation.
const (
	msgBadCredentials   = "IWNR9001E" // POST /system/v1/tokens: wrong user name or password (HTTP 401)
	msgUnauthorized     = "IWNR9002E" // missing, unknown or expired X-Auth-Token (HTTP 401)
	msgNotFound         = "IWNR9003E" // unknown path or method (HTTP 404)
	msgBadRequest       = "IWNR9004E" // malformed request: form, missing parameter (HTTP 400)
	msgTakeoverOnActive = "IWNR9010E" // takeover sent to the active server
	msgNoPartner        = "IWNR9011E" // takeover without an HA partner
	msgTakeoverRejected = "IWNR9013E" // takeover rejected (fault takeover-rejected)
	msgUnreachable      = "IWNR9020E" // the partner (or named server) is down
	msgUnknownServer    = "IWNR9021E" // the named server is not a server of the pair, or is the called one
	msgBadStandbyCreds  = "IWNR9022E" // setStandbyServer with wrong credentials of the standby
	msgNotActive        = "IWNR9023E" // the named or called server must be active
	msgHARemoved        = "IWNR9024I" // removeHaServer done
	msgStandbyCommand   = "IWNR9030E" // a session or task command sent to the standby
	msgUnknownSession   = "IWNR9031E" // no session of that name (HTTP 404)
	msgVersion          = "IWNR9040I" // version queried
	msgBackupCreated    = "IWNR9041I" // backup created
	msgBackupsListed    = "IWNR9042I" // backups listed
	msgBackupFailed     = "IWNR9043E" // backup failed (fault backup-fails, HTTP 500)
	msgDifferentLevels  = "IWNR9025E" // reconnect or standby between servers at different levels
	msgTaskChanged      = "IWNR9050I" // task enabled or disabled
	msgUnknownTask      = "IWNR9051E" // no task of that id (HTTP 404)
)

const (
	apiBase = "/CSM/web"
	maxBody = 1 << 20
)

// result is the answer of an API handler, computed under the lock and
// written after it is released.
type result struct {
	status int
	body   any
	file   *download
	reset  bool
}

type download struct {
	name string
	data []byte
}

func (p *Pair) reply(msg, text string, inserts ...string) csm.Reply {
	return csm.Reply{Msg: msg, MsgTranslated: msg + " " + text, Inserts: inserts, Timestamp: p.m.now.UnixMilli()}
}

func (p *Pair) replyResult(status int, msg, text string, inserts ...string) result {
	return result{status: status, body: p.reply(msg, text, inserts...)}
}

// ServeHTTP serves the REST API under /CSM/web and the control endpoint.
// A server that is down resets every API connection (the control endpoint
// still answers, so that the start script works).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == ControlPath {
		s.serveControl(w, r)
		return
	}
	p := s.p
	p.mu.Lock()
	p.advanceLocked()
	p.m.requests++
	reset := s.state != stateUp || s.stale(r)
	if !reset && p.m.faults[FaultConnectionReset] {
		p.m.resetCount++
		if p.m.resetCount%ResetEvery == 0 {
			reset = true
			p.event(s, EventConnectionReset, fmt.Sprintf("request %d reset (fault connection-reset)", p.m.requests))
		}
	}
	slow := p.m.faults[FaultSlowResponse]
	p.mu.Unlock()
	if reset {
		resetConn(w)
		return
	}
	if slow {
		t := time.NewTimer(p.opts.SlowDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// resetConn hijacks the connection and closes it with a TCP reset, so that
// the client sees a transport error and no HTTP answer.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil { // cannot happen: the servers speak HTTP/1.1 only
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

func (res result) write(w http.ResponseWriter) {
	switch {
	case res.reset:
		resetConn(w)
	case res.file != nil:
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": res.file.name}))
		w.Header().Set("Content-Length", strconv.Itoa(len(res.file.data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(res.file.data)
	default:
		writeJSON(w, res.status, res.body)
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"msg":"IWNR9004E","msgTranslated":"IWNR9004E internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

type apiFunc func(s *Server, r *http.Request) result

// handle registers an API handler. auth: the request needs a valid token.
func (s *Server) handle(pattern string, auth bool, f apiFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		formErr := checkForm(r)
		p := s.p
		p.mu.Lock()
		p.advanceLocked()
		var res result
		switch {
		case s.state != stateUp:
			res.reset = true
		case auth && !p.authLocked(s, r):
			res = p.replyResult(http.StatusUnauthorized, msgUnauthorized, "The request has no valid authentication token: log in again.")
		case formErr != "":
			res = p.replyResult(http.StatusBadRequest, msgBadRequest, formErr)
		default:
			res = f(s, r)
			p.checkLocked()
			p.advanceLocked() // transitions due at once (zero durations)
		}
		p.mu.Unlock()
		res.write(w)
	})
}

// checkForm parses the form; parameters must be form-encoded.
func checkForm(r *http.Request) string {
	if (r.Method == http.MethodPost || r.Method == http.MethodPut) && r.ContentLength != 0 {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return "Parameters must be sent as a form body (application/x-www-form-urlencoded)."
		}
	}
	if err := r.ParseForm(); err != nil {
		return "The form body cannot be parsed."
	}
	return ""
}

func (s *Server) routes() *http.ServeMux {
	s.mux = http.NewServeMux()
	b := apiBase
	s.handle("POST "+b+"/system/v1/tokens", false, apiLogin)
	s.handle("GET "+b+"/system/ha", true, apiHA)
	s.handle("PUT "+b+"/system/ha/takeover", true, func(s *Server, _ *http.Request) result { return s.p.takeoverLocked(s) })
	s.handle("PUT "+b+"/system/ha/reconnect", true, apiReconnect)
	s.handle("PUT "+b+"/system/ha/setServerAsStandby/{active}", true, apiSetServerAsStandby)
	s.handle("PUT "+b+"/system/ha/setStandbyServer/{standby}/{user}/{password}", true, apiSetStandbyServer)
	// IBM's REXX REST framework appends a port to these two paths.
	s.handle("PUT "+b+"/system/ha/setServerAsStandby/{active}/{port}", true, apiSetServerAsStandby)
	s.handle("PUT "+b+"/system/ha/setStandbyServer/{standby}/{user}/{password}/{port}", true, apiSetStandbyServer)
	s.handle("PUT "+b+"/system/ha/removeHaServer/{server}", true, apiRemoveHAServer)
	s.handle("GET "+b+"/system/version", true, apiVersion)
	s.handle("PUT "+b+"/system/backupserver", true, apiBackupCreate)
	s.handle("GET "+b+"/system/backupserver", true, apiBackupList)
	s.handle("GET "+b+"/system/backupserver/download", true, apiBackupDownload)
	s.handle("GET "+b+"/sessions/short", true, apiSessions)
	s.handle("GET "+b+"/sessions", true, apiSessions)
	s.handle("GET "+b+"/sessions/scheduledtasks", true, apiTasks)
	s.handle("GET "+b+"/sessions/scheduledtasks/{id}", true, apiTask)
	s.handle("POST "+b+"/sessions/scheduledtasks/enable/{id}", true, apiTaskEnable)
	s.handle("POST "+b+"/sessions/scheduledtasks/disable/{id}", true, apiTaskDisable)
	s.handle("GET "+b+"/sessions/{name}", true, apiSession)
	s.handle("POST "+b+"/sessions/{name}", true, apiSessionCommand)
	s.handle("/", true, func(s *Server, _ *http.Request) result {
		return s.p.replyResult(http.StatusNotFound, msgNotFound, "No such resource or method.")
	})
	return s.mux
}

func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func apiLogin(s *Server, r *http.Request) result {
	p := s.p
	s.logins.Attempts++
	if !equalSecret(r.PostForm.Get("username"), p.opts.Username) || !equalSecret(r.PostForm.Get("password"), p.opts.Password) {
		s.logins.Failed++
		return p.replyResult(http.StatusUnauthorized, msgBadCredentials, "The user name or password is not valid.")
	}
	tok := rand.Text()
	s.tokens[tok] = &token{expires: p.m.now.Add(p.opts.TokenLifetime)}
	return result{status: http.StatusOK, body: csm.TokenReply{Reply: csm.Reply{Timestamp: p.m.now.UnixMilli()}, Token: tok}}
}

// authLocked checks the X-Auth-Token of r and counts its use.
func (p *Pair) authLocked(s *Server, r *http.Request) bool {
	key := r.Header.Get("X-Auth-Token")
	t, ok := s.tokens[key]
	if key == "" || !ok {
		return false
	}
	if !p.m.now.Before(t.expires) {
		delete(s.tokens, key)
		return false
	}
	t.uses++
	if p.m.faults[FaultTokenExpiry] && t.uses > TokenUses {
		delete(s.tokens, key)
		return false
	}
	return true
}

// mismatchedPartner is the partner the primary reports under fault
// partner-mismatch: a server that is not the secondary.
const mismatchedPartner = "127.0.0.9"

func apiHA(s *Server, _ *http.Request) result {
	p := s.p
	st := csm.HAStatus{
		Reply:                   p.reply(csm.MsgHAStatusQueried, "The high availability status was queried."),
		IsLocalActive:           s.role == csm.RoleActive,
		MaxSupportedConnections: MaxSupportedConnections,
		LocalHAPort:             s.haPort,
		ServerInfo:              []csm.ServerInfo{},
	}
	if o := p.other(s); o != nil && p.m.paired {
		role := s.seenRole
		if p.m.link.connected() {
			role = o.role
		}
		host := o.host
		if p.m.faults[FaultPartnerMismatch] && s == p.servers[0] {
			host = mismatchedPartner
		}
		st.ServerInfo = append(st.ServerInfo, csm.ServerInfo{Server: host, Role: role, Status: p.m.link.String(), Port: o.haPort})
	}
	if p.m.faults[FaultServerinfoOdd] {
		return result{status: http.StatusOK, body: oddHA(st)}
	}
	return result{status: http.StatusOK, body: st}
}

// oddHA writes st with extra fields, and serverinfo entries with extra and
// differently typed fields (fault serverinfo-odd).
func oddHA(st csm.HAStatus) map[string]any {
	infos := []any{}
	for _, si := range st.ServerInfo {
		infos = append(infos, map[string]any{
			"server": si.Server, "role": si.Role, "status": si.Status,
			"port":          strconv.Itoa(si.Port), // a string, not a number
			"lastHeartbeat": map[string]any{"epochMillis": st.Timestamp, "ok": true},
			"connections":   "1",
			"version":       6.311,
		})
	}
	return map[string]any{
		"msg": st.Msg, "resultText": st.MsgTranslated, "islocalactive": st.IsLocalActive,
		"maxsupportedconnections": strconv.Itoa(st.MaxSupportedConnections), "localhaport": st.LocalHAPort,
		"serverinfo": infos, "inserts": []any{}, "timestamp": st.Timestamp,
		"haMode": map[string]any{"kind": "standard"},
	}
}

// resolvePath resolves the server named by the path value name: a host (a
// server's loopback address, or localhost for 127.0.0.1), with the optional
// {port} segment that IBM's REXX framework appends, which must then be that
// server's HA port. A host:port is refused (the REST port is not the HA
// port). When the servers share one address, the HA port tells them apart,
// and without one the host names the partner of the called server.
func (p *Pair) resolvePath(r *http.Request, name string, caller *Server) (string, *Server, string) {
	ref := r.PathValue(name)
	port := r.PathValue("port")
	shown := ref
	if port != "" {
		shown = ref + "/" + port
	}
	if strings.Contains(ref, ":") {
		return shown, nil, "name the server by its host; " + ref + " carries a port (the HA port, if any, goes in its own path segment)"
	}
	host := ref
	if strings.EqualFold(host, "localhost") {
		host = serverHosts[0]
	}
	var match []*Server
	for _, s := range p.servers {
		if s.host == host && (port == "" || port == strconv.Itoa(s.haPort)) {
			match = append(match, s)
		}
	}
	switch {
	case len(match) == 1:
		return shown, match[0], ""
	case len(match) == 2:
		return shown, p.other(caller), ""
	case port != "":
		return shown, nil, "no server " + ref + " has the HA port " + port
	}
	return shown, nil, ""
}

// resolve finds the server a host names (see resolvePath), for paths
// without a port segment.
func (p *Pair) resolve(ref string, caller *Server) *Server {
	if strings.EqualFold(ref, "localhost") {
		ref = serverHosts[0]
	}
	var match []*Server
	for _, s := range p.servers {
		if s.host == ref {
			match = append(match, s)
		}
	}
	switch len(match) {
	case 1:
		return match[0]
	case 2:
		return p.other(caller)
	}
	return nil
}

func (p *Pair) levelsRefused(a, b *Server) (result, bool) {
	if p.canConnect() {
		return result{}, false
	}
	return p.replyResult(http.StatusOK, msgDifferentLevels, fmt.Sprintf("The servers are at different levels (%s runs %s, %s runs %s): a standby server must be at the same level as the active server.", a.host, a.version, b.host, b.version), a.host, b.host), true
}

func apiReconnect(s *Server, _ *http.Request) result {
	p := s.p
	o := p.other(s)
	if o == nil || !p.m.paired {
		return p.replyResult(http.StatusOK, csm.MsgNoHAServers, "There are no high availability servers to reconnect.")
	}
	if o.state != stateUp {
		return p.replyResult(http.StatusOK, msgUnreachable, "The partner server "+o.host+" cannot be reached.", o.host)
	}
	if res, refused := p.levelsRefused(s, o); refused {
		return res
	}
	if !p.m.link.connected() {
		p.connectLocked("reconnect issued on " + s.name)
	}
	return p.replyResult(http.StatusOK, csm.MsgReconnected, "The high availability servers were reconnected.")
}

func apiSetServerAsStandby(s *Server, r *http.Request) result {
	p := s.p
	ref, a, why := p.resolvePath(r, "active", s)
	switch {
	case a == nil || a == s:
		if why == "" {
			why = "it is not a server this server can be the standby of"
		}
		return p.replyResult(http.StatusOK, msgUnknownServer, "The server "+ref+" is not valid here: "+why+".", ref)
	case a.state != stateUp:
		return p.replyResult(http.StatusOK, msgUnreachable, "The server "+a.host+" cannot be reached.", a.host)
	case a.role != csm.RoleActive:
		return p.replyResult(http.StatusOK, msgNotActive, "The server "+a.host+" is not an active server.", a.host)
	}
	if res, refused := p.levelsRefused(s, a); refused {
		return res
	}
	if !(p.m.paired && p.m.link.connected() && s.role == csm.RoleStandby) {
		p.m.paired = true
		p.setRole(s, csm.RoleStandby, "set as standby of "+a.name)
		p.event(s, EventHAConfig, "standby of "+a.name)
		p.connectLocked(s.name + " set as standby of " + a.name)
	}
	return p.replyResult(http.StatusOK, csm.MsgMadeStandby, "The server was made the standby of "+a.host+".", a.host)
}

func apiSetStandbyServer(s *Server, r *http.Request) result {
	p := s.p
	ref, b, why := p.resolvePath(r, "standby", s)
	switch {
	case s.role != csm.RoleActive:
		return p.replyResult(http.StatusOK, msgNotActive, "A standby server can only be added to the active server.")
	case b == nil || b == s:
		if why == "" {
			why = "it cannot be made the standby of this server"
		}
		return p.replyResult(http.StatusOK, msgUnknownServer, "The server "+ref+" is not valid here: "+why+".", ref)
	case !equalSecret(r.PathValue("user"), p.opts.Username) || !equalSecret(r.PathValue("password"), p.opts.Password):
		return p.replyResult(http.StatusOK, msgBadStandbyCreds, "The user name or password for the standby server is not valid.")
	case b.state != stateUp:
		return p.replyResult(http.StatusOK, msgUnreachable, "The server "+b.host+" cannot be reached.", b.host)
	}
	if res, refused := p.levelsRefused(s, b); refused {
		return res
	}
	if !(p.m.paired && p.m.link.connected() && b.role == csm.RoleStandby) {
		p.m.paired = true
		p.setRole(b, csm.RoleStandby, "made standby of "+s.name)
		p.event(s, EventHAConfig, b.name+" made standby")
		p.connectLocked(b.name + " made standby of " + s.name)
	}
	return p.replyResult(http.StatusOK, csm.MsgMadeStandby, "The server "+b.host+" was made the standby of this server.", b.host)
}

func apiRemoveHAServer(s *Server, r *http.Request) result {
	p := s.p
	ref := r.PathValue("server")
	b := p.resolve(ref, s)
	switch {
	case b == nil || b == s:
		return p.replyResult(http.StatusOK, msgUnknownServer, "The server "+ref+" is not the HA partner of this server.", ref)
	case !p.m.paired:
		return p.replyResult(http.StatusOK, csm.MsgNoHAServers, "There are no high availability servers.")
	}
	p.m.paired = false
	p.m.linkGen++
	p.setLink(linkNone, "HA server "+b.name+" removed on "+s.name)
	p.event(s, EventHAConfig, "removed "+b.name)
	for _, x := range p.servers {
		p.setRole(x, csm.RoleActive, "HA relationship removed: standalone server")
	}
	return p.replyResult(http.StatusOK, msgHARemoved, "The high availability server "+b.host+" was removed.", b.host)
}

func apiVersion(s *Server, _ *http.Request) result {
	v := s.version
	if s.p.m.faults[FaultVersionSuffix] {
		v = suffixed(v, s == s.p.servers[0])
	}
	return result{status: http.StatusOK, body: csm.Version{Reply: s.p.reply(msgVersion, "The version was queried."), Version: v}}
}

// suffixed writes a level as fault version-suffix does: without trailing
// ".0" parts (short), else with a build suffix.
func suffixed(v string, short bool) string {
	if !short {
		return v + "-b20261101"
	}
	for strings.Count(v, ".") > 1 && strings.HasSuffix(v, ".0") {
		v = strings.TrimSuffix(v, ".0")
	}
	return v
}

// createBackupLocked makes a configuration backup on s: a zip archive with
// one small properties file.
func (p *Pair) createBackupLocked(s *Server) (csm.Backup, []byte, error) {
	now := p.m.now
	name := "csmBackup_" + now.UTC().Format("20060102_150405") + ".zip"
	for n := 2; slices.ContainsFunc(s.backups, func(b csm.Backup) bool { return b.Name == name }); n++ {
		name = fmt.Sprintf("csmBackup_%s_%d.zip", now.UTC().Format("20060102_150405"), n)
	}
	var sessions []string
	for _, x := range p.m.sessions {
		sessions = append(sessions, x.Name)
	}
	config := fmt.Sprintf("# IBM Copy Services Manager configuration backup (simulated by csmtest)\nserver=%s\nversion=%s\nrole=%s\nsessions=%s\n",
		s.Addr(), s.version, s.role, strings.Join(sessions, ","))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.CreateHeader(&zip.FileHeader{Name: "csmConfig/csm.properties", Method: zip.Deflate, Modified: now})
	if err == nil {
		_, err = f.Write([]byte(config))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return csm.Backup{}, nil, fmt.Errorf("csmtest: backup archive: %w", err)
	}
	b := csm.Backup{Name: name, Size: int64(buf.Len()), Timestamp: now.UnixMilli()}
	s.backups = append(s.backups, b)
	p.event(s, EventBackup, "created "+name)
	return b, buf.Bytes(), nil
}

func apiBackupCreate(s *Server, _ *http.Request) result {
	p := s.p
	if p.m.faults[FaultBackupFails] {
		return p.replyResult(http.StatusInternalServerError, msgBackupFailed, "The backup could not be created.")
	}
	b, _, err := p.createBackupLocked(s)
	if err != nil {
		return p.replyResult(http.StatusInternalServerError, msgBackupFailed, "The backup could not be created.")
	}
	return p.replyResult(http.StatusOK, msgBackupCreated, "The backup "+b.Name+" was created.", b.Name)
}

func apiBackupList(s *Server, _ *http.Request) result {
	backups := slices.Clone(s.backups)
	if backups == nil {
		backups = []csm.Backup{}
	}
	return result{status: http.StatusOK, body: csm.BackupList{Reply: s.p.reply(msgBackupsListed, "The backups were listed."), Backups: backups}}
}

func apiBackupDownload(s *Server, _ *http.Request) result {
	p := s.p
	if p.m.faults[FaultBackupFails] {
		return p.replyResult(http.StatusInternalServerError, msgBackupFailed, "The backup could not be created.")
	}
	b, data, err := p.createBackupLocked(s)
	if err != nil {
		return p.replyResult(http.StatusInternalServerError, msgBackupFailed, "The backup could not be created.")
	}
	return result{status: http.StatusOK, file: &download{name: b.Name, data: data}}
}

func apiSessions(s *Server, _ *http.Request) result {
	s.p.validationLocked(s)
	out := slices.Clone(s.p.m.sessions)
	if out == nil {
		out = []csm.SessionShort{}
	}
	return result{status: http.StatusOK, body: out}
}

func (p *Pair) findSessionLocked(name string) int {
	return slices.IndexFunc(p.m.sessions, func(x csm.SessionShort) bool { return x.Name == name })
}

func apiSession(s *Server, r *http.Request) result {
	p := s.p
	name := r.PathValue("name")
	i := p.findSessionLocked(name)
	if i < 0 {
		return p.replyResult(http.StatusNotFound, msgUnknownSession, "There is no session named "+name+".", name)
	}
	p.validationLocked(s)
	return result{status: http.StatusOK, body: p.m.sessions[i]}
}

func apiSessionCommand(s *Server, r *http.Request) result {
	p := s.p
	name := r.PathValue("name")
	i := p.findSessionLocked(name)
	cmd := r.PostForm.Get("cmd")
	switch {
	case i < 0:
		return p.replyResult(http.StatusNotFound, msgUnknownSession, "There is no session named "+name+".", name)
	case s.role != csm.RoleActive:
		return p.replyResult(http.StatusOK, msgStandbyCommand, "This server is a standby server: send session commands to the active server.")
	case cmd == "":
		return p.replyResult(http.StatusBadRequest, msgBadRequest, "The form parameter cmd is required.")
	}
	return p.sessionCommandLocked(i, cmd)
}

func taskCopy(t *task) csm.ScheduledTask {
	c := t.ScheduledTask
	c.Actions = slices.Clone(t.Actions)
	if c.Actions == nil {
		c.Actions = []csm.TaskAction{}
	}
	return c
}

func apiTasks(s *Server, _ *http.Request) result {
	out := []csm.ScheduledTask{}
	for _, t := range s.tasks {
		out = append(out, taskCopy(t))
	}
	return result{status: http.StatusOK, body: out}
}

func (s *Server) findTaskLocked(id string) *task {
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil
	}
	for _, t := range s.tasks {
		if t.ID == n {
			return t
		}
	}
	return nil
}

func apiTask(s *Server, r *http.Request) result {
	p := s.p
	id := r.PathValue("id")
	t := s.findTaskLocked(id)
	if t == nil {
		return p.replyResult(http.StatusNotFound, msgUnknownTask, "There is no scheduled task with id "+id+".", id)
	}
	return result{status: http.StatusOK, body: taskCopy(t)}
}

func apiTaskEnable(s *Server, r *http.Request) result  { return setTask(s, r, true) }
func apiTaskDisable(s *Server, r *http.Request) result { return setTask(s, r, false) }

func setTask(s *Server, r *http.Request, enabled bool) result {
	p := s.p
	id := r.PathValue("id")
	t := s.findTaskLocked(id)
	switch {
	case t == nil:
		return p.replyResult(http.StatusNotFound, msgUnknownTask, "There is no scheduled task with id "+id+".", id)
	case s.role != csm.RoleActive:
		return p.replyResult(http.StatusOK, msgStandbyCommand, "This server is a standby server: send task commands to the active server.")
	}
	word := "disabled"
	if enabled {
		word = "enabled"
	}
	if t.Enabled != enabled {
		t.Enabled = enabled
		t.next = time.Time{}
		p.scheduleTaskLocked(t)
		p.event(s, EventTask, fmt.Sprintf("task %d %q %s", t.ID, t.Name, word))
		p.replicateLocked()
	}
	return p.replyResult(http.StatusOK, msgTaskChanged, fmt.Sprintf("The scheduled task %d was %s.", t.ID, word), id)
}

package csm

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/csmplan/csmplan/actions"
)

func (p *plugin) probeDefs() []*probeDef {
	targetOnly := func(what string) []byte {
		return schemaObject("Arguments of "+what+".", []string{"target"}, schemaTarget)
	}
	return []*probeDef{
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.ha",
				Summary: "Observe the HA status of a CSM server: its role, its partner and the relationship status, raw and normalized (GET /system/ha)",
				Args: schemaObject("Arguments of the csm.ha probe.", []string{"target"}, schemaTarget,
					prop("expected_partner", `{"type": "string", "description": "The server the partner should be: a host name or IP address, optionally with :port (ignored), such as the other server's target host. Fills partner_check. Names and addresses are compared as an operator writes them: equal when they are the same text (case-insensitive), or when they resolve to a common address."}`),
					prop("synchronized_statuses", `{"type": "array", "items": {"type": "string"}, "description": "The relationship status strings that mean synchronized (compared case-insensitively). Default [\"Synchronized\"]: the strings are not public, so a site whose servers say otherwise sets them here."}`)),
				Outputs: []actions.Output{
					{Name: "role", Type: "string", Description: "The role of the server asked: Active or Standby."},
					{Name: "active", Type: "boolean", Description: "True when the server asked is the active one (islocalactive)."},
					{Name: "partner", Type: "string", Description: "The HA partner's host as the server names it, lower-case, without port or brackets; \"\" when there is none."},
					{Name: "partner_role", Type: "string", Description: "The partner's role (Active or Standby) as last seen by the server asked, or \"\"."},
					{Name: "partner_port", Type: "integer", Description: "The partner's HA port (serverinfo port), or 0."},
					{Name: "connected", Type: "boolean", Description: "True when the relationship is connected (Synchronized or Synchronization Pending)."},
					{Name: "synchronized", Type: "boolean", Description: "True when the relationship status is one of synchronized_statuses."},
					{Name: "status", Type: "string", Description: "The relationship status as the server writes it, or \"\" when there is no partner. Modelled values: Synchronized, Synchronization Pending, Disconnected, Disconnected Consistent, Disconnected (different levels)."},
					{Name: "partner_check", Type: "string", Description: "With expected_partner: \"ok\" when the partner is that server, else what differs (such as \"the partner is 10.0.0.9, not csm2.example.com\"); \"\" without expected_partner."},
					{Name: "ha_port", Type: "integer", Description: "The HA port of the server asked (localhaport), 9561 by default."},
					{Name: "servers", Type: "array", Description: "Every serverinfo entry as the server gave it: an object {server, role, status, port} plus any other field."},
					{Name: "msg", Type: "string", Description: "The message id of the reply, such as IWNR3048I."},
				},
			},
			validate: func(args map[string]any) error {
				if _, err := actions.OptStringArg(args, "expected_partner", ""); err != nil {
					return err
				}
				_, err := actions.OptStringsArg(args, "synchronized_statuses", nil)
				return err
			},
			observe: observeHA,
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.sessions",
				Summary: "Observe the list of copy services sessions of a CSM server, sorted by name (GET /sessions/short)",
				Args: schemaObject("Arguments of the csm.sessions probe.", []string{"target"}, schemaTarget,
					prop("fields", `{"type": "array", "items": {"enum": ["name", "state", "status", "type", "copysets", "recoverable", "error"]}, "uniqueItems": true, "description": "Keep only these fields of each session (default: all), so that two observations compare on what matters, such as [name, type, state, status]."}`)),
				Outputs: []actions.Output{
					{Name: "name", Type: "string", Description: "The session name. The observation is a list with one object per session, sorted by name; these are the fields of each (path [*].name)."},
					{Name: "state", Type: "string", Description: "The session state, such as Prepared, Preparing, Suspended, Target Available."},
					{Name: "status", Type: "string", Description: "The session status: Inactive, Normal, Warning, Severe or Unknown."},
					{Name: "type", Type: "string", Description: "The session type (rulesname), such as \"Metro Mirror\"."},
					{Name: "copysets", Type: "integer", Description: "The number of copy sets."},
					{Name: "recoverable", Type: "boolean", Description: "Whether the session is recoverable."},
					{Name: "error", Type: "boolean", Description: "Whether the session has an error (haserror)."},
				},
			},
			validate: func(args map[string]any) error {
				_, err := actions.OptStringsArg(args, "fields", nil)
				return err
			},
			observe: observeSessions,
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.session",
				Summary: "Observe one copy services session of a CSM server as the server describes it (GET /sessions/{name})",
				Args: schemaObject("Arguments of the csm.session probe.", []string{"target", "name"}, schemaTarget,
					prop("name", `{"type": "string", "minLength": 1, "description": "The session name."}`)),
				Outputs: []actions.Output{
					{Name: "name", Type: "string", Description: "The session name. The observation is the server's reply for the session as it gives it (whole numbers become integers): the reply of GET /sessions/{name} is not documented publicly, so the fields listed are those of /sessions/short, and others may appear."},
					{Name: "state", Type: "string", Description: "The session state, such as Prepared."},
					{Name: "status", Type: "string", Description: "The session status: Inactive, Normal, Warning, Severe or Unknown."},
					{Name: "numcopysets", Type: "integer", Description: "The number of copy sets."},
					{Name: "productionhost", Type: "string", Description: "The production host."},
					{Name: "haserror", Type: "boolean", Description: "Whether the session has an error."},
					{Name: "recoverable", Type: "boolean", Description: "Whether the session is recoverable."},
					{Name: "hyperswapstatus", Type: "string", Description: "The HyperSwap status."},
					{Name: "rulesname", Type: "string", Description: "The session type, such as \"Metro Mirror\"."},
				},
			},
			validate: func(args map[string]any) error {
				_, err := actions.NonBlankStringArg(args, "name")
				return err
			},
			observe: func(ctx context.Context, call *actions.Call, s *session) (any, error) {
				name, err := actions.NonBlankStringArg(call.Args, "name")
				if err != nil {
					return nil, err
				}
				return s.client.Session(ctx, name)
			},
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.version",
				Summary: "Observe the version of a CSM server (GET /system/version)",
				Args:    targetOnly("the csm.version probe"),
				Outputs: []actions.Output{
					{Name: "version", Type: "string", Description: "The server's version, dotted such as 6.3.10.1 (compare with gte/lte)."},
				},
			},
			observe: func(ctx context.Context, call *actions.Call, s *session) (any, error) {
				v, err := s.client.Version(ctx)
				if err != nil {
					return nil, err
				}
				return map[string]any{"version": v.Version}, nil
			},
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.tasks",
				Summary: "Observe the scheduled tasks of a CSM server, sorted by id (GET /sessions/scheduledtasks)",
				Args: schemaObject("Arguments of the csm.tasks probe.", []string{"target"}, schemaTarget,
					prop("enabled_only", `{"type": "boolean", "default": false, "description": "Observe only the enabled tasks (those the server runs when it is active)."}`),
					prop("fields", `{"type": "array", "items": {"enum": ["id", "name", "enabled", "running"]}, "uniqueItems": true, "description": "Keep only these fields of each task (default: all), such as [id, name] to compare two observations."}`)),
				Outputs: []actions.Output{
					{Name: "id", Type: "integer", Description: "The task id. The observation is a list with one object per task, sorted by id; these are the fields of each (path [*].id)."},
					{Name: "name", Type: "string", Description: "The task name."},
					{Name: "enabled", Type: "boolean", Description: "Whether the task is enabled."},
					{Name: "running", Type: "boolean", Description: "Whether the task is running now."},
				},
			},
			validate: func(args map[string]any) error {
				if _, err := actions.OptBoolArg(args, "enabled_only", false); err != nil {
					return err
				}
				_, err := actions.OptStringsArg(args, "fields", nil)
				return err
			},
			observe: observeTasks,
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.reachable",
				Summary: "Observe whether a CSM server answers an authenticated request (true) or cannot be reached (false)",
				Args:    targetOnly("the csm.reachable probe"),
				Outputs: []actions.Output{
					{Name: "reachable", Type: "boolean", Description: "The observation is this boolean itself, not an object: true when GET /system/version succeeds, false when the server cannot be reached (connection refused or reset, timeout, HTTP 502/503/504). Bad credentials and TLS failures are errors, not false."},
				},
			},
			observe: observeReachable,
		},
	}
}

func observeHA(ctx context.Context, call *actions.Call, s *session) (any, error) {
	ha, err := s.client.HA(ctx)
	if err != nil {
		return nil, err
	}
	synced, _ := actions.OptStringsArg(call.Args, "synchronized_statuses", nil)
	if synced == nil {
		synced = s.p.synchronized()
	}
	out := haObservation(ha, synced)
	if want, _ := actions.OptStringArg(call.Args, "expected_partner", ""); strings.TrimSpace(want) != "" {
		out["partner_check"] = partnerCheck(ctx, out["partner"].(string), want)
	}
	return out, nil
}

// haObservation turns an HA status into the csm.ha observation; synced are
// the status strings that mean synchronized.
func haObservation(ha *HAStatus, synced []string) map[string]any {
	role := RoleStandby
	if ha.IsLocalActive {
		role = RoleActive
	}
	servers := make([]any, 0, len(ha.ServerInfo))
	for _, si := range ha.ServerInfo {
		m := map[string]any{"server": si.Server, "role": si.Role, "status": si.Status, "port": int64(si.Port)}
		for k, v := range si.Extra {
			m[k] = actions.Normalize(v)
		}
		servers = append(servers, m)
	}
	out := map[string]any{
		"role": role, "active": ha.IsLocalActive, "partner": "", "partner_role": "", "partner_port": int64(0),
		"connected": false, "synchronized": false, "status": "", "partner_check": "",
		"ha_port": int64(ha.LocalHAPort), "servers": servers, "msg": ha.Msg,
	}
	if len(ha.ServerInfo) > 0 {
		si := ha.ServerInfo[0]
		out["partner"] = hostOf(si.Server)
		out["partner_role"] = si.Role
		out["partner_port"] = int64(si.Port)
		out["status"] = si.Status
		out["connected"] = containsFold(connectedStatuses, si.Status)
		out["synchronized"] = containsFold(synced, si.Status)
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(s)) })
}

// hostOf returns the host of "host", "host:port", "[v6]" or "[v6]:port",
// lower-case, without a trailing dot.
func hostOf(s string) string {
	s = strings.TrimSpace(s)
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

// sameHost reports whether two hosts, written as an operator writes them
// (name or IP), are the same server: the same text, or names that resolve
// to a common address.
func sameHost(ctx context.Context, a, b string) bool {
	a, b = hostOf(a), hostOf(b)
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	lookup := func(h string) []string {
		if ip := net.ParseIP(h); ip != nil {
			return []string{ip.String()}
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(lctx, h)
		if err != nil {
			return nil
		}
		for i, x := range addrs {
			if ip := net.ParseIP(x); ip != nil {
				addrs[i] = ip.String()
			}
		}
		return addrs
	}
	as, bs := lookup(a), lookup(b)
	for _, x := range as {
		if slices.Contains(bs, x) {
			return true
		}
	}
	return false
}

// partnerCheck is the partner_check output: "ok", or what differs.
func partnerCheck(ctx context.Context, partner, want string) string {
	switch {
	case partner == "":
		return "the server has no HA partner, want " + hostOf(want)
	case sameHost(ctx, partner, want):
		return "ok"
	}
	return "the partner is " + partner + ", not " + hostOf(want)
}

// project keeps the fields of m named in fields (all when fields is nil).
func project(m map[string]any, fields []string) map[string]any {
	if fields == nil {
		return m
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		out[f] = m[f]
	}
	return out
}

func observeSessions(ctx context.Context, call *actions.Call, s *session) (any, error) {
	list, err := s.client.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	fields, _ := actions.OptStringsArg(call.Args, "fields", nil)
	slices.SortStableFunc(list, func(a, b SessionShort) int { return strings.Compare(a.Name, b.Name) })
	out := make([]any, 0, len(list))
	for _, ss := range list {
		out = append(out, project(map[string]any{
			"name": ss.Name, "state": ss.State, "status": ss.Status, "type": ss.RulesName,
			"copysets": int64(ss.NumCopySets), "recoverable": ss.Recoverable, "error": ss.HasError,
		}, fields))
	}
	return out, nil
}

func observeTasks(ctx context.Context, call *actions.Call, s *session) (any, error) {
	list, err := s.client.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	fields, _ := actions.OptStringsArg(call.Args, "fields", nil)
	enabledOnly, _ := actions.OptBoolArg(call.Args, "enabled_only", false)
	slices.SortStableFunc(list, func(a, b ScheduledTask) int { return a.ID - b.ID })
	out := make([]any, 0, len(list))
	for _, t := range list {
		if enabledOnly && !t.Enabled {
			continue
		}
		out = append(out, project(map[string]any{
			"id": int64(t.ID), "name": t.Name, "enabled": t.Enabled, "running": t.Running,
		}, fields))
	}
	return out, nil
}

func observeReachable(ctx context.Context, _ *actions.Call, s *session) (any, error) {
	return reachable(ctx, s.client)
}

// reachable asks the server its version once, without retries: true when
// it answers, false when it cannot be reached, an error otherwise.
func reachable(ctx context.Context, c *Client) (bool, error) {
	_, err := c.Version(withoutRetries(ctx))
	switch {
	case err == nil:
		return true, nil
	case ctx.Err() != nil:
		return false, err
	case errors.Is(err, ErrUnavailable):
		return false, nil
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode >= http.StatusInternalServerError && !errors.Is(err, ErrAuth) {
		return false, nil // the web server answers but CSM does not
	}
	return false, err
}

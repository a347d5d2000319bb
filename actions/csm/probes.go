package csm

import (
	"context"
	"errors"
	"net/http"

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
				Summary: "Observe the HA status of a CSM server: its role, its partner and the relationship status (GET /system/ha)",
				Args:    targetOnly("the csm.ha probe"),
				Outputs: []actions.Output{
					{Name: "role", Type: "string", Description: "The role of the server asked: Active or Standby."},
					{Name: "active", Type: "boolean", Description: "True when the server asked is the active one (islocalactive)."},
					{Name: "partner", Type: "string", Description: "The HA partner server, or \"\" when there is none."},
					{Name: "partner_role", Type: "string", Description: "The partner's role (Active or Standby), or \"\"."},
					{Name: "status", Type: "string", Description: "The relationship status, or \"\" when there is no partner. Modelled values: Synchronized, Synchronization Pending, Disconnected, Disconnected Consistent."},
					{Name: "servers", Type: "array", Description: "Every serverinfo entry as an object {server, role, status, port}."},
					{Name: "msg", Type: "string", Description: "The message id of the reply, such as IWNR3048I."},
				},
			},
			observe: observeHA,
		},
		{
			p: p,
			spec: actions.Spec{
				Name:    "csm.sessions",
				Summary: "Observe the list of copy services sessions of a CSM server (GET /sessions/short)",
				Args:    targetOnly("the csm.sessions probe"),
				Outputs: []actions.Output{
					{Name: "name", Type: "string", Description: "The session name. The observation is a list with one object per session; these are the fields of each (path [*].name)."},
					{Name: "state", Type: "string", Description: "The session state, such as Prepared, Preparing, Suspended, Target Available."},
					{Name: "status", Type: "string", Description: "The session status: Inactive, Normal, Warning, Severe or Unknown."},
					{Name: "type", Type: "string", Description: "The session type (rulesname), such as \"Metro Mirror\"."},
					{Name: "copysets", Type: "integer", Description: "The number of copy sets."},
					{Name: "recoverable", Type: "boolean", Description: "Whether the session is recoverable."},
					{Name: "error", Type: "boolean", Description: "Whether the session has an error (haserror)."},
				},
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
				Summary: "Observe the scheduled tasks of a CSM server (GET /sessions/scheduledtasks)",
				Args:    targetOnly("the csm.tasks probe"),
				Outputs: []actions.Output{
					{Name: "id", Type: "integer", Description: "The task id. The observation is a list with one object per task; these are the fields of each (path [*].id)."},
					{Name: "name", Type: "string", Description: "The task name."},
					{Name: "enabled", Type: "boolean", Description: "Whether the task is enabled."},
					{Name: "running", Type: "boolean", Description: "Whether the task is running now."},
				},
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

func observeHA(ctx context.Context, _ *actions.Call, s *session) (any, error) {
	ha, err := s.client.HA(ctx)
	if err != nil {
		return nil, err
	}
	return haObservation(ha), nil
}

// haObservation turns an HA status into the csm.ha observation.
func haObservation(ha *HAStatus) map[string]any {
	role := RoleStandby
	if ha.IsLocalActive {
		role = RoleActive
	}
	servers := make([]any, 0, len(ha.ServerInfo))
	for _, si := range ha.ServerInfo {
		servers = append(servers, map[string]any{
			"server": si.Server, "role": si.Role, "status": si.Status, "port": int64(si.Port),
		})
	}
	out := map[string]any{
		"role": role, "active": ha.IsLocalActive, "partner": "", "partner_role": "", "status": "",
		"servers": servers, "msg": ha.Msg,
	}
	if len(ha.ServerInfo) > 0 {
		out["partner"] = ha.ServerInfo[0].Server
		out["partner_role"] = ha.ServerInfo[0].Role
		out["status"] = ha.ServerInfo[0].Status
	}
	return out
}

func observeSessions(ctx context.Context, _ *actions.Call, s *session) (any, error) {
	list, err := s.client.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(list))
	for _, ss := range list {
		out = append(out, map[string]any{
			"name": ss.Name, "state": ss.State, "status": ss.Status, "type": ss.RulesName,
			"copysets": int64(ss.NumCopySets), "recoverable": ss.Recoverable, "error": ss.HasError,
		})
	}
	return out, nil
}

func observeTasks(ctx context.Context, _ *actions.Call, s *session) (any, error) {
	list, err := s.client.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(list))
	for _, t := range list {
		out = append(out, map[string]any{
			"id": int64(t.ID), "name": t.Name, "enabled": t.Enabled, "running": t.Running,
		})
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

// Package csm speaks to IBM Copy Services Manager (CSM) servers and provides
// the CSM probes and actions of csmplan.
//
// The [Client] speaks the CSM REST API (https://HOST:9559/CSM/web): it gets
// a token from POST /system/v1/tokens, sends it as X-Auth-Token with
// Accept-Language: en-US, sends parameters as form bodies, fetches a new
// token and retries once on HTTP 401, and treats a reply whose message id
// ends in E (error) or S (severe) as a failure even with HTTP 200. It always
// verifies TLS, against a CA bundle or a pinned certificate fingerprint;
// skipping verification must be asked for by name (Config.Insecure) and is
// reported through [Client.Warning]. Every request has a timeout; idempotent
// reads are retried on transient network errors with a backoff on an
// injectable clock. Errors are typed ([APIError]) and match the sentinels
// [ErrAuth], [ErrUnavailable], [ErrRejected] and [ErrTLS] with errors.Is;
// passwords never appear in them.
//
// [Register] adds the probes csm.ha, csm.sessions, csm.session, csm.version,
// csm.tasks and csm.reachable, and the actions csm.takeover, csm.reconnect,
// csm.set_standby, csm.add_standby, csm.backup, csm.task, csm.install and
// csm.server to a registry. Each takes the argument target, the name of a
// runbook target whose fields (host, port, username, password, ca_file,
// fingerprint, insecure, ssh) say how to reach the server.
//
// The JSON shapes of the API are exported types ([Reply], [TokenReply],
// [HAStatus], [ServerInfo], [SessionShort], [Version], [ScheduledTask],
// [Backup]), with the relationship status strings (Status* constants) and
// the message ids (Msg* constants), shared with the simulator in package
// csmtest. Where IBM does not document a field or a string (the fields of
// serverinfo entries, the relationship status strings), the names are
// modelled, kept in one place, and the statuses are configurable
// (Options.SynchronizedStatuses).
package csm

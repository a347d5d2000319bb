// Package csmtest simulates an IBM Copy Services Manager (CSM) installation
// for tests and demos, as net/http/httptest does for HTTP: an HA pair of
// management servers (or a single server without DR) serving the CSM REST
// API over TLS on 127.0.0.1, with fault injection and a safety monitor.
//
//	pair, err := csmtest.NewPair(csmtest.Options{Standby: true, Clock: clock})
//	if err != nil { ... }
//	defer pair.Close()
//	// pair.Primary().URL(), pair.CAPEM(), pair.Username(), pair.Password()
//	...
//	fmt.Println(pair.Summary(pair.TargetVersion())) // "simulator: invariants held"
//
// A test runs the default runbook against a pair in its own process, on a
// virtual clock, in a few lines (see "Runs in a test" below):
//
//	pair := csmtest.NewPairForTest(t, csmtest.Options{Standby: true, Clock: clk})
//	reg, err := csmplan.NewRegistry(pair.CSMOptions())
//	...
//	rep, err := runner.Run(ctx, p, runner.Options{Registry: reg, Clock: clk, Params: pair.Params()})
//
// # What it simulates
//
// Each server is a real TLS HTTP/1.1 server on its own loopback address
// (primary 127.0.0.1, secondary 127.0.0.2) with a random REST port, so that
// both share one HA port as a real pair does; where 127.0.0.2 cannot be
// listened on, the secondary shares 127.0.0.1 and reports an HA port of its
// own (HAPort+1) to tell the two apart. Certificates are signed by a CA
// generated in memory (ECDSA P-256; SANs both addresses and localhost):
// clients must verify them with [Pair.CAPEM] or [Pair.CAFile]. The API lives
// under /CSM/web as package csm describes it, and answers with the JSON
// shapes of package csm ([csm.Reply], [csm.TokenReply], [csm.HAStatus],
// [csm.SessionShort], [csm.Version], [csm.ScheduledTask], [csm.Backup]):
//
//   - POST /system/v1/tokens (form username, password) answers {token};
//     every other call needs the header X-Auth-Token (missing, unknown or
//     expired: HTTP 401 with an E reply). Authentication is checked before the
//     path, so an unknown path without a token answers 401.
//   - GET /system/ha, PUT /system/ha/takeover, /reconnect,
//     /setServerAsStandby/{active}, /setStandbyServer/{standby}/{user}/{password},
//     /removeHaServer/{server}.
//   - GET /sessions/short, /sessions (same elements: the full shape is not
//     public), /sessions/{name}; POST /sessions/{name} with form cmd.
//   - GET /system/version (csm.Version).
//   - PUT and GET /system/backupserver (create, list), GET
//     /system/backupserver/download (creates a backup and answers a zip
//     archive holding csmConfig/csm.properties, Content-Type application/zip,
//     Content-Disposition attachment; filename=...).
//   - GET /sessions/scheduledtasks, /sessions/scheduledtasks/{id}; POST
//     /sessions/scheduledtasks/enable/{id} and /disable/{id}.
//   - Unknown path or method: HTTP 404 with an E reply.
//
// Parameters must be form bodies (application/x-www-form-urlencoded): a POST
// or PUT with another content type answers HTTP 400. Command failures answer
// HTTP 200 with an E message (as CSM does: the last letter of a message id
// is its severity, and an HTTP 200 whose message ends in E is a failure),
// except: 400 bad request, 401 authentication, 404 unknown path, session or
// task, 500 backup failure.
//
// # Time
//
// There are no timers: everything that happens over time (install end,
// synchronization, automatic reconnect, scheduled task runs, token expiry)
// is computed lazily from Options.Clock.Now() whenever a request or a Pair
// method arrives, by processing the due transitions in time order. On a
// virtual clock the simulation is deterministic; on the wall clock it runs in
// real time. One mutex guards all state. The only real-time behaviour is the
// delay of fault slow-response (a timer that honours the request's context).
//
// # The modelled behaviour (not public facts)
//
// IBM documents the REST paths, the reply fields of /system/ha, sessions
// and scheduled tasks, and a few message ids; not the fields of serverinfo
// entries, the relationship status strings, the version reply, nor what
// two servers at different levels do. The simulator needs all of it, and
// models it simply; what a real server does may differ:
//
//   - Levels (the reading of IBM's upgrade procedure, whose commands say
//     that "the standby server must be at the same level of the copy
//     services management code as the active server"): a standby must be
//     at the active server's level, so two servers at different levels never
//     connect: their relationship reports "Disconnected (different levels)"
//     (csm.StatusDifferentLevels), reconnect, setServerAsStandby and
//     setStandbyServer between them answer IWNR9025E, and each keeps its
//     role. Fault reconnect-across-levels gives the other reading, in which
//     they connect and synchronize as servers at the same level do.
//   - /system/ha serverinfo holds one entry for the partner: server (its
//     host, never with a port), role, status and port (its HA port, HAPort
//     on both servers). maxsupportedconnections is 1. While disconnected a
//     server reports the partner's role as last seen.
//   - Relationship status: Synchronized, Synchronization Pending (for
//     Options.SyncTime after the servers connect), Disconnected (partner down,
//     or after a takeover until the reconnect), Disconnected (different
//     levels). Disconnected Consistent is never reported.
//   - Takeover is accepted on a server in standby mode whatever the
//     relationship status (the runbook's guards decide when it is safe; the
//     monitor checks them); the standby becomes Active at once and the
//     connection breaks. After Options.ReconnectDelay the old active
//     reconnects: at the same level it sees the takeover (the server that
//     became Active last wins) and becomes Standby, and the relationship is
//     Synchronization Pending for SyncTime, then Synchronized; at a different
//     level it stays Active, disconnected, and keeps running its enabled
//     scheduled tasks (the procedure's step 9 window). An upgraded server
//     comes back in the role it had and reconnects the same way.
//   - PUT /system/ha/reconnect connects the partners the same way (IWNR3052I,
//     also when already connected; IWNR3050I without a partner; IWNR9020E
//     when the partner is down; IWNR9025E between two levels).
//     setServerAsStandby/{active} (sent to the future standby) and
//     setStandbyServer/{standby}/{user}/{password} (sent to the active; user
//     and password must be the pair's credentials) make a relationship and
//     start synchronizing; when the relationship already exists that way they
//     succeed without change. removeHaServer/{server} ends the relationship on
//     both sides; the former standby becomes an Active standalone server.
//     Servers in these paths are named by host (127.0.0.1, localhost or
//     127.0.0.2), optionally followed by one more segment with the HA port,
//     as IBM's REXX framework sends it; host:port is refused (the REST port
//     is not the HA port), and so is a port segment that is not the named
//     server's HA port.
//   - The standby answers every read; session commands and task
//     enable/disable sent to it answer an E reply (IWNR9030E). Backups work
//     on both.
//   - Session commands complete at once: Start... (from Defined, Suspended,
//     Suspended (Partial), Target Available → Prepared, Normal), Suspend
//     (Prepared → Suspended, Severe), Recover (Suspended → Target Available),
//     Flash (Defined, Prepared, Target Available → Target Available),
//     Terminate (→ Defined, Inactive); anything else IWNC1302E.
//   - Each server has its own scheduled task table; a synchronized
//     standby's is a copy of its active server's (taken when they
//     synchronize and when the active server's changes). A task runs on
//     every server that is up and Active where it is enabled (both, in a
//     window after a takeover; never on a Standby), every
//     Schedule.IntervalMinutes. A run is recorded (lastRan, timeline) and
//     changes no session.
//   - Tokens belong to the server that issued them, live TokenLifetime, and
//     are lost when the server goes down (a restart forgets them). A server
//     that goes down or comes up drops the connections of its earlier life:
//     a client connects, and verifies the certificate, again.
//   - Versions: both servers start at Options.Version. The installer takes
//     its server down for InstallTime; the server comes back at the new
//     version in the role it had (an upgraded standby comes back Standby and
//     reconnects, an upgraded standalone server Active). A down server takes
//     no part in HA: its partner reports Disconnected meanwhile.
//   - A server that is down resets every API connection: the request is
//     hijacked and the TCP connection closed with a reset (SO_LINGER 0), so a
//     client sees a transport error. The listener stays open (the port is
//     kept) and the control endpoint keeps answering.
//
// # Faults
//
// Options.Faults, [Pair.Inject] and [Pair.Clear] take these names
// ([FaultNames]); an unknown name is an error listing the valid ones:
//
//	standby-unsynchronized  the relationship stays Synchronization Pending while connected
//	session-transitory      one session stays in state Preparing (Clear restores it)
//	takeover-rejected       takeover answers IWNR9013E
//	no-auto-reconnect       no automatic reconnect (after a takeover or a restart);
//	                        the old active stays Active and Disconnected until
//	                        PUT /system/ha/reconnect; clearing reconnects
//	installer-fails         the install control operation fails (exit 1), server untouched
//	no-restart              after an install the server stays down (until a start operation)
//	wrong-version           an install comes back at the old version (or requested+".99")
//	session-changed         when the first install ends, a Prepared session becomes Suspended
//	backup-fails            backup create and download answer HTTP 500 with IWNR9043E
//	token-expiry            each token serves only 3 requests, then 401
//	connection-reset        every 4th API request (from the injection) is reset
//	slow-response           every API response is delayed by Options.SlowDelay of
//	                        real time (default 50ms on the wall clock, 1ms otherwise)
//	reconnect-across-levels the other reading of levels: servers at different levels
//	                        connect and synchronize (an old-level server reconnects
//	                        as standby of a newer one)
//	cert-renewed            an install replaces the server's certificate with a new
//	                        self-signed one
//	version-suffix          the primary writes its level without trailing ".0" parts
//	                        (6.3.10), the secondary with a build suffix (-b20261101)
//	partner-mismatch        the primary reports 127.0.0.9 as its partner
//	serverinfo-odd          /system/ha has extra fields, serverinfo entries extra and
//	                        differently typed ones (the port as a string)
//
// Go's http.Transport transparently retries an idempotent request (GET)
// whose reused connection was reset before any answer: with keep-alive a
// client may not see every reset of connection-reset; PUT and POST always
// fail.
//
// # Message ids
//
// The ids IBM documents are used for their purpose (the Msg* constants of
// package csm, such as [csm.MsgTakeoverIssued]): IWNR3063I takeover,
// IWNR3052I reconnected, IWNR3020I server made standby, IWNR3050I no HA
// servers, IWNR3048I HA status, IWNR1026I session command completed,
// IWNC1302E action not valid now. Where IBM documents none, the simulator
// uses its own ids in the IWNR9xxx range (simulator-only, never seen on a
// real server):
//
//	IWNR9001E  login: wrong user name or password (HTTP 401)
//	IWNR9002E  missing, unknown or expired X-Auth-Token (HTTP 401)
//	IWNR9003E  unknown path or method (HTTP 404)
//	IWNR9004E  bad request: parameters not form-encoded, cmd missing (HTTP 400)
//	IWNR9010E  takeover sent to the active server
//	IWNR9011E  takeover with no HA partner
//	IWNR9013E  takeover rejected (fault takeover-rejected)
//	IWNR9020E  the partner or named server is down
//	IWNR9021E  the named server is unknown (or is the called server)
//	IWNR9022E  setStandbyServer: wrong credentials of the standby
//	IWNR9023E  the server must be active (setStandbyServer sent to a standby,
//	           setServerAsStandby naming a standby)
//	IWNR9024I  removeHaServer done
//	IWNR9025E  reconnect or standby between servers at different levels
//	IWNR9030E  session or task command sent to the standby
//	IWNR9031E  no such session (HTTP 404)
//	IWNR9040I  version queried
//	IWNR9041I  backup created
//	IWNR9042I  backups listed
//	IWNR9043E  backup failed (HTTP 500)
//	IWNR9050I  scheduled task enabled or disabled
//	IWNR9051E  no such scheduled task (HTTP 404)
//
// # Safety monitor
//
// [Pair.Timeline] records what happened (takeovers, role and status changes,
// installs, servers down and up, task runs, session changes, faults, the
// both-active window, each with the number of API requests so far).
// [Pair.Violations] lists the invariants broken so far, checked after every
// change. The manager is the server that manages the sessions: of the
// Active servers, the one that became Active last. With DR: at every moment
// the manager is up (one-active); the installer never starts on the manager,
// and so never on the only Active server (installer-on-manager); no takeover
// away from a running manager while a relationship between servers at the
// same level is not Synchronized (takeover-unsynchronized) or while a session
// is transitory (takeover-transitory); the sessions are not read from the
// manager while its old-level partner can still run scheduled tasks
// (window-open-at-validation: the procedure's step 9 window must be closed
// before validation). [Pair.BothActive] and [Pair.WindowSummary] report the
// time both servers could run scheduled tasks. [Pair.CheckFinal] checks the
// end state of an upgrade (final-version, final-ha, final-sessions,
// final-tasks) and [Pair.Summary] sums everything up in one line:
// "simulator: invariants held" or "simulator: violated: NAME (detail); ...".
//
// # The control program (installer and stop/start scripts)
//
// The real installer's file name and options are not public; csmplan runs
// whatever argv the runbook gives. To exercise that real exec path, the
// simulator's installer and the site's stop/start scripts are a small program
// whose main is [ControlMain]:
//
//	PROG install --version V --ca FILE --key-file KEYFILE
//	PROG stop    --ca FILE --key-file KEYFILE
//	PROG start   --ca FILE --key-file KEYFILE
//
// It reads CSM_HOST and CSM_PORT from the environment (the csm.install and
// csm.server actions set them; [Server.Env] gives them); CSM_TARGET_VERSION
// stands in for a missing --version and CSM_SERVER_OP for a missing
// operation (so one [Pair.ServerArgv] with an empty op serves both stop and
// start). It posts the operation to
// https://CSM_HOST:CSM_PORT/csmtest/control (form key, op, version; verified
// with the CA file) and exits 0, or 1 with a message on stderr (such as
// with fault installer-fails). The install operation returns at once: the
// server is then down for InstallTime on the pair's clock.
//
// [Pair.InstallerArgv] and [Pair.ServerArgv] build these command lines as
// [exe, prefix..., op, flags...], installing Options.TargetVersion, with the
// CA and the control key in files the pair owns (the key is never on a
// command line, where ps and logs would show it). Any program can host ControlMain behind its
// own prefix: the csmplan binary as a hidden subcommand (`csmplan
// sim-control install ...`), a test binary by recognising its prefix in
// TestMain before flags are parsed:
//
//	func TestMain(m *testing.M) {
//		if len(os.Args) > 1 && os.Args[1] == "csmtest-control" {
//			os.Exit(csmtest.ControlMain(os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
//		}
//		os.Exit(m.Run())
//	}
//
//	argv := pair.InstallerArgv(os.Args[0], "csmtest-control")
//	// run argv with CSM_HOST and CSM_PORT of the server to upgrade
//
// # Runs in a test
//
// A table-driven test of the default runbook needs no process of its own:
// [ControlExecutor] runs the control program in the test's process (it
// calls ControlMain with the command's arguments and environment), so the
// installer and the stop/start commands go through the csm actions'
// command path without exec, and the whole run is on the test's clock.
//
//   - [NewPairForTest] starts a pair and closes it when the test ends.
//   - [Pair.CSMOptions] are the csm options whose commands, on every
//     target, run with ControlExecutor: csmplan.NewRegistry(pair.CSMOptions())
//     is the registry with every built-in and CSM action.
//   - [Pair.Params] are the params of the default runbook for the pair:
//     its servers, credentials, CA file and target version, maintain_dr
//     when it has a standby, the installer and stop/start commands as
//     [ControlProgram] command lines, and a backup directory the pair owns.
//
// For example, on a virtual clock from package actionstest:
//
//	clk := actionstest.NewClock(actionstest.Epoch)
//	pair := csmtest.NewPairForTest(t, csmtest.Options{Standby: true, Clock: clk,
//		InstallTime: 20 * time.Minute, Faults: []string{csmtest.FaultNoAutoReconnect}})
//	reg, err := csmplan.NewRegistry(pair.CSMOptions())
//	if err != nil { ... }
//	p, err := plan.Parse(csmplan.DefaultRunbookName, csmplan.DefaultRunbook(), plan.WithRegistry(reg))
//	if err != nil { ... }
//	rep, err := runner.Run(ctx, p, runner.Options{Registry: reg, Clock: clk, Params: pair.Params()})
//	// compare rep with go-cmp; pair.Summary(pair.TargetVersion()) sums up the safety monitor
//
// To run the control program as a real process instead (the exec path of
// the csm actions), use the TestMain recipe above with the default
// executor.
package csmtest

// Package devserver runs a Temporal server inside this process, on SQLite,
// as the Temporal CLI's `temporal server start-dev` does: the real server
// modules (go.temporal.io/server), one history shard, the four services
// (frontend, history, matching, worker) on loopback ports, and namespaces
// registered at start.
//
// It is for development and tests on one machine, never for production:
// no TLS, no authorization, no archival, no metrics.
//
// The state is in a SQLite file that survives a restart of the process
// (Config.DBFile), or in memory. The SQLite plugin of the server keeps its
// connections for the life of the process (a process-wide pool keyed by the
// database), so an in-memory database's memory is given back only when the
// process exits, and a file stays open after Stop; two servers of one
// process must not use the same file at the same time.
package devserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// clusterName is the name of the one cluster. A file database records it
// at its first start, so it never changes.
const clusterName = "active"

// readyTimeout bounds how long Start waits for the frontend to answer.
const readyTimeout = time.Minute

// Config says where a dev server keeps its state and listens. The zero
// value is an in-memory server on 127.0.0.1, a free port, namespace
// "default", with its log discarded.
type Config struct {
	// DBFile is the SQLite file that holds the server's state. When it is
	// missing (or empty) it is created with the server's schema; its
	// directory must exist. An existing file keeps its workflows and
	// namespaces across restarts. "" keeps the state in memory, lost at Stop.
	DBFile string
	// IP is the address the frontend listens on; "" means 127.0.0.1. The
	// other services always listen on 127.0.0.1.
	IP string
	// Port is the frontend's gRPC port; 0 picks a free one.
	Port int
	// Namespaces are registered at start when missing; nil means
	// ["default"].
	Namespaces []string
	// Log receives the server's own log lines, warnings and errors only,
	// until Stop begins; nil discards them. Writes come from many
	// goroutines, one at a time.
	Log io.Writer
}

// Server is a running dev server. Stop it when done.
type Server struct {
	server  temporal.Server
	address string
	log     *logWriter // nil when the log is discarded

	stopOnce sync.Once
	stopErr  error
}

// Start starts a dev server and returns once it serves: its frontend
// answers for every namespace of cfg, and so do the matching and history
// services behind it. A port in use, a missing directory of DBFile or a file
// that is not a database of this server is an error that names it.
func Start(cfg Config) (*Server, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Namespaces == nil {
		cfg.Namespaces = []string{"default"}
	}
	for _, ns := range cfg.Namespaces {
		if ns == "" {
			return nil, errors.New("devserver: an empty namespace name")
		}
	}
	if net.ParseIP(cfg.IP) == nil {
		return nil, fmt.Errorf("devserver: the frontend's IP %q is not an IP address", cfg.IP)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("devserver: the frontend's port %d is out of range 0-65535", cfg.Port)
	}
	var logTo *logWriter
	if cfg.Log != nil {
		logTo = &logWriter{w: cfg.Log}
		cfg.Log = logTo
	}
	logger := newLogger(cfg.Log)

	ports, release, err := pickPorts(cfg.IP, cfg.Port)
	if err != nil {
		return nil, err
	}
	defer release()
	frontend := net.JoinHostPort(cfg.IP, strconv.Itoa(ports.frontend))

	sqlConf, err := prepareDB(cfg.DBFile, cfg.Namespaces)
	if err != nil {
		return nil, err
	}

	conf := serverConfig(cfg.IP, ports, sqlConf)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devserver: the authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devserver: the claim mapper: %w", err)
	}
	release() // just before the services listen on them, as they are built
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: building the server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("devserver: starting the server on %s: %w", frontend, err)
	}
	s := &Server{server: srv, address: frontend, log: logTo}
	if err := waitReady(frontend, cfg.Namespaces, cfg.Log); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// Address is the host:port of the frontend, for clients and workers.
func (s *Server) Address() string { return s.address }

// Stop stops the server and waits for its services to end. Stopping again
// returns the first Stop's result. The log lines of the services while they
// stop (polls cut short, peers gone) are dropped: they are expected.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.log != nil {
			s.log.mute()
		}
		if err := s.server.Stop(); err != nil {
			s.stopErr = fmt.Errorf("devserver: stopping the server on %s: %w", s.address, err)
		}
	})
	return s.stopErr
}

// ports are the server's listening ports.
type ports struct {
	frontend int
	// grpc and membership hold the history, matching and worker services'
	// gRPC ports, then the four services' membership ports.
	grpc       [3]int
	membership [4]int
}

// internalPorts is where the services' own ports are picked.
var internalPorts = struct{ lo, hi int }{20000, 32768}

// pickPorts checks that the frontend's port is free (or picks one for 0)
// and picks free loopback ports for the other services. It keeps every
// port's listener open until release is called, so no two ports are the
// same and no other process takes one while the server is being built;
// release just before the services listen. The server itself exits the
// process when it cannot listen, so this check is what turns a port in use
// into an error. release may be called more than once.
func pickPorts(ip string, frontend int) (p ports, release func(), err error) {
	var open []net.Listener
	closeAll := func() {
		for _, l := range open {
			_ = l.Close()
		}
		open = nil
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	free := func() (int, error) {
		// Below the ephemeral range (32768 and up on Linux), at random:
		// the server binds the ports after these listeners close, and a
		// port of that range could meanwhile go to a connection, or to
		// another server starting at the same time, which would make this
		// one exit (the server's services exit the process when they
		// cannot listen).
		for range 64 {
			port := internalPorts.lo + mrand.IntN(internalPorts.hi-internalPorts.lo)
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err == nil {
				open = append(open, l)
				return port, nil
			}
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("devserver: no free port on 127.0.0.1: %w", err)
		}
		open = append(open, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	if frontend == 0 && ip == "127.0.0.1" {
		if p.frontend, err = free(); err != nil {
			return p, nil, err
		}
	} else {
		addr := net.JoinHostPort(ip, strconv.Itoa(frontend))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			if frontend == 0 {
				return p, nil, fmt.Errorf("devserver: no free port for the frontend on %s: %w", ip, err)
			}
			return p, nil, fmt.Errorf("devserver: the frontend's address %s is not free (is another server running?): %w", addr, err)
		}
		open = append(open, l)
		p.frontend = l.Addr().(*net.TCPAddr).Port
	}
	for i := range p.grpc {
		if p.grpc[i], err = free(); err != nil {
			return p, nil, err
		}
	}
	for i := range p.membership {
		if p.membership[i], err = free(); err != nil {
			return p, nil, err
		}
	}
	return p, closeAll, nil
}

// prepareDB returns the SQLite configuration of file ("" = in memory),
// creates the file with its schema when missing or empty, and registers
// the namespaces that are missing.
func prepareDB(file string, namespaces []string) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	what := "the in-memory database"
	if file == "" {
		// A name of its own, so that two servers of one process do not
		// share the in-memory database.
		var b [8]byte
		_, _ = rand.Read(b[:])
		conf.DatabaseName = "devserver-" + hex.EncodeToString(b[:])
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
	} else {
		what = "the database file " + file
		conf.DatabaseName = file
		conf.ConnectAttributes = map[string]string{"mode": "rwc"}
		info, err := os.Stat(file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			dir := filepath.Dir(file)
			if _, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("devserver: %s: its directory %s must exist: %w", what, dir, err)
			}
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("devserver: %s: creating the schema: %w", what, err)
			}
		case err != nil:
			return nil, fmt.Errorf("devserver: %s: %w", what, err)
		case info.IsDir():
			return nil, fmt.Errorf("devserver: %s is a directory", what)
		case info.Size() == 0:
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("devserver: %s: creating the schema: %w", what, err)
			}
		}
	}
	configs := make([]*sqliteschema.NamespaceConfig, 0, len(namespaces))
	for _, ns := range namespaces {
		c, err := sqliteschema.NewNamespaceConfig(clusterName, ns, false, nil)
		if err != nil {
			return nil, fmt.Errorf("devserver: namespace %q: %w", ns, err)
		}
		configs = append(configs, c)
	}
	if err := sqliteschema.CreateNamespaces(conf, configs...); err != nil {
		if file != "" {
			return nil, fmt.Errorf("devserver: %s (is it a database this dev server created?): %w", what, err)
		}
		return nil, fmt.Errorf("devserver: %s: %w", what, err)
	}
	if file != "" {
		if err := forgetMembers(conf); err != nil {
			return nil, fmt.Errorf("devserver: %s: %w", what, err)
		}
	}
	return conf, nil
}

// forgetMembers deletes the cluster membership records of the earlier runs
// on a database. Each service records its host and port there and, at
// start, joins the hosts recorded in the last 20 seconds: after a quick
// restart those are the previous process's ports, where nothing answers,
// and the services would wait for them for a minute or more. One dev server
// is the whole cluster, so every record found before it starts is stale.
func forgetMembers(conf *config.SQL) error {
	db, err := sql.NewSQLDB(sqlplugin.DbKindUnknown, conf, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("opening it: %w", err)
	}
	defer func() { _ = db.Close() }()
	// Live records expire 48 hours after their last heartbeat: a year
	// ahead takes every record.
	filter := &sqlplugin.PruneClusterMembershipFilter{PruneRecordsBefore: time.Now().AddDate(1, 0, 0)}
	if _, err := db.PruneClusterMembership(context.Background(), filter); err != nil {
		return fmt.Errorf("clearing the membership records of earlier runs: %w", err)
	}
	return nil
}

// serverConfig is the static configuration: one cluster, one history
// shard, SQLite for both stores, the frontend on ip and the other services
// on loopback.
func serverConfig(ip string, p ports, sqlConf *config.SQL) *config.Config {
	// The address the server's own clients (the worker service's) use.
	self := net.JoinHostPort(dialHost(ip), strconv.Itoa(p.frontend))
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = "127.0.0.1"
	conf.Persistence.DefaultStore = sqliteplugin.PluginName
	conf.Persistence.VisibilityStore = sqliteplugin.PluginName
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: self},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	loopback := func(grpc, membership int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnLocalHost: true}}
	}
	conf.Services = map[string]config.Service{
		"frontend": {RPC: config.RPC{GRPCPort: p.frontend, MembershipPort: p.membership[0], BindOnIP: ip}},
		"history":  loopback(p.grpc[0], p.membership[1]),
		"matching": loopback(p.grpc[1], p.membership[2]),
		"worker":   loopback(p.grpc[2], p.membership[3]),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = self
	return &conf
}

// dynamicConfig holds the values the CLI's dev server sets that matter
// here: search attributes are read through at once rather than from a
// cache refreshed every minute, as one host has no cache to keep coherent.
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
	}
}

// dialHost is the host to dial for a server listening on ip: loopback for
// the unspecified addresses (0.0.0.0, ::), ip itself otherwise.
func dialHost(ip string) string {
	if parsed := net.ParseIP(ip); parsed != nil && parsed.IsUnspecified() {
		if parsed.To4() != nil {
			return "127.0.0.1"
		}
		return "::1"
	}
	return ip
}

// waitReady dials the frontend and waits, until readyTimeout passes, for
// every namespace to be known and for the matching and history services to
// answer through it (they join the frontend's membership ring a moment
// after it starts listening).
func waitReady(address string, namespaces []string, logTo io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	host, port, _ := net.SplitHostPort(address)
	target := net.JoinHostPort(dialHost(host), port)
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  target,
		Namespace: namespaces[0],
		Logger:    sdkLogger(logTo),
	})
	if err != nil {
		return fmt.Errorf("devserver: the frontend on %s does not answer: %w", address, err)
	}
	defer c.Close()
	svc := c.WorkflowService()
	checks := []struct {
		what string
		call func() error
	}{
		{"the matching service", func() error {
			_, err := svc.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
				Namespace: namespaces[0],
				TaskQueue: &taskqueuepb.TaskQueue{Name: "devserver-ready", Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			})
			return err
		}},
		{"the history service", func() error {
			_, err := svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
				Namespace: namespaces[0],
				Execution: &commonpb.WorkflowExecution{WorkflowId: "devserver-ready"},
			})
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				return nil // answered: no such workflow
			}
			return err
		}},
	}
	for _, ns := range namespaces {
		checks = append(checks, struct {
			what string
			call func() error
		}{fmt.Sprintf("namespace %q", ns), func() error {
			_, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
			return err
		}})
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for _, check := range checks {
		for {
			err := check.call()
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("devserver: the frontend on %s does not answer for %s after %v: %w", address, check.what, readyTimeout, err)
			case <-tick.C:
			}
		}
	}
	return nil
}

// newLogger is the server's logger: warnings and errors to w, or nothing.
func newLogger(w io.Writer) log.Logger {
	if w == nil {
		return log.NewNoopLogger()
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), zapcore.WarnLevel)
	return log.NewZapLogger(zap.New(core))
}

// sdkLogger is the readiness client's logger: warnings and errors to w, or
// nothing (the SDK's default would print to stdout).
func sdkLogger(w io.Writer) sdklog.Logger {
	if w == nil {
		w = io.Discard
	}
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// logWriter is Config.Log as the server's loggers share it: writes are
// serialized, and dropped once muted.
type logWriter struct {
	mu    sync.Mutex
	w     io.Writer
	muted bool
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.muted {
		return len(p), nil
	}
	return l.w.Write(p)
}

func (l *logWriter) mute() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.muted = true
}

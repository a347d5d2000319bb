package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/csmplan/csmplan/temporal/devserver"
)

const devUsage = `Usage: csmplan-temporal dev [--db FILE] [--ip IP] [--port N] [--namespace NS]

Runs a Temporal server on this machine, on SQLite, for development and tests
(as "temporal server start-dev" does), until Ctrl-C. Workers and runs connect
to the address it prints. Not for production: no TLS, no authorization.

Flags:
  --db FILE         the SQLite file that keeps the server's state (workflows,
                    namespaces) across restarts; created when missing, in a
                    directory that must exist. Default: in memory, lost at exit.
  --ip IP           the address the frontend listens on (default 127.0.0.1;
                    0.0.0.0 for every interface)
  --port N          the frontend's gRPC port (default 7233; 0 picks a free one)
  --namespace NS    the namespace registered at start when missing
                    (default "default")
`

// cmdDev runs `csmplan-temporal dev [--db FILE] [--ip IP] [--port N] [--namespace NS]`.
func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("csmplan-temporal dev", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(flags.Output(), devUsage) }
	db := flags.String("db", "", "the SQLite `FILE` of the server's state")
	ip := flags.String("ip", "127.0.0.1", "the frontend's `IP` address")
	port := flags.Int("port", 7233, "the frontend's gRPC port `N`")
	namespace := flags.String("namespace", "default", "the namespace `NS` registered at start")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "csmplan-temporal dev: unexpected arguments %q\n", flags.Args())
		flags.Usage()
		return 2
	}

	s, err := devserver.Start(devserver.Config{
		DBFile:     *db,
		IP:         *ip,
		Port:       *port,
		Namespaces: []string{*namespace},
		Log:        stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "csmplan-temporal dev: %v\n", err)
		return 1
	}
	where := "db " + *db
	if *db == "" {
		where = "db in memory"
	}
	fmt.Fprintf(stdout, "temporal dev server listening on %s (namespace %s, %s)\n", s.Address(), *namespace, where)
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	if *db == "" {
		fmt.Fprintln(stdout, "The state is in memory: it is lost at exit (--db FILE keeps it).")
	}
	<-ctx.Done()
	if err := s.Stop(); err != nil {
		fmt.Fprintf(stderr, "csmplan-temporal dev: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "temporal dev server stopped")
	return 0
}

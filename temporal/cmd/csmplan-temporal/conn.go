package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
)

// DefaultAddress is the dev server's (and the Temporal CLI's) frontend.
const DefaultAddress = "127.0.0.1:7233"

// conn are the flags that say which Temporal to talk to.
type conn struct {
	address, namespace        string
	tlsCA, tlsCert, tlsKey    string
	tlsServerName, apiKeyFile string
	verbose                   bool
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// add declares the flags on fs, with their defaults from the environment.
func (c *conn) add(fs *flag.FlagSet) {
	fs.StringVar(&c.address, "address", envOr("TEMPORAL_ADDRESS", DefaultAddress), "the Temporal frontend, HOST:PORT (env TEMPORAL_ADDRESS)")
	fs.StringVar(&c.namespace, "namespace", envOr("TEMPORAL_NAMESPACE", "default"), "the Temporal namespace (env TEMPORAL_NAMESPACE)")
	fs.StringVar(&c.tlsCA, "tls-ca", os.Getenv("TEMPORAL_TLS_CA"), "a PEM `FILE` of the CAs that sign the frontend's certificate; turns TLS on (env TEMPORAL_TLS_CA)")
	fs.StringVar(&c.tlsCert, "tls-cert", os.Getenv("TEMPORAL_TLS_CERT"), "the client certificate `FILE` (PEM) for mutual TLS; turns TLS on (env TEMPORAL_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", os.Getenv("TEMPORAL_TLS_KEY"), "the client key `FILE` (PEM) of --tls-cert (env TEMPORAL_TLS_KEY)")
	fs.StringVar(&c.tlsServerName, "tls-server-name", os.Getenv("TEMPORAL_TLS_SERVER_NAME"), "the name the frontend's certificate must hold, when not the --address host (env TEMPORAL_TLS_SERVER_NAME)")
	fs.StringVar(&c.apiKeyFile, "api-key-file", "", "a `FILE` holding an API key (Temporal Cloud); turns TLS on. The key may also be in env TEMPORAL_API_KEY")
	fs.BoolVar(&c.verbose, "verbose", false, "log what the Temporal SDK says at info level (default: warnings only)")
}

// command is the command line of `csmplan-temporal VERB ... ID` with the
// address and namespace of c when they are not the defaults: what the
// operator types next.
func (c *conn) command(verb, id string) string {
	line := prog + " " + verb
	if c.address != DefaultAddress {
		line += " --address " + c.address
	}
	if c.namespace != "default" {
		line += " --namespace " + c.namespace
	}
	return line + " " + id
}

// tlsConfig returns the TLS configuration the flags ask for; nil: plain.
func (c *conn) tlsConfig(apiKey bool) (*tls.Config, error) {
	if c.tlsCA == "" && c.tlsCert == "" && c.tlsKey == "" && c.tlsServerName == "" && !apiKey {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.tlsServerName}
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", c.tlsCA)
		}
		cfg.RootCAs = pool
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// dial connects to Temporal, logging what the SDK says to stderr.
func (c *conn) dial(ctx context.Context, stderr io.Writer) (client.Client, error) {
	key := os.Getenv("TEMPORAL_API_KEY")
	if c.apiKeyFile != "" {
		b, err := os.ReadFile(c.apiKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--api-key-file: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	tlsCfg, err := c.tlsConfig(key != "")
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelInfo
	}
	opts := client.Options{
		HostPort:          c.address,
		Namespace:         c.namespace,
		Logger:            log.NewStructuredLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))),
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
	}
	if key != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(key)
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		hint := ""
		if c.address == DefaultAddress {
			hint = fmt.Sprintf(" (is `%s dev` running?)", prog)
		}
		return nil, fmt.Errorf("cannot reach Temporal at %s, namespace %s%s: %w", c.address, c.namespace, hint, err)
	}
	return cl, nil
}

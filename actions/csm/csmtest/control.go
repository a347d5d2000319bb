package csmtest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// ControlPath is the path of the control endpoint, outside the REST API:
// POST with form fields key (the pair's control key), op (install, stop or
// start) and version (for install). It answers JSON {"ok": bool,
// "message": string}, HTTP 200 on success.
const ControlPath = "/csmtest/control"

// ControlProgram is the name ControlMain uses in its messages.
const ControlProgram = "csmtest-control"

// controlReply is the reply of the control endpoint (simulator-only wire
// type, not part of the CSM API).
type controlReply struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, controlReply{Message: "use POST"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, controlReply{Message: "the form body cannot be parsed"})
		return
	}
	p := s.p
	if !equalSecret(r.PostForm.Get("key"), p.opts.ControlKey) {
		writeJSON(w, http.StatusForbidden, controlReply{Message: "wrong control key"})
		return
	}
	p.mu.Lock()
	p.advanceLocked()
	status, msg := p.controlLocked(s, r.PostForm.Get("op"), r.PostForm.Get("version"))
	p.checkLocked()
	p.advanceLocked() // an InstallTime of zero completes at once
	p.mu.Unlock()
	writeJSON(w, status, controlReply{OK: status == http.StatusOK, Message: msg})
}

// ControlMain is the main function of the control program that stands in
// for the real installer and the site's stop/start scripts:
//
//	PROG install --version V --ca FILE --key-file KEYFILE
//	PROG stop --ca FILE --key-file KEYFILE
//	PROG start --ca FILE --key-file KEYFILE
//
// KEYFILE holds the pair's control key ([Pair.ControlKeyFile]); the key is
// read from a file so that it never shows on a command line (ps, logs).
//
// args are the arguments after the program name (and after any prefix the
// program uses to recognise the call, see [Pair.InstallerArgv]). CSM_HOST
// and CSM_PORT from getenv (nil: os.Getenv) name the server to act on. As
// the csm actions set them, CSM_TARGET_VERSION stands in for a missing
// --version of install, and CSM_SERVER_OP for a missing operation. It
// posts the operation to the server's control endpoint over TLS verified with
// the CA file, prints what it did on stdout and returns 0; on failure it
// prints a message on stderr and returns 1 (2 for a usage error). An
// optional --timeout (default 30s, real time) bounds the request.
func ControlMain(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if getenv == nil {
		getenv = os.Getenv
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, ControlProgram+": "+format+"\n", a...)
		fmt.Fprintln(stderr, "usage: "+ControlProgram+" install --version V --ca FILE --key-file KEYFILE | stop --ca FILE --key-file KEYFILE | start --ca FILE --key-file KEYFILE (CSM_HOST and CSM_PORT name the server; CSM_TARGET_VERSION and CSM_SERVER_OP may stand in for --version and the operation)")
		return 2
	}
	op := getenv("CSM_SERVER_OP")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		op, args = args[0], args[1:]
	}
	switch op {
	case "install", "stop", "start":
	case "":
		return usage("missing operation: install, stop or start (first argument, or CSM_SERVER_OP)")
	default:
		return usage("unknown operation %q: want install, stop or start", op)
	}
	fs := flag.NewFlagSet(ControlProgram+" "+op, flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "the version to install (install only)")
	caFile := fs.String("ca", "", "PEM file of the simulator's CA")
	keyFile := fs.String("key-file", "", "file that holds the control key of the simulated pair")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of the request (real time)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if op == "install" && *version == "" {
		*version = getenv("CSM_TARGET_VERSION")
	}
	switch {
	case fs.NArg() > 0:
		return usage("%s: unexpected argument %q", op, fs.Arg(0))
	case *caFile == "":
		return usage("%s: --ca is required", op)
	case *keyFile == "":
		return usage("%s: --key-file is required", op)
	case op == "install" && *version == "":
		return usage("install: --version (or CSM_TARGET_VERSION) is required")
	case op != "install" && *version != "":
		return usage("%s: --version is only for install", op)
	case *timeout <= 0:
		return usage("%s: --timeout must be positive", op)
	}
	host, port := getenv("CSM_HOST"), getenv("CSM_PORT")
	if host == "" || port == "" {
		return usage("%s: CSM_HOST and CSM_PORT must name the server (CSM_HOST=%q, CSM_PORT=%q)", op, host, port)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return usage("%s: CSM_PORT=%q is not a port number", op, port)
	}
	keyData, err := os.ReadFile(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s: the control key: %v\n", ControlProgram, op, err)
		return 1
	}
	key := strings.TrimSpace(string(keyData))
	addr := net.JoinHostPort(host, port)
	msg, err := control(addr, *caFile, *timeout, url.Values{"key": {key}, "op": {op}, "version": {*version}})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s on %s: %v\n", ControlProgram, op, addr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s on %s: %s\n", ControlProgram, op, addr, msg)
	return 0
}

// control posts a control operation and returns the server's message.
func control(addr, caFile string, timeout time.Duration, form url.Values) (string, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return "", fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return "", fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
		},
	}
	defer client.CloseIdleConnections()
	resp, err := client.PostForm("https://"+addr+ControlPath, form)
	if err != nil {
		return "", fmt.Errorf("control request: %w", err)
	}
	defer resp.Body.Close()
	var rep controlReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&rep); err != nil {
		return "", fmt.Errorf("control reply (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || !rep.OK {
		if rep.Message == "" {
			rep.Message = "failed"
		}
		return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, rep.Message)
	}
	return rep.Message, nil
}

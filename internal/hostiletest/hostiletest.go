// Package hostiletest provides an HTTP(S) server on loopback for tests that
// plays a hostile or broken server, as net/http/httptest does for a
// well-behaved one.
//
// A [Server] answers each path from a script of [Reply] values: redirects
// to another listener, bodies holding terminal escape sequences
// ([TerminalSpoof]), oversized bodies ([Reply.Size]) and bodies that drip
// at the pace the test sets ([Reply.Tick]). It records every request it
// receives, so that a test can check what a client sent where:
//
//	a := hostiletest.NewTLSServer(t)
//	b := hostiletest.NewServer(t) // the "other host"
//	a.Script("/", hostiletest.Redirect(http.StatusFound, b.URL+"/stolen"))
//	// ... make the client under test request a.URL+"/" ...
//	for _, r := range b.Requests() { /* r.Header must hold no secret */ }
//
// Nothing waits on a timer: a test that needs to know a request arrived
// receives from [Server.Arrived].
//
// A server that echoes a secret echoes it encoded: [Encodings] lists the
// forms a secret takes (JSON-escaped, quoted, URL-escaped, base64...), and
// [FindSecret] looks for any of them, or a piece of one, in what a client
// wrote.
package hostiletest

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TerminalSpoof is a body that, printed raw on a terminal, clears the
// screen and shows a fake message in red. A client must escape it before
// it reaches a screen or a report.
const TerminalSpoof = "\x1b[2J\x1b[31m FAKE: upgrade complete"

// MaxRecordedBody is the most bytes of a request body that a [Request]
// keeps.
const MaxRecordedBody = 1 << 20

// Reply is one scripted response. Its body is written in this order: Body,
// then filler up to Size bytes, then Pieces.
type Reply struct {
	// Status is the status code; zero means 200 OK.
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body is written first.
	Body string
	// Size, when larger than len(Body), pads the body with 'x' bytes up to
	// Size bytes in all, written piece by piece: an oversized body costs no
	// memory. Zero means no padding.
	Size int64
	// Pieces are written after Body and the padding, each flushed to the
	// client at once.
	Pieces []string
	// Tick, when not nil, paces Pieces: each piece is written after a
	// receive from Tick, so that the test, not a timer, sets the pace of a
	// slow drip. The reply stops unfinished when the request is cancelled
	// or the server closes. Nil writes the pieces at once.
	Tick <-chan struct{}
}

// Redirect returns a reply with the status (such as 302) and a Location
// header.
func Redirect(status int, location string) Reply {
	return Reply{Status: status, Header: http.Header{"Location": {location}}}
}

// Request is a request the server received.
type Request struct {
	Method string
	// URI is the request target as sent: path and query.
	URI  string
	Host string
	// Header holds the request headers (Host is in Host).
	Header http.Header
	// Body holds at most MaxRecordedBody bytes of the body.
	Body []byte
	// TLS reports whether the request came over TLS.
	TLS bool
}

// Server is a scripted HTTP(S) test server on loopback. Its methods are
// safe for concurrent use.
type Server struct {
	*httptest.Server
	// CAFile is the path of a PEM file holding the certificate that
	// verifies a TLS server; "" for a plain HTTP server. Every TLS server
	// of net/http/httptest, this package's included, uses the same
	// certificate, so one CAFile verifies them all.
	CAFile string

	mu       sync.Mutex
	scripts  map[string]*script
	requests []Request
	arrived  chan Request
	done     chan struct{}
	doneOnce sync.Once
}

type script struct {
	replies []Reply
	n       int
}

// arrivedBuffer is how many requests Arrived holds for a test that does not
// receive them.
const arrivedBuffer = 64

// NewServer starts a plain HTTP server, closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := newServer()
	s.Server.Start()
	t.Cleanup(s.Close)
	return s
}

// NewTLSServer starts an HTTPS server, closed when the test ends; CAFile
// verifies its certificate.
func NewTLSServer(t testing.TB) *Server {
	t.Helper()
	s := newServer()
	s.Server.StartTLS()
	t.Cleanup(s.Close)
	s.CAFile = filepath.Join(t.TempDir(), "hostiletest-ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, cert, 0o600); err != nil {
		t.Fatalf("hostiletest: %v", err)
	}
	return s
}

func newServer() *Server {
	s := &Server{
		scripts: map[string]*script{},
		arrived: make(chan Request, arrivedBuffer),
		done:    make(chan struct{}),
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Clients that refuse the certificate or hang up are expected here.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	return s
}

// Close stops the server: replies waiting on a Tick stop unfinished, then
// it waits for the handlers to return. Closing twice is harmless.
func (s *Server) Close() {
	s.doneOnce.Do(func() { close(s.done) })
	s.Server.Close()
}

// Script sets the replies to requests for path (the URL path, without the
// query): the n-th request gets replies[n], and the last reply repeats. A
// path without a script is answered 404 Not Found.
func (s *Server) Script(path string, replies ...Reply) {
	if len(replies) == 0 {
		panic("hostiletest: Script " + path + " without a reply")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[path] = &script{replies: replies}
}

// Requests returns the requests received so far, in order of arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Arrived delivers each request as it arrives, before it is answered. It
// buffers the last requests a test did not receive, up to 64; Requests
// keeps them all.
func (s *Server) Arrived() <-chan Request { return s.arrived }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxRecordedBody))
	req := Request{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(), Body: body, TLS: r.TLS != nil}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var reply Reply
	sc, ok := s.scripts[r.URL.Path]
	if ok {
		reply = sc.replies[min(sc.n, len(sc.replies)-1)]
		sc.n++
	}
	s.mu.Unlock()
	select {
	case s.arrived <- req:
	default:
	}
	if !ok {
		http.Error(w, fmt.Sprintf("hostiletest: no reply scripted for %s", r.URL.Path), http.StatusNotFound)
		return
	}
	s.write(w, r, reply)
}

// write sends reply, stopping early when the client or the server goes.
func (s *Server) write(w http.ResponseWriter, r *http.Request, reply Reply) {
	for k, v := range reply.Header {
		w.Header()[k] = append([]string(nil), v...)
	}
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if _, err := io.WriteString(w, reply.Body); err != nil {
		return
	}
	if pad := reply.Size - int64(len(reply.Body)); pad > 0 {
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for pad > 0 {
			n := min(pad, int64(len(chunk)))
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			pad -= n
		}
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for _, p := range reply.Pieces {
		if reply.Tick != nil {
			select {
			case <-reply.Tick:
			case <-r.Context().Done():
				return
			case <-s.done:
				return
			}
		}
		if _, err := io.WriteString(w, p); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

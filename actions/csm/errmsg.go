package csm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
)

// ConfigError is a problem with a field of a client [Config], such as a
// CAFile that cannot be read. The CSM actions name the target field that
// feeds it (ca_file) instead.
type ConfigError struct {
	Field string // the Config field, such as "CAFile"
	Err   error
}

// Error returns "csm: config: FIELD: problem".
func (e *ConfigError) Error() string { return "csm: config: " + e.Field + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *ConfigError) Unwrap() error { return e.Err }

// targetFieldOf is the target field that sets each Config field.
var targetFieldOf = map[string]string{
	"Host": "host", "Port": "port", "Username": "username", "Password": "password",
	"CAFile": "ca_file", "Fingerprint": "fingerprint", "Insecure": "insecure",
}

// pathCause is what an os error says is wrong with its file, without Go's
// operation ("open", "stat").
func pathCause(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// plainError is a failure said plainly: its text is msg, and it wraps
// the error it says (of a library, or with Go names in it).
type plainError struct {
	msg string
	err error
}

func (e *plainError) Error() string { return e.msg }
func (e *plainError) Unwrap() error { return e.err }

// plainNet returns err, the failure of an HTTP request, without the Go
// request line that net/http puts around it (`Post "https://...": `) and
// with the common causes said plainly: a host name that does not resolve,
// a connection refused, no answer in time.
func plainNet(err error, timeout string) error {
	inner := err
	if ue, ok := errors.AsType[*url.Error](err); ok {
		inner = ue.Err
	}
	var dns *net.DNSError
	switch {
	case errors.As(inner, &dns) && dns.IsNotFound:
		return &plainError{msg: fmt.Sprintf("the host name %s does not resolve (no such host)", dns.Name), err: inner}
	case errors.Is(inner, syscall.ECONNREFUSED):
		return &plainError{msg: "connection refused (is the server up, and is this its REST port?)", err: inner}
	case errors.Is(inner, context.DeadlineExceeded) || isTimeout(inner):
		return &plainError{msg: "no answer within " + timeout, err: inner}
	}
	return inner
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// tlsCause says what is wrong with a server's certificate, without the
// library's prefixes ("tls: failed to verify certificate: x509: ").
func tlsCause(err error) string {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return "the server does not speak TLS on this port"
	}
	msg := err.Error()
	for _, p := range []string{"tls: failed to verify certificate: ", "x509: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// startCause is why a command could not be started on this machine, said
// plainly ("cannot start it: no such file or directory"), without the
// executor's and Go's words around it ("remote: local: start X: fork/exec
// X: "); other errors are returned as they are.
func startCause(err error) error {
	if ee, ok := errors.AsType[*exec.Error](err); ok {
		if errors.Is(ee.Err, exec.ErrNotFound) {
			return &plainError{msg: "cannot start it: not found in PATH", err: err}
		}
		return &plainError{msg: "cannot start it: " + ee.Err.Error(), err: err}
	}
	if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Op == "fork/exec" {
		return &plainError{msg: "cannot start it: " + pe.Err.Error(), err: err}
	}
	return err
}

// refusal is what the server said when it refused a login (its message
// id and text), without the request that the message around it names
// already.
func refusal(err error) error {
	ae, ok := errors.AsType[*APIError](err)
	if !ok {
		return err
	}
	text := ae.Text
	if ae.Msg != "" && !strings.HasPrefix(text, ae.Msg) {
		text = strings.TrimSuffix(ae.Msg+": "+text, ": ")
	}
	return &plainError{msg: fmt.Sprintf("%s (HTTP %d)", text, ae.StatusCode), err: err}
}

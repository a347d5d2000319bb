package csm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestPlainMessages(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return &url.Error{Op: "Post", URL: "https://h:9559/CSM/web/x", Err: err} }
	for _, tc := range []struct {
		err  error
		want string
		is   error
	}{
		{wrap(&net.DNSError{Name: "csm1.invalid", Err: "no such host", IsNotFound: true}), "the host name csm1.invalid does not resolve (no such host)", nil},
		{wrap(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), "connection refused (is the server up, and is this its REST port?)", syscall.ECONNREFUSED},
		{wrap(fmt.Errorf("awaiting headers: %w", context.DeadlineExceeded)), "no answer within 30s", context.DeadlineExceeded},
		{wrap(errors.New("EOF")), "EOF", nil},
	} {
		got := plainNet(tc.err, "30s")
		if got.Error() != tc.want || tc.is != nil && !errors.Is(got, tc.is) {
			t.Errorf("plainNet(%v) = %v, want %q", tc.err, got, tc.want)
		}
	}
	if got := tlsCause(wrap(fmt.Errorf("tls: failed to verify certificate: %w", errors.New("x509: certificate signed by unknown authority")))); got != "certificate signed by unknown authority" {
		t.Errorf("tlsCause = %q", got)
	}
	if got := tlsCause(wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"})); !strings.Contains(got, "does not speak TLS") {
		t.Errorf("tlsCause of a plain HTTP server = %q", got)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("remote: local: start x: %w", &exec.Error{Name: "x", Err: exec.ErrNotFound}), "cannot start it: not found in PATH"},
		{fmt.Errorf("remote: local: start x: %w", &exec.Error{Name: "x", Err: os.ErrPermission}), "cannot start it: permission denied"},
		{fmt.Errorf("remote: local: start /x: %w", &os.PathError{Op: "fork/exec", Path: "/x", Err: syscall.ENOENT}), "cannot start it: no such file or directory"},
		{errors.New("ssh: lost"), "ssh: lost"},
	} {
		if got := startCause(tc.err); got.Error() != tc.want || !errors.Is(got, tc.err) && got != tc.err {
			t.Errorf("startCause(%v) = %v, want %q", tc.err, got, tc.want)
		}
	}
	_, err := New(Config{Host: "h", CAFile: "/nonexistent/ca.pem"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "CAFile" || err.Error() != "csm: config: CAFile: /nonexistent/ca.pem: no such file or directory" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing CAFile: %v", err)
	}
	_, err = resolveAndConnect(t, map[string]any{"host": "h", "ca_file": "/nonexistent/ca.pem"})
	if err == nil || err.Error() != `target "csm1": ca_file: /nonexistent/ca.pem: no such file or directory` || !errors.As(err, &ce) {
		t.Errorf("missing ca_file: %v", err)
	}
}

func resolveAndConnect(t *testing.T, fields map[string]any) (*session, error) {
	t.Helper()
	p := &plugin{}
	return p.connect(context.Background(), newCall("csm.ha", fields, newFakeClock(), nil), false)
}

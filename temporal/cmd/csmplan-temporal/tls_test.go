package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/temporal/devserver"
)

// pki writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, PEM, in dir, and returns the server's.
func pki(t *testing.T, dir string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write("ca.pem", "CERTIFICATE", caDER)
	issue := func(serial int64, name string, usage x509.ExtKeyUsage, ips []net.IP) (tls.Certificate, []byte, []byte) {
		k := key()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(k)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, der, kder
	}
	srv, _, _ := issue(2, "frontend", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	_, cder, ckey := issue(3, "operator", x509.ExtKeyUsageClientAuth, nil)
	write("client.pem", "CERTIFICATE", cder)
	write("client.key", "EC PRIVATE KEY", ckey)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return srv, pool
}

// The connection flags speak real mutual TLS: a TLS front (on loopback,
// requiring a client certificate of the CA) before a dev server answers
// status with the CA and the client certificate, and refuses it without.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a guard only
	defer cancel()
	dir := t.TempDir()
	srvCert, clients := pki(t, dir)
	srv, err := devserver.Start(devserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: clients, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).HandshakeContext(ctx); err != nil {
					return
				}
				b, err := net.Dial("tcp", srv.Address())
				if err != nil {
					return
				}
				defer b.Close()
				go func() { _, _ = io.Copy(b, c); b.Close() }()
				_, _ = io.Copy(c, b)
			}()
		}
	}()
	addr := ln.Addr().String()
	tlsArgs := []string{"--tls-ca", filepath.Join(dir, "ca.pem"), "--tls-cert", filepath.Join(dir, "client.pem"), "--tls-key", filepath.Join(dir, "client.key")}
	st := start(t, ctx, dir, temporalBin, append([]string{"status", "--address", addr, "no-such-run"}, tlsArgs...)...)
	if code := st.exitCode(); code != exitFailed || !strings.Contains(st.output(), "no workflow no-such-run in namespace default") {
		t.Errorf("status over mutual TLS: exit %d: %v", code, st)
	}
	st = start(t, ctx, dir, temporalBin, "status", "--address", addr, "--tls-ca", filepath.Join(dir, "ca.pem"), "no-such-run")
	if code := st.exitCode(); code != exitFailed || !strings.Contains(st.output(), "cannot reach Temporal at "+addr) {
		t.Errorf("status without a client certificate: exit %d: %v", code, st)
	}
	st = start(t, ctx, dir, temporalBin, "status", "--address", addr, "--tls-cert", filepath.Join(dir, "client.pem"), "no-such-run")
	if code := st.exitCode(); code != exitFailed || !strings.Contains(st.output(), "--tls-cert and --tls-key go together") {
		t.Errorf("--tls-cert alone: exit %d: %v", code, st)
	}
}

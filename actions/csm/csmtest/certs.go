package csmtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// authority is the in-memory CA that signs the servers' certificates.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// CA is a certificate authority that signs the certificates of simulated
// servers; pairs created with the same Options.CA share it. It is safe for
// concurrent use.
type CA struct{ a *authority }

// NewCA makes a new CA (a new key).
func NewCA() (*CA, error) {
	a, err := newAuthority()
	if err != nil {
		return nil, err
	}
	return &CA{a: a}, nil
}

// PEM returns the CA's certificate in PEM.
func (c *CA) PEM() []byte { return slices.Clone(c.a.pem) }

// Certificates are checked by crypto/tls against the wall clock, not
// Options.Clock: their validity is generous on both sides of time.Now.
const certSlack = 24 * time.Hour

func newAuthority() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("csmtest: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "csmtest simulated CSM CA", Organization: []string{"csmplan"}},
		NotBefore:             now.Add(-certSlack),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("csmtest: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("csmtest: CA certificate: %w", err)
	}
	return &authority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// leaf returns a server certificate for the servers' loopback addresses
// and localhost, signed by the CA.
func (a *authority) leaf(name string) (tls.Certificate, error) {
	return serverCert(name, "csmtest "+name, loopbackIPs(), a)
}

func loopbackIPs() []net.IP {
	var ips []net.IP
	for _, h := range serverHosts {
		ips = append(ips, net.ParseIP(h))
	}
	return ips
}

// selfSigned returns a new self-signed certificate for host and localhost,
// as an upgrade that regenerates a server's certificate would leave.
func selfSigned(name, host string) (tls.Certificate, error) {
	return serverCert(name, "csmtest "+name+" (renewed, self-signed)", []net.IP{net.ParseIP(host)}, nil)
}

// serverCert makes a server certificate for ips and localhost with a new
// key, signed by ca, or by itself when ca is nil.
func serverCert(name, cn string, ips []net.IP, ca *authority) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("csmtest: %s key: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"csmplan"}},
		NotBefore:    now.Add(-certSlack),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  ips,
		DNSNames:     []string{"localhost"},
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.cert, ca.key
	} else {
		// A self-signed certificate is its own CA.
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("csmtest: %s certificate: %w", name, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

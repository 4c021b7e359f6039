package web

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSelfSignedCert(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.dir, "tls")
	certPEM, err := os.ReadFile(filepath.Join(dir, certFileName))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, keyFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem: %v %v", fi, err)
	}
	cert := peerCert(t, e.srv.Addr())
	if !cert.NotAfter.After(e.clock.Now().Add(9*365*24*time.Hour)) || cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("certificate %v %v", cert.NotAfter, cert.PublicKeyAlgorithm)
	}
	if err := cert.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := cert.VerifyHostname("::1"); err != nil {
		t.Error(err)
	}
	if host, _ := os.Hostname(); host != "" {
		if err := cert.VerifyHostname(host); err != nil {
			t.Error(err)
		}
	}

	// A restart reuses the same certificate.
	o := DefaultOptions()
	o.Addr, o.TLSDir, o.Now = "127.0.0.1:0", dir, e.clock.Now
	e.start(o)
	again, err := os.ReadFile(filepath.Join(dir, certFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(certPEM, again) || !bytes.Equal(peerCert(t, e.srv.Addr()).Raw, cert.Raw) {
		t.Fatal("certificate changed on restart")
	}
}

func TestSelfSignedHalf(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, keyFileName), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := selfSigned(dir, time.Now()); err == nil {
		t.Fatal("a key without a certificate was accepted or replaced")
	}
}

func TestSuppliedCert(t *testing.T) {
	e := newEnv(t)
	certPEM, keyPEM, err := generateCert(e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Addr, o.CertFile, o.KeyFile, o.Now = "127.0.0.1:0", certFile, keyFile, e.clock.Now
	e.start(o)
	want, _ := tls.X509KeyPair(certPEM, keyPEM)
	if got := peerCert(t, e.srv.Addr()); !bytes.Equal(got.Raw, want.Certificate[0]) {
		t.Fatal("server does not use the supplied certificate")
	}
	if r := e.do(req{method: "GET", path: "/api/v1/openapi.json"}); r.status != 200 {
		t.Fatalf("openapi over the supplied cert: %d", r.status)
	}

	o.KeyFile = certFile // not a key
	srv, err := New(e.api, e.state, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context()); err == nil {
		srv.Shutdown(t.Context())
		t.Fatal("started with a bad key")
	}
}

func peerCert(t *testing.T, addr string) *x509.Certificate {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

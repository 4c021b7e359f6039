package web

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestServesCertificate: the server presents the certificate it is given
// (the appliance package makes and keeps it; its tests cover that), the
// same one after a restart over the same TLS directory.
func TestServesCertificate(t *testing.T) {
	e := newEnv(t)
	cert := peerCert(t, e.srv.Addr())
	o := DefaultOptions()
	o.Addr, o.Now = "127.0.0.1:0", e.clock.Now
	o.Certificate = testCert(t, filepath.Join(e.dir, "tls"))
	e.start(o)
	if !bytes.Equal(peerCert(t, e.srv.Addr()).Raw, cert.Raw) {
		t.Fatal("certificate changed on restart")
	}

	other := testCert(t, t.TempDir())
	o.Certificate = other
	e.start(o)
	if got := peerCert(t, e.srv.Addr()); !bytes.Equal(got.Raw, other.Certificate[0]) {
		t.Fatal("server does not use the supplied certificate")
	}
	if r := e.do(req{method: "GET", path: "/api/v1/openapi.json"}); r.status != 200 {
		t.Fatalf("openapi over the supplied cert: %d", r.status)
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

package appliance

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSelfSignedCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	c, err := certificate("", "", dir, now)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, certFileName))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, keyFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem: %v %v", fi, err)
	}
	cert, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.After(now.Add(9*365*24*time.Hour)) || cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("certificate %v %v", cert.NotAfter, cert.PublicKeyAlgorithm)
	}
	names := []string{"localhost", "127.0.0.1", "::1"}
	if host, _ := os.Hostname(); host != "" {
		names = append(names, host)
	}
	for _, n := range names {
		if err := cert.VerifyHostname(n); err != nil {
			t.Error(err)
		}
	}

	// A restart reuses the same certificate.
	again, err := Certificate("", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, certFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(certPEM, onDisk) || !bytes.Equal(again.Certificate[0], c.Certificate[0]) {
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
	certPEM, keyPEM, err := generateCert(time.Now())
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
	tlsDir := filepath.Join(dir, "tls")
	got, err := Certificate(certFile, keyFile, tlsDir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tls.X509KeyPair(certPEM, keyPEM)
	if !bytes.Equal(got.Certificate[0], want.Certificate[0]) {
		t.Fatal("not the supplied certificate")
	}
	if _, err := os.Stat(tlsDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a self-signed certificate was made beside the supplied one: %v", err)
	}

	for _, tc := range []struct{ name, cert, key, dir string }{
		{"not a key", certFile, certFile, tlsDir},
		{"cert without key", certFile, "", tlsDir},
		{"key without cert", "", keyFile, tlsDir},
		{"nothing at all", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Certificate(tc.cert, tc.key, tc.dir); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

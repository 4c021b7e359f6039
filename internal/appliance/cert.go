package appliance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files of the self-signed certificate in the TLS directory.
const (
	certFileName = "cert.pem"
	keyFileName  = "key.pem"
)

// certLifetime is how long a self-signed certificate is valid.
const certLifetime = 10 * 365 * 24 * time.Hour

// selfSigned loads cert.pem and key.pem from dir, generating them if
// neither exists.
func selfSigned(dir string, now time.Time) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, certFileName), filepath.Join(dir, keyFileName)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return cert, fmt.Errorf("appliance: load self-signed certificate in %s: %w", dir, err)
		}
		return cert, nil
	case !errors.Is(certErr, fs.ErrNotExist) || !errors.Is(keyErr, fs.ErrNotExist):
		return tls.Certificate{}, fmt.Errorf("appliance: %s: need both %s and %s, or neither to make new ones: %w",
			dir, certFileName, keyFileName, errors.Join(certErr, keyErr))
	}
	certPEM, keyPEM, err := generateCert(now)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("appliance: tls directory: %w", err)
	}
	// The key first: a crash between the two leaves only a key, which the
	// next start reports rather than silently replaces.
	if err := writePEM(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return cert, fmt.Errorf("appliance: generated certificate: %w", err)
	}
	return cert, nil
}

// generateCert makes an ECDSA P-256 certificate for this host, localhost
// and the loopback addresses, valid for 10 years.
func generateCert(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("appliance: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("appliance: serial number: %w", err)
	}
	host, _ := os.Hostname()
	names := []string{"localhost"}
	if host != "" && host != "localhost" {
		names = append([]string{host}, names...)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"Backstop appliance"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("appliance: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("appliance: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writePEM writes a temporary file in the same directory, syncs it
// and renames it over path.
func writePEM(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("appliance: write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("appliance: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("appliance: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("appliance: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("appliance: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("appliance: write %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Certificate is the appliance's TLS certificate, which the web server,
// Catalyst and replication share: certFile and keyFile (PEM) when the
// admin gives them, else the self-signed one in tlsDir (DATA/tls), made on
// first use: cert.pem and key.pem (ECDSA P-256, PKCS#8, mode 0600), valid
// for 10 years, for this host, localhost and the loopback addresses.
func Certificate(certFile, keyFile, tlsDir string) (tls.Certificate, error) {
	return certificate(certFile, keyFile, tlsDir, time.Now())
}

// certificate is Certificate with the clock given.
func certificate(certFile, keyFile, tlsDir string, now time.Time) (tls.Certificate, error) {
	if (certFile == "") != (keyFile == "") {
		return tls.Certificate{}, fmt.Errorf("%w: a certificate needs both its file and its key file", ErrInvalid)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return cert, fmt.Errorf("appliance: load certificate %s: %w", certFile, err)
		}
		return cert, nil
	}
	if tlsDir == "" {
		return tls.Certificate{}, fmt.Errorf("%w: no certificate and no directory to keep a self-signed one", ErrInvalid)
	}
	return selfSigned(tlsDir, now)
}

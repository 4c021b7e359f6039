package alert

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real receivers the channel tests deliver to. They need Debian
// packages (make test-alerts installs them) and skip under -short.

// debianPython is Debian's python3, which has python3-aiosmtpd (a pyenv
// python3 earlier in PATH would not).
const debianPython = "/usr/bin/python3"

func needPackages(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real SMTP or syslog server: make test-alerts")
	}
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitTCP waits until something accepts on addr.
func waitTCP(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startSMTP runs testdata/smtpd.py (aiosmtpd) and returns its port and the
// directory its messages land in. args: optional user, password, cert
// file, key file.
func startSMTP(t *testing.T, args ...string) (int, string) {
	return startSMTPEnv(t, nil, args...)
}

// startSMTPEnv is startSMTP with environment variables for smtpd.py.
func startSMTPEnv(t *testing.T, smtpdEnv []string, args ...string) (int, string) {
	t.Helper()
	needPackages(t)
	if err := exec.Command(debianPython, "-c", "import aiosmtpd").Run(); err != nil {
		t.Skip("python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd, or make test-alerts)")
	}
	dir := t.TempDir()
	port := freePort(t, "tcp")
	cmd := exec.Command(debianPython, append([]string{"testdata/smtpd.py", fmt.Sprint(port), dir}, args...)...)
	cmd.Env = append(os.Environ(), smtpdEnv...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "ready") {
			t.Fatalf("smtpd.py did not start: %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("smtpd.py did not start within 20 s")
	}
	waitTCP(t, fmt.Sprintf("127.0.0.1:%d", port))
	return port, dir
}

// waitFile waits for path to exist and returns its content.
func waitFile(t *testing.T, path string, contains string) []byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), contains) {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no %q within 15 s (%q, %v)", path, contains, b, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rsyslog is a running rsyslogd listening on UDP and TCP on 127.0.0.1,
// writing each message's parsed fields as one line to out.
type rsyslog struct {
	udp, tcp string
	out      string
}

// rsyslogLine is the template of out: the fields RFC 5424 parsing gives.
const rsyslogLine = `pri=%pri% time=%timereported:::date-rfc3339% host=%hostname% app=%app-name% ` +
	`procid=%procid% msgid=%msgid% sd=%structured-data% msg=%msg%\n`

// startRsyslog runs Debian's rsyslogd in the foreground with a config in a
// temporary directory. It runs as whoever runs the test (root under make
// test; it needs no privilege for ports above 1024).
func startRsyslog(t *testing.T) rsyslog {
	t.Helper()
	needPackages(t)
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/rsyslogd"); err != nil {
			t.Skip("rsyslogd is not installed (apt-get install rsyslog, or make test-alerts)")
		}
	}
	dir := t.TempDir()
	r := rsyslog{out: filepath.Join(dir, "out.log")}
	up, tp := freePort(t, "udp"), freePort(t, "tcp")
	r.udp, r.tcp = fmt.Sprintf("127.0.0.1:%d", up), fmt.Sprintf("127.0.0.1:%d", tp)
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="%d")
input(type="imtcp" address="127.0.0.1" port="%d")
template(name="fields" type="string" string="%s")
*.* action(type="omfile" file=%q template="fields")
`, dir, up, tp, rsyslogLine, r.out)
	cf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-f", cf, "-i", filepath.Join(dir, "pid"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	waitTCP(t, r.tcp)
	return r
}

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and
// returns the files and the certificate's PEM.
func selfSigned(t *testing.T, dir string) (certFile, keyFile, certPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, certPEM
}

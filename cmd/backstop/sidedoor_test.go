package main

// Adversarial tests of the access policy through a real "backstop serve":
// the side doors around a share's access list (issue 13), each tried as
// an ordinary account would, with the real CLI (a Catalyst client), the
// REST API and an SMB client.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gosmb2 "github.com/hirochachacha/go-smb2"

	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/sharefs"
)

const sideDoorPassword = "side-door-test-pw"

// sideDoorAppliance is a running backstop serve with its addresses and an HTTPS
// client that trusts its certificate.
type sideDoorAppliance struct {
	dir, web, catalyst, smb string
	nfs                     string // with --nfs among extra
	client                  *http.Client
	tokens                  map[string]string
}

// serveSideDoor runs backstop serve in-process with web, Catalyst, SMB
// and replication on loopback until the test ends.
func serveSideDoor(t *testing.T) *sideDoorAppliance {
	t.Helper()
	return serveSideDoorIn(t, filepath.Join(t.TempDir(), "data"))
}

// serveSideDoorIn is serveSideDoor over the data directory dir, which may
// have been made before, with extra arguments.
func serveSideDoorIn(t *testing.T, dir string, extra ...string) *sideDoorAppliance {
	t.Helper()
	t.Setenv("BACKSTOP_ADMIN_PASSWORD", sideDoorPassword)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, &env{name: "serve", stdout: pw, stderr: io.Discard},
			append(append(serveArgs(dir, "iscsi", ""), "--log-level", "error"), extra...))
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("serve did not stop within a minute")
		}
	})
	a := &sideDoorAppliance{dir: dir, tokens: map[string]string{}}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	deadline := time.After(time.Minute)
	wantNFS := slices.Contains(extra, "--nfs")
	for a.web == "" || a.catalyst == "" || a.smb == "" || wantNFS && a.nfs == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve ended before printing its addresses")
			}
			if v, ok := strings.CutPrefix(l, "web UI and REST API: "); ok {
				a.web = strings.TrimSuffix(v, "/")
			}
			if v, ok := strings.CutPrefix(l, "catalyst (client-side dedup, TLS): "); ok {
				a.catalyst = v
			}
			if v, ok := strings.CutPrefix(l, "SMB shares: "); ok {
				a.smb, _, _ = strings.Cut(v, " ")
			}
			if v, ok := strings.CutPrefix(l, "NFS exports: "); ok {
				a.nfs, _, _ = strings.Cut(v, " ")
			}
		case <-deadline:
			t.Fatal("serve printed no addresses within a minute")
		}
	}
	go func() {
		for range lines {
		}
	}()
	pem, err := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	a.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return a
}

// do sends a JSON request as user ("" for none) and returns the status
// and body.
func (a *sideDoorAppliance) do(t *testing.T, user, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.web+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+a.token(t, user))
	}
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *sideDoorAppliance) token(t *testing.T, user string) string {
	t.Helper()
	if tok, ok := a.tokens[user]; ok {
		return tok
	}
	code, body := a.do(t, "", "POST", "/api/v1/sessions", map[string]string{"username": user, "password": sideDoorPassword})
	var s struct{ Token string }
	if err := json.Unmarshal([]byte(body), &s); code != http.StatusCreated && code != http.StatusOK || err != nil || s.Token == "" {
		t.Fatalf("login %s: %d %s", user, code, body)
	}
	a.tokens[user] = s.Token
	return s.Token
}

// cli runs the backstop CLI against the appliance's Catalyst service as
// user.
func (a *sideDoorAppliance) cli(t *testing.T, user string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("BACKSTOP_PASSWORD", sideDoorPassword)
	return cli(t, nil, append(args, "--server", a.catalyst, "--user", user, "--ca", filepath.Join(a.dir, "tls", "cert.pem"))...)
}

// mount connects to share as user over SMB.
func (a *sideDoorAppliance) mount(t *testing.T, user, share string) (*gosmb2.Share, error) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", a.smb, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(time.Minute))
	d := &gosmb2.Dialer{Initiator: &gosmb2.NTLMInitiator{User: user, Password: sideDoorPassword}}
	s, err := d.Dial(nc)
	if err != nil {
		nc.Close()
		t.Fatalf("smb login %s: %v", user, err)
	}
	t.Cleanup(func() { s.Logoff() })
	return s.Mount(share)
}

// TestSideDoors: a share's files are reached only through its access
// list. The share "secret" gives admin read-write and everyone else
// none; the read-only user ro and the operator op try every other door.
func TestSideDoors(t *testing.T) {
	a := serveSideDoor(t)
	for name, role := range map[string]appliance.Role{"ro": appliance.RoleReadOnly, "op": appliance.RoleOperator} {
		if code, body := a.do(t, "admin", "POST", "/api/v1/users", map[string]any{"name": name, "role": role, "password": sideDoorPassword}); code != http.StatusCreated {
			t.Fatalf("create user %s: %d %s", name, code, body)
		}
	}
	if code, body := a.do(t, "admin", "POST", "/api/v1/shares", map[string]any{"name": "secret", "default_access": "none",
		"users": map[string]string{"admin": "read-write"}}); code != http.StatusCreated {
		t.Fatalf("create share: %d %s", code, body)
	}
	secret := []byte("the payroll of the whole company\n")
	fs, err := a.mount(t, "admin", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.WriteFile("payroll.txt", secret, 0o644); err != nil {
		t.Fatal(err)
	}
	fs.Umount()
	// The file's item, as its share's admin sees it over Catalyst.
	code, out, errs := a.cli(t, "admin", "ls", "--store", "nas.secret")
	fields := strings.Fields(out)
	if code != 0 || len(fields) == 0 {
		t.Fatalf("admin ls nas.secret: %d %q %q", code, out, errs)
	}
	item := fields[len(fields)-1]
	src := filepath.Join(t.TempDir(), "evil")
	os.WriteFile(src, []byte("replaced\n"), 0o600)

	t.Run("catalyst get by a user without access", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "stolen")
		code, _, errs := a.cli(t, "ro", "get", "--store", "nas.secret", item, dst)
		if code == 0 || !strings.Contains(errs, "no access to share secret") {
			t.Fatalf("ro got the share's file over catalyst: %d %q", code, errs)
		}
		if b, _ := os.ReadFile(dst); len(b) > 0 {
			t.Fatalf("ro received %q", b)
		}
	})
	t.Run("catalyst put --force and rm by an operator", func(t *testing.T) {
		// put asks for the store first (read): op has no access at all.
		code, _, errs := a.cli(t, "op", "put", "--force", "--store", "nas.secret", item, src)
		if code == 0 || !strings.Contains(errs, "permission denied") || !strings.Contains(errs, "share secret") {
			t.Fatalf("op replaced the share's file over catalyst: %d %q", code, errs)
		}
		code, _, errs = a.cli(t, "op", "rm", "--store", "nas.secret", item)
		if code == 0 || !strings.Contains(errs, "belongs to share secret; use the share") {
			t.Fatalf("op deleted the share's file over catalyst: %d %q", code, errs)
		}
	})
	t.Run("REST item routes by an operator", func(t *testing.T) {
		if code, body := a.do(t, "op", "GET", "/api/v1/stores/nas.secret/items", nil); code != http.StatusForbidden {
			t.Fatalf("op listed the share's items: %d %s", code, body)
		}
		code, body := a.do(t, "op", "DELETE", "/api/v1/stores/nas.secret/items/"+item, nil)
		if code != http.StatusForbidden || !strings.Contains(body, "store nas.secret belongs to share secret; use the share") {
			t.Fatalf("op deleted the share's file over REST: %d %s", code, body)
		}
		if code, body := a.do(t, "admin", "DELETE", "/api/v1/stores/nas.secret/items/"+item, nil); code != http.StatusForbidden {
			t.Fatalf("admin deleted the share's file over REST: %d %s", code, body)
		}
	})
	t.Run("replication mapping by an operator", func(t *testing.T) {
		m := map[string]any{"name": "exfil", "source_store": "nas.secret", "target": "127.0.0.1:1",
			"target_fingerprint": strings.Repeat("ab", 32), "target_store": "loot"}
		if code, body := a.do(t, "op", "POST", "/api/v1/replication/mappings", m); code != http.StatusForbidden {
			t.Fatalf("op mapped the share's store for replication: %d %s", code, body)
		}
		if code, body := a.do(t, "op", "PATCH", "/api/v1/replication/mappings/any", map[string]any{"target": "127.0.0.1:2"}); code != http.StatusForbidden {
			t.Fatalf("op changed a mapping: %d %s", code, body)
		}
	})
	t.Run("share access list by an operator", func(t *testing.T) {
		if code, body := a.do(t, "op", "PATCH", "/api/v1/shares/secret", map[string]any{"users": map[string]string{"op": "read-write"}}); code != http.StatusForbidden {
			t.Fatalf("op rewrote the share's users: %d %s", code, body)
		}
		if code, body := a.do(t, "op", "PATCH", "/api/v1/shares/secret", map[string]any{"default_access": "read-write"}); code != http.StatusForbidden {
			t.Fatalf("op opened the share to everyone: %d %s", code, body)
		}
		if _, err := a.mount(t, "op", "secret"); err == nil {
			t.Fatal("op mounts the share after the refused changes")
		}
	})
	t.Run("read-only user on the default share", func(t *testing.T) {
		fs, err := a.mount(t, "ro", sharefs.DefaultShare)
		if err != nil {
			t.Fatalf("ro mounts the default share: %v", err)
		}
		defer fs.Umount()
		if err := fs.WriteFile("ro.txt", []byte("x"), 0o644); !errors.Is(err, os.ErrPermission) {
			t.Fatalf("ro wrote to the default share: %v", err)
		}
		if _, err := fs.ReadDir("."); err != nil {
			t.Fatalf("ro cannot read the default share: %v", err)
		}
	})
	// The file is whole, and its share's admin still reads it.
	dst := filepath.Join(t.TempDir(), "payroll")
	if code, _, errs := a.cli(t, "admin", "get", "--store", "nas.secret", item, dst); code != 0 {
		t.Fatalf("admin get: %d %q", code, errs)
	}
	if b, _ := os.ReadFile(dst); !bytes.Equal(b, secret) {
		t.Fatalf("the share's file is now %q", b)
	}
}

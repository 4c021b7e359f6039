package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/catalyst/client"
)

// TestServeSharesOneLoginLimiter: failures over Catalyst count against
// the web login of the same user from the same address (one limiter),
// and /metrics wants the token serve wrote to DIR/metrics.token.
func TestServeSharesOneLoginLimiter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	t.Setenv("BACKSTOP_ADMIN_PASSWORD", "logins-test-pw")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, &env{name: "serve", stdout: pw, stderr: io.Discard},
			[]string{"--data", dir, "--web", "127.0.0.1:0", "--catalyst", "127.0.0.1:0", "--smb", "", "--iscsi", "", "--replication", "", "--log-level", "error"})
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
			t.Error("serve did not stop")
		}
	})
	sc := bufio.NewScanner(pr)
	var webURL, catAddr string
	for (webURL == "" || catAddr == "") && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if a, ok := strings.CutPrefix(line, "catalyst (client-side dedup, TLS): "); ok {
			catAddr = a
		}
		if a, ok := strings.CutPrefix(line, "web UI and REST API: "); ok && strings.Contains(a, "127.0.0.1") {
			webURL = a
		}
	}
	go io.Copy(io.Discard, pr)
	if webURL == "" || catAddr == "" {
		t.Fatalf("serve printed web %q catalyst %q", webURL, catAddr)
	}
	webURL = strings.TrimSuffix(webURL, "/")

	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	c, err := client.Dial(client.Options{Addr: catAddr, User: "admin", Password: "wrong password", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		if _, err := c.Stores(cctx); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	r, err := hc.Post(webURL+"/api/v1/sessions", "application/json",
		bytes.NewReader([]byte(`{"username":"admin","password":"logins-test-pw"}`)))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("web login after 5 Catalyst failures from the same address: %d, want 429", r.StatusCode)
	}

	tok, err := os.ReadFile(filepath.Join(dir, "metrics.token"))
	if err != nil {
		t.Fatal(err)
	}
	for auth, want := range map[string]int{"": 401, "Bearer " + strings.TrimSpace(string(tok)): 200} {
		req, _ := http.NewRequest("GET", webURL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		r, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != want {
			t.Errorf("/metrics with %q: %d, want %d", auth, r.StatusCode, want)
		}
	}
}

package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// openState opens a real appliance state in a temporary directory with
// the given targets, and a dispatcher subscribed to it and running.
func openState(t *testing.T, opts Options, targets ...appliance.AlertTarget) (*appliance.State, *Dispatcher) {
	t.Helper()
	st, err := appliance.Open(t.TempDir(), appliance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := st.Settings()
	s.Alerts.Targets = targets
	if err := st.SetSettings(s); err != nil {
		t.Fatal(err)
	}
	if opts.RetryBase == 0 {
		opts.RetryBase = 10 * time.Millisecond
	}
	d := New(st, opts)
	st.Subscribe(d.Notify)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("dispatcher did not stop")
		}
	})
	return st, d
}

// TestWebhookDelivers records events in a real State: the info event is
// not sent (the default rule is warning), the verify failure is, and the
// receiver's first answer, 500, is retried.
func TestWebhookDelivers(t *testing.T) {
	var mu sync.Mutex
	var got []Message
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		var m Message
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&m) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		got = append(got, m)
	}))
	defer srv.Close()
	st, d := openState(t, Options{Hostname: "bs1"}, appliance.AlertTarget{Name: "hook", Type: appliance.AlertWebhook,
		Webhook: &appliance.WebhookTarget{URL: srv.URL}})
	st.Record(appliance.Event{Action: "store.create", Message: "store a created"})
	st.Record(appliance.Event{Level: appliance.LevelError, Action: "verify.finish", Message: "verify found 2 damaged items"})
	waitFor(t, func() bool { return d.Stats().Delivered == 1 })
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 || len(got) != 1 {
		t.Fatalf("%d calls, %d messages; want 2 calls (500, then 200) and 1 message", calls, len(got))
	}
	if e := got[0].Event; e.Action != "verify.finish" || e.Level != "error" || got[0].Appliance != "bs1" || e.ID == 0 {
		t.Fatalf("message %+v", got[0])
	}
	if s := d.Stats(); s.Failed != 0 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestWebhookGivesUp: a receiver that always fails is tried Attempts
// times, then the failure is counted.
func TestWebhookGivesUp(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	st, d := openState(t, Options{}, appliance.AlertTarget{Name: "hook", Type: appliance.AlertWebhook,
		Webhook: &appliance.WebhookTarget{URL: srv.URL, Attempts: 3}})
	st.Record(appliance.Event{Level: appliance.LevelWarning, Action: "health.change", Message: "share x degraded"})
	waitFor(t, func() bool { return d.Stats().Failed == 1 })
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 {
		t.Fatalf("%d calls, want 3", calls)
	}
}

// TestWebhookCA: an https receiver is trusted through ca_pem, and refused
// without it.
func TestWebhookCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ca := string(pemCert(srv.Certificate().Raw))
	d := New(staticSettings{}, Options{RetryBase: time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	target := appliance.AlertTarget{Name: "tls", Type: appliance.AlertWebhook,
		Webhook: &appliance.WebhookTarget{URL: srv.URL, CAPEM: ca, Attempts: 1}}
	if err := d.TestTarget(ctx, target); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	target.Webhook.CAPEM = ""
	if err := d.TestTarget(ctx, target); !errors.Is(err, ErrDelivery) {
		t.Fatalf("without the CA: %v, want ErrDelivery", err)
	}
}

// TestEmail sends through aiosmtpd with STARTTLS (trusting its certificate
// through ca_pem) and AUTH, and parses the message it stored.
func TestEmail(t *testing.T) {
	certFile, keyFile, certPEM := selfSigned(t, t.TempDir())
	port, dir := startSMTP(t, "alerts", "s3cret-pw", certFile, keyFile)
	d := New(staticSettings{}, Options{Hostname: "bs1"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	target := appliance.AlertTarget{Name: "mail", Type: appliance.AlertEmail, Email: &appliance.EmailTarget{
		Host: "127.0.0.1", Port: port, From: "Backstop <backstop@example.net>", To: []string{"ops@example.net", "b@example.net"},
		Username: "alerts", Password: "s3cret-pw", CAPEM: certPEM, StartTLS: "required"}}
	if err := d.TestTarget(ctx, target); err != nil {
		t.Fatal(err)
	}
	raw := waitFile(t, filepath.Join(dir, "1.eml"), "\r\n\r\n")
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header
	if h.Get("X-Tls") != "True" || h.Get("X-Auth") != "True" {
		t.Fatalf("TLS %q, AUTH %q: want both", h.Get("X-Tls"), h.Get("X-Auth"))
	}
	if h.Get("X-Envelope-To") != "ops@example.net,b@example.net" || h.Get("X-Envelope-From") != "backstop@example.net" {
		t.Fatalf("envelope %q from %q", h.Get("X-Envelope-To"), h.Get("X-Envelope-From"))
	}
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Address != "backstop@example.net" || from.Name != "Backstop" {
		t.Fatalf("From %q: %v", h.Get("From"), err)
	}
	subject, err := new(mimeDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || !strings.Contains(subject, "[backstop bs1] test: INFO alert.test") {
		t.Fatalf("Subject %q: %v", subject, err)
	}
	if _, err := h.Date(); err != nil {
		t.Fatalf("Date: %v", err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil || !strings.Contains(string(body), "alerts to mail arrive") || !strings.Contains(string(body), "Action:    alert.test") {
		t.Fatalf("body %q: %v", body, err)
	}
}

// TestEmailRefused: a wrong password, and STARTTLS required of a server
// without it, are errors the caller sees.
func TestEmailRefused(t *testing.T) {
	port, dir := startSMTP(t, "alerts", "s3cret-pw")
	d := New(staticSettings{}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := &appliance.EmailTarget{Host: "127.0.0.1", Port: port, From: "b@example.net", To: []string{"ops@example.net"},
		Username: "alerts", Password: "wrong-password"}
	target := appliance.AlertTarget{Name: "mail", Type: appliance.AlertEmail, Email: e}
	start := time.Now()
	err := d.TestTarget(ctx, target)
	t.Logf("wrong password took %v", time.Since(start))
	if !errors.Is(err, ErrDelivery) || !strings.Contains(err.Error(), "AUTH") {
		t.Fatalf("wrong password: %v", err)
	}
	e.Password, e.StartTLS = "s3cret-pw", "required"
	if err := d.TestTarget(ctx, target); !errors.Is(err, ErrDelivery) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("STARTTLS required: %v", err)
	}
	e.StartTLS = ""
	if err := d.TestTarget(ctx, target); err != nil {
		t.Fatalf("right password, no TLS on loopback: %v", err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Fatalf("%d messages stored, want 1", len(names))
	}
}

// TestSyslog delivers over UDP and over TCP to rsyslogd, which parses
// them as RFC 5424.
func TestSyslog(t *testing.T) {
	r := startRsyslog(t)
	st, d := openState(t, Options{Hostname: "bs1"},
		appliance.AlertTarget{Name: "tcp", Type: appliance.AlertSyslog, Actions: []string{"verify.*"},
			Syslog: &appliance.SyslogTarget{Network: "tcp", Address: r.tcp, Facility: "daemon"}},
		appliance.AlertTarget{Name: "udp", Type: appliance.AlertSyslog, Actions: []string{"health.change"},
			Syslog: &appliance.SyslogTarget{Network: "udp", Address: r.udp}})
	st.Record(appliance.Event{Level: appliance.LevelError, Action: "verify.finish", Object: "nas.backup",
		Message: `verify found damage in "q]uoted" item`})
	waitFile(t, r.out, "msgid=verify.finish")
	st.Record(appliance.Event{Level: appliance.LevelWarning, Action: "health.change", Object: "capacity",
		Message: "capacity 91% used"})
	b := waitFile(t, r.out, "msgid=health.change")
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("rsyslog wrote %d lines, want 2:\n%s", len(lines), b)
	}
	for i, want := range []string{
		// daemon (3) × 8 + err (3) = 27
		`pri=27 time=` + `* host=bs1 app=backstop procid=* msgid=verify.finish sd=[backstop@32473 id="1" level="error" kind="system" object="nas.backup"] msg=verify found damage in "q]uoted" item`,
		// local0 (16) × 8 + warning (4) = 132
		`pri=132 time=* host=bs1 app=backstop procid=* msgid=health.change sd=[backstop@32473 id="2" level="warning" kind="system" object="capacity"] msg=capacity 91% used`,
	} {
		if !strings.Contains(lines[i], "msg=\ufeff") {
			t.Errorf("line %d has no BOM before the message: %s", i+1, lines[i])
		}
		if !globMatch(want, strings.Replace(lines[i], "\ufeff", "", 1)) {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], want)
		}
	}
	if s := d.Stats(); s.Delivered != 2 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestEmailAuthLogin: a server that offers only AUTH LOGIN gets LOGIN.
func TestEmailAuthLogin(t *testing.T) {
	port, dir := startSMTPEnv(t, []string{"SMTPD_ONLY_LOGIN=1"}, "alerts", "s3cret-pw")
	d := New(staticSettings{}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	target := appliance.AlertTarget{Name: "mail", Type: appliance.AlertEmail, Email: &appliance.EmailTarget{Host: "127.0.0.1",
		Port: port, From: "b@example.net", To: []string{"ops@example.net"}, Username: "alerts", Password: "s3cret-pw"}}
	if err := d.TestTarget(ctx, target); err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(waitFile(t, filepath.Join(dir, "1.eml"), "\r\n\r\n"))))
	if err != nil || m.Header.Get("X-Auth") != "True" {
		t.Fatalf("message: %v, X-Auth %q", err, m.Header.Get("X-Auth"))
	}
}

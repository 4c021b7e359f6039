package appliance

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSubscribe: a subscriber sees every event recorded after it
// subscribed, stamped, in order.
func TestSubscribe(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Record(Event{Action: "before"})
	var got []Event
	s.Subscribe(func(e Event) { got = append(got, e) })
	s.Record(Event{Action: "a", Level: LevelError})
	s.Record(Event{Action: "b"})
	if len(got) != 2 || got[0].Action != "a" || got[0].ID != 2 || got[1].Kind != KindSystem || got[1].Level != LevelInfo {
		t.Fatalf("got %+v", got)
	}
}

// TestAlertSettings: targets persist in config.json (mode 0600, with the
// SMTP password), and invalid ones are refused.
func TestAlertSettings(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := s.Settings()
	st.Alerts = Alerts{LoginThreshold: 7, Targets: []AlertTarget{
		{Name: "hook", Type: AlertWebhook, Webhook: &WebhookTarget{URL: "https://example.net/x"}},
		{Name: "mail", Type: AlertEmail, MinLevel: LevelError, Email: &EmailTarget{Host: "smtp.example.net",
			From: "b@example.net", To: []string{"ops@example.net"}, Username: "u", Password: "pw-secret"}},
		{Name: "log", Type: AlertSyslog, Actions: []string{"verify.*"}, Syslog: &SyslogTarget{Network: "tcp", Address: "10.0.0.1:514"}},
	}}
	if err := s.SetSettings(st); err != nil {
		t.Fatal(err)
	}
	s.Close()
	fi, err := os.Stat(filepath.Join(dir, configName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config.json: %v, %v", fi, err)
	}
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := s.Settings().Alerts
	if len(a.Targets) != 3 || a.LoginThreshold != 7 || a.Targets[1].Email.Password != "pw-secret" || a.Targets[2].Actions[0] != "verify.*" {
		t.Fatalf("after reopen: %+v", a)
	}
	for name, bad := range map[string]AlertTarget{
		"bad name":      {Name: "Bad Name", Type: AlertWebhook, Webhook: &WebhookTarget{URL: "http://x"}},
		"no settings":   {Name: "x", Type: AlertWebhook},
		"two settings":  {Name: "x", Type: AlertWebhook, Webhook: &WebhookTarget{URL: "http://x"}, Syslog: &SyslogTarget{}},
		"ftp url":       {Name: "x", Type: AlertWebhook, Webhook: &WebhookTarget{URL: "ftp://x"}},
		"header inject": {Name: "x", Type: AlertEmail, Email: &EmailTarget{Host: "h", From: "a@b.c\r\nBcc: x@y.z", To: []string{"a@b.c"}}},
		"level":         {Name: "x", MinLevel: "debug", Type: AlertWebhook, Webhook: &WebhookTarget{URL: "http://x"}},
		"network":       {Name: "x", Type: AlertSyslog, Syslog: &SyslogTarget{Network: "unix", Address: "a:1"}},
		"facility":      {Name: "x", Type: AlertSyslog, Syslog: &SyslogTarget{Network: "udp", Address: "a:1", Facility: "nope"}},
	} {
		st := s.Settings()
		st.Alerts.Targets = []AlertTarget{bad}
		if err := s.SetSettings(st); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	st = s.Settings()
	st.Alerts.Targets = append(st.Alerts.Targets, st.Alerts.Targets[0])
	if err := s.SetSettings(st); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate: %v", err)
	}
}

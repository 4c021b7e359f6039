package appliance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// loadConfig reads config.json into s. A missing file is a new appliance; a
// file that does not parse is an error, never a silent reset.
func (s *State) loadConfig() error {
	path := filepath.Join(s.dir, configName)
	s.users = map[string]userRecord{}
	s.settings = Settings{Blackout: []Window{}, Housekeeping: DefaultHousekeeping()}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("appliance: %w", err)
	}
	var c config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err = dec.Decode(&c)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("data after the configuration object")
	}
	if err != nil {
		return fmt.Errorf("appliance: %s does not parse (fix or restore it; it is never reset): %w", path, err)
	}
	if c.Version != configVersion {
		return fmt.Errorf("appliance: %s has format version %d, this backstop reads %d", path, c.Version, configVersion)
	}
	for _, u := range c.Users {
		if err := validateRecord(u); err != nil {
			return fmt.Errorf("appliance: %s: %w", path, err)
		}
		if _, dup := s.users[u.Name]; dup {
			return fmt.Errorf("appliance: %s: user %q appears twice", path, u.Name)
		}
		s.users[u.Name] = u
	}
	if err := c.Settings.Validate(); err != nil {
		return fmt.Errorf("appliance: %s: %w", path, err)
	}
	s.settings = c.Settings.clone()
	return nil
}

func validateRecord(u userRecord) error {
	if err := validateName(u.Name); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return fmt.Errorf("%w: user %q has role %q", ErrInvalid, u.Name, u.Role)
	}
	if _, err := parseHash(u.PasswordHash); err != nil {
		return fmt.Errorf("user %q password hash: %w", u.Name, err)
	}
	return nil
}

// commit applies change to a copy of the configuration, saves the copy, and
// only then makes it the current one, so a failed save changes nothing.
// s.mu must be held.
func (s *State) commit(change func(users map[string]userRecord, settings *Settings) error) error {
	if s.closed {
		return ErrClosed
	}
	users := maps.Clone(s.users)
	settings := s.settings.clone()
	if err := change(users, &settings); err != nil {
		return err
	}
	if err := s.save(users, settings); err != nil {
		return err
	}
	s.users, s.settings = users, settings
	return nil
}

// save writes config.json atomically: a temporary file in the same
// directory, fsync, rename over the old one, fsync the directory.
func (s *State) save(users map[string]userRecord, settings Settings) error {
	c := config{Version: configVersion, Users: make([]userRecord, 0, len(users)), Settings: settings}
	for _, name := range slices.Sorted(maps.Keys(users)) {
		c.Users = append(c.Users, users[name])
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("appliance: encode config: %w", err)
	}
	b = append(b, '\n')
	if err := writeFileAtomic(s.dir, configName, b); err != nil {
		return fmt.Errorf("appliance: save %s: %w", configName, err)
	}
	return nil
}

func writeFileAtomic(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// MaxAlertTargets bounds the notification targets in Settings.Alerts.
const MaxAlertTargets = 16

// Alert target types.
const (
	AlertWebhook = "webhook"
	AlertEmail   = "email"
	AlertSyslog  = "syslog"
)

// Alerts are the notification targets (settings.alerts in config.json);
// internal/alert delivers the events to them.
type Alerts struct {
	Targets []AlertTarget `json:"targets"`
	// LoginThreshold is how many failed logins of one user within 15
	// minutes make a warning that alerts; fewer are info (0 = 5).
	LoginThreshold int `json:"login_threshold,omitempty"`
}

// AlertTarget is one place alerts go, with its rule: events of at least
// MinLevel (default warning), of one of Kinds and Actions when given
// (an action "verify.*" matches every action starting "verify.").
type AlertTarget struct {
	Name     string         `json:"name"`
	Type     string         `json:"type"` // "webhook", "email", "syslog"
	Disabled bool           `json:"disabled,omitempty"`
	MinLevel string         `json:"min_level,omitempty"`
	Kinds    []string       `json:"kinds,omitempty"`
	Actions  []string       `json:"actions,omitempty"`
	Webhook  *WebhookTarget `json:"webhook,omitempty"`
	Email    *EmailTarget   `json:"email,omitempty"`
	Syslog   *SyslogTarget  `json:"syslog,omitempty"`
}

// WebhookTarget posts a JSON document to URL.
type WebhookTarget struct {
	URL            string `json:"url"`
	CAPEM          string `json:"ca_pem,omitempty"`          // trust these CAs instead of the system's
	TimeoutSeconds int    `json:"timeout_seconds,omitempty"` // per attempt (0 = 10)
	Attempts       int    `json:"attempts,omitempty"`        // 0 = 5
}

// EmailTarget sends a plain-text e-mail over SMTP.
type EmailTarget struct {
	Host     string   `json:"host"`
	Port     int      `json:"port,omitempty"` // 0 = 587
	From     string   `json:"from"`
	To       []string `json:"to"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	// StartTLS is "auto" (when the server offers it; the default),
	// "required" or "off".
	StartTLS string `json:"starttls,omitempty"`
	CAPEM    string `json:"ca_pem,omitempty"`
}

// SyslogTarget sends RFC 5424 messages over UDP or TCP (octet counting).
type SyslogTarget struct {
	Network  string `json:"network"`            // "udp" or "tcp"
	Address  string `json:"address"`            // host:port
	Facility string `json:"facility,omitempty"` // e.g. "daemon", "local0" (default)
}

var alertName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// Validate checks the targets.
func (a Alerts) Validate() error {
	if len(a.Targets) > MaxAlertTargets {
		return fmt.Errorf("%w: %d alert targets, at most %d", ErrInvalid, len(a.Targets), MaxAlertTargets)
	}
	if a.LoginThreshold < 0 || a.LoginThreshold > 1000 {
		return fmt.Errorf("%w: login threshold %d, want 0 to 1000", ErrInvalid, a.LoginThreshold)
	}
	seen := map[string]bool{}
	for _, t := range a.Targets {
		if seen[t.Name] {
			return fmt.Errorf("%w: alert target %q appears twice", ErrInvalid, t.Name)
		}
		seen[t.Name] = true
		if err := t.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks one target.
func (t AlertTarget) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: alert target %q: %s", ErrInvalid, t.Name, fmt.Sprintf(format, args...))
	}
	if !alertName.MatchString(t.Name) {
		return bad("name must match %s", alertName)
	}
	switch t.MinLevel {
	case "", LevelInfo, LevelWarning, LevelError:
	default:
		return bad("min_level %q: want info, warning or error", t.MinLevel)
	}
	for _, k := range t.Kinds {
		if k != KindAudit && k != KindSystem {
			return bad("kind %q: want audit or system", k)
		}
	}
	for _, a := range t.Actions {
		if a == "" || len(a) > 64 {
			return bad("action %q: want 1 to 64 bytes", a)
		}
	}
	n := 0
	for _, set := range []bool{t.Webhook != nil, t.Email != nil, t.Syslog != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return bad("give exactly the settings of its type")
	}
	switch {
	case t.Type == AlertWebhook && t.Webhook != nil:
		u, err := url.Parse(t.Webhook.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("url %q: want http:// or https://", t.Webhook.URL)
		}
		if t.Webhook.TimeoutSeconds < 0 || t.Webhook.TimeoutSeconds > 300 || t.Webhook.Attempts < 0 || t.Webhook.Attempts > 20 {
			return bad("timeout 0 to 300 seconds and 0 to 20 attempts")
		}
	case t.Type == AlertEmail && t.Email != nil:
		e := t.Email
		if e.Host == "" || e.From == "" || len(e.To) == 0 || e.Port < 0 || e.Port > 65535 {
			return bad("e-mail needs host, from and to")
		}
		for _, addr := range append([]string{e.From}, e.To...) {
			if _, err := mail.ParseAddress(addr); err != nil || strings.ContainsAny(addr, "\r\n") {
				return bad("address %q does not parse", addr)
			}
		}
		switch e.StartTLS {
		case "", "auto", "required", "off":
		default:
			return bad("starttls %q: want auto, required or off", e.StartTLS)
		}
	case t.Type == AlertSyslog && t.Syslog != nil:
		if t.Syslog.Network != "udp" && t.Syslog.Network != "tcp" {
			return bad("network %q: want udp or tcp", t.Syslog.Network)
		}
		if _, _, err := net.SplitHostPort(t.Syslog.Address); err != nil {
			return bad("address %q: want host:port", t.Syslog.Address)
		}
		if _, ok := SyslogFacility(t.Syslog.Facility); !ok {
			return bad("facility %q unknown", t.Syslog.Facility)
		}
	default:
		return bad("type %q: want webhook, email or syslog with its settings", t.Type)
	}
	return nil
}

// SyslogFacility is the number of a facility name ("" = local0).
func SyslogFacility(name string) (int, bool) {
	names := []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
		"authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	if name == "" {
		return 16, true
	}
	i := slices.Index(names, name)
	return i, i >= 0
}

// IsZero reports whether a has no targets and the default threshold, so
// that config.json and the settings JSON leave it out.
func (a Alerts) IsZero() bool { return len(a.Targets) == 0 && a.LoginThreshold == 0 }

// clone deep-copies a.
func (a Alerts) clone() Alerts {
	out := Alerts{LoginThreshold: a.LoginThreshold}
	for _, t := range a.Targets {
		t.Kinds, t.Actions = slices.Clone(t.Kinds), slices.Clone(t.Actions)
		if t.Webhook != nil {
			w := *t.Webhook
			t.Webhook = &w
		}
		if t.Email != nil {
			e := *t.Email
			e.To = slices.Clone(e.To)
			t.Email = &e
		}
		if t.Syslog != nil {
			s := *t.Syslog
			t.Syslog = &s
		}
		out.Targets = append(out.Targets, t)
	}
	return out
}

package appliance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cheapHash keeps tests fast.
func cheapHash() HashParams { return HashParams{Memory: 64, Time: 1, Threads: 1} }

func testOptions(c *clock) Options {
	o := DefaultOptions()
	o.Now = c.now
	o.Hash = cheapHash()
	return o
}

func openTest(t *testing.T, dir string, opts Options) *State {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "appliance")
	s := openTest(t, dir, testOptions(newClock()))
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", fi.Mode().Perm())
	}
	if s.HasUsers() || len(s.Users()) != 0 {
		t.Errorf("new appliance has users: %v", s.Users())
	}
	if st := s.Settings(); st.Blackout == nil || len(st.Blackout) != 0 {
		t.Errorf("new settings %#v, want empty non-nil blackout", st)
	}
}

func TestOpenBadHashParams(t *testing.T) {
	for _, p := range []HashParams{
		{Memory: 64, Time: 0, Threads: 1},
		{Memory: 64, Time: 1, Threads: 0},
		{Memory: 7, Time: 1, Threads: 1},
	} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			o := testOptions(newClock())
			o.Hash = p
			if _, err := Open(t.TempDir(), o); !errors.Is(err, ErrInvalid) {
				t.Errorf("Open = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(newClock())
	s := openTest(t, dir, o)
	if _, err := Open(dir, o); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second Open = %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.CreateUser("alice", RoleAdmin, "password1"); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateUser after Close = %v, want ErrClosed", err)
	}
	openTest(t, dir, o)
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s := openTest(t, dir, testOptions(c))
	mustCreate(t, s, "alice", RoleAdmin, "alice-password")
	mustCreate(t, s, "bob", RoleOperator, "bob-password")
	c.advance(time.Hour)
	if _, err := s.SetRole("bob", RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	settings := Settings{Blackout: []Window{
		{Start: "08:00", End: "18:00", Days: []time.Weekday{time.Monday, time.Friday}},
		{Start: "22:00", End: "02:00"},
	}}
	if err := s.SetSettings(settings); err != nil {
		t.Fatal(err)
	}
	wantUsers := s.Users()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir, testOptions(c))
	if got := s.Users(); fmt.Sprint(got) != fmt.Sprint(wantUsers) {
		t.Errorf("users after reopen:\n got %v\nwant %v", got, wantUsers)
	}
	bob, _ := s.User("bob")
	if bob.Role != RoleReadOnly || !bob.Modified.Equal(bob.Created.Add(time.Hour)) {
		t.Errorf("bob after reopen = %+v", bob)
	}
	if _, err := s.Authenticate("bob", "bob-password"); err != nil {
		t.Errorf("Authenticate bob after reopen: %v", err)
	}
	got := s.Settings()
	if fmt.Sprint(got) != fmt.Sprint(Settings{Blackout: []Window{settings.Blackout[0], {Days: []time.Weekday{}, Start: "22:00", End: "02:00"}}, Housekeeping: DefaultHousekeeping()}) {
		t.Errorf("settings after reopen = %+v", got)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, testOptions(newClock()))
	const password = "correct horse battery staple"
	mustCreate(t, s, "alice", RoleAdmin, password)
	if _, err := s.SetPassword("alice", password+"!"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, configName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	for _, leak := range []string{password, "correct horse"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("config.json holds the plaintext password:\n%s", b)
		}
	}
	if !strings.Contains(string(b), "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("config.json has no argon2id PHC hash:\n%s", b)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestLeftoverTempRemoved(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, configName+".tmp-123")
	if err := os.WriteFile(tmp, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	openTest(t, dir, testOptions(newClock()))
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover temporary file still there: %v", err)
	}
}

func TestCorruptConfig(t *testing.T) {
	good := `{"version": 1, "users": [{"name": "alice", "role": "admin", "created": "2025-01-01T00:00:00Z",
		"modified": "2025-01-01T00:00:00Z", "password_hash": "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}],
		"settings": {"blackout": []}}`
	tests := []struct {
		name    string
		content string
	}{
		{"garbage", "not json at all"},
		{"empty", ""},
		{"truncated", good[:len(good)/2]},
		{"trailing data", good + "{}"},
		{"unknown field", strings.Replace(good, `"version": 1`, `"version": 1, "colour": "red"`, 1)},
		{"newer version", strings.Replace(good, `"version": 1`, `"version": 2`, 1)},
		{"no version", strings.Replace(good, `"version": 1,`, ``, 1)},
		{"bad role", strings.Replace(good, `"admin"`, `"root"`, 1)},
		{"bad name", strings.Replace(good, `"alice"`, `"Alice"`, 1)},
		{"bad hash", strings.Replace(good, `$argon2id$`, `$argon2i$`, 1)},
		{"duplicate user", strings.Replace(good, `}],`, `}, {"name": "alice", "role": "admin", "password_hash": "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}],`, 1)},
		{"bad window", strings.Replace(good, `"blackout": []`, `"blackout": [{"start": "25:00", "end": "01:00"}]`, 1)},
	}
	t.Run("good", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, configName), []byte(good), 0o600)
		s := openTest(t, dir, testOptions(newClock()))
		if !s.HasUsers() {
			t.Error("good config: no users")
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, configName)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir, testOptions(newClock()))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a bad config.json")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Error("bad config.json was rewritten")
			}
			// The lock is released, so a fixed file opens.
			os.WriteFile(path, []byte(good), 0o600)
			openTest(t, dir, testOptions(newClock()))
		})
	}
}

func TestConcurrent(t *testing.T) {
	s := openTest(t, t.TempDir(), testOptions(newClock()))
	mustCreate(t, s, "admin", RoleAdmin, "admin-password")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("user%d", i)
			if _, err := s.CreateUser(name, RoleOperator, "password-"+name); err != nil {
				t.Error(err)
				return
			}
			for range 5 {
				if _, err := s.Authenticate(name, "password-"+name); err != nil {
					t.Error(err)
				}
				s.Record(Event{Kind: KindAudit, Actor: name, Action: "test.run"})
				s.Events(0, 10, "")
				s.Users()
				s.SetSettings(Settings{Blackout: []Window{{Start: "01:00", End: "02:00"}}})
				s.Settings()
			}
			if _, err := s.SetRole(name, RoleReadOnly); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(s.Users()); n != 9 {
		t.Errorf("%d users, want 9", n)
	}
	evs := s.Events(0, 1000, KindAudit)
	if len(evs) != 40 {
		t.Fatalf("%d events, want 40", len(evs))
	}
	for i, e := range evs {
		if e.ID != int64(i+1) {
			t.Fatalf("event %d has ID %d", i, e.ID)
		}
	}
}

func mustCreate(t *testing.T, s *State, name string, role Role, password string) User {
	t.Helper()
	u, err := s.CreateUser(name, role, password)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

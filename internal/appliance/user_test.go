package appliance

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRole(t *testing.T) {
	tests := []struct {
		r, need Role
		valid   bool
		allows  bool
	}{
		{RoleAdmin, RoleAdmin, true, true},
		{RoleAdmin, RoleOperator, true, true},
		{RoleAdmin, RoleReadOnly, true, true},
		{RoleOperator, RoleAdmin, true, false},
		{RoleOperator, RoleOperator, true, true},
		{RoleOperator, RoleReadOnly, true, true},
		{RoleReadOnly, RoleAdmin, true, false},
		{RoleReadOnly, RoleOperator, true, false},
		{RoleReadOnly, RoleReadOnly, true, true},
		{"", RoleReadOnly, false, false},
		{"root", RoleReadOnly, false, false},
		{"Admin", RoleReadOnly, false, false},
		{RoleAdmin, "", true, false},
		{RoleAdmin, "root", true, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.r)+">="+string(tt.need), func(t *testing.T) {
			if got := tt.r.Valid(); got != tt.valid {
				t.Errorf("Valid() = %v", got)
			}
			if got := tt.r.Allows(tt.need); got != tt.allows {
				t.Errorf("Allows(%q) = %v", tt.need, got)
			}
		})
	}
}

func TestCreateUser(t *testing.T) {
	c := newClock()
	s := openTest(t, t.TempDir(), testOptions(c))
	mustCreate(t, s, "taken", RoleAdmin, "password1")
	tests := []struct {
		name     string
		user     string
		role     Role
		password string
		want     error
	}{
		{"simple", "alice", RoleAdmin, "password1", nil},
		{"one letter", "b", RoleOperator, "password1", nil},
		{"punctuation", "c.d_e-f9", RoleReadOnly, "password1", nil},
		{"32 characters", strings.Repeat("g", 32), RoleReadOnly, "password1", nil},
		{"8 byte password", "h", RoleReadOnly, "12345678", nil},
		{"256 byte password", "i", RoleReadOnly, strings.Repeat("p", 256), nil},
		{"unicode password", "j", RoleReadOnly, "pässwörd", nil},
		{"empty name", "", RoleAdmin, "password1", ErrInvalid},
		{"33 characters", strings.Repeat("k", 33), RoleAdmin, "password1", ErrInvalid},
		{"upper case", "Alice", RoleAdmin, "password1", ErrInvalid},
		{"leading digit", "1alice", RoleAdmin, "password1", ErrInvalid},
		{"leading dot", ".alice", RoleAdmin, "password1", ErrInvalid},
		{"space", "al ice", RoleAdmin, "password1", ErrInvalid},
		{"slash", "al/ice", RoleAdmin, "password1", ErrInvalid},
		{"newline", "alice\n", RoleAdmin, "password1", ErrInvalid},
		{"non-ascii", "zoë", RoleAdmin, "password1", ErrInvalid},
		{"bad role", "l", "root", "password1", ErrInvalid},
		{"empty role", "m", "", "password1", ErrInvalid},
		{"7 byte password", "n", RoleAdmin, "1234567", ErrInvalid},
		{"empty password", "o", RoleAdmin, "", ErrInvalid},
		{"257 byte password", "p", RoleAdmin, strings.Repeat("p", 257), ErrInvalid},
		{"duplicate", "taken", RoleOperator, "password2", ErrExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := s.CreateUser(tt.user, tt.role, tt.password)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CreateUser = %v, want %v", err, tt.want)
			}
			if err != nil {
				if strings.Contains(err.Error(), tt.password) && tt.password != "" {
					t.Errorf("error %q shows the password", err)
				}
				if _, err := s.User(tt.user); tt.want != ErrExists && !errors.Is(err, ErrNotFound) {
					t.Errorf("rejected user exists: %v", err)
				}
				return
			}
			want := User{Name: tt.user, Role: tt.role, Created: c.now(), Modified: c.now()}
			if u != want {
				t.Errorf("CreateUser = %+v, want %+v", u, want)
			}
			if got, err := s.User(tt.user); err != nil || got != want {
				t.Errorf("User = %+v, %v", got, err)
			}
		})
	}
}

func TestUsersSorted(t *testing.T) {
	s := openTest(t, t.TempDir(), testOptions(newClock()))
	for _, n := range []string{"mallory", "alice", "zed", "bob"} {
		mustCreate(t, s, n, RoleOperator, "password1")
	}
	var names []string
	for _, u := range s.Users() {
		names = append(names, u.Name)
	}
	if got := strings.Join(names, ","); got != "alice,bob,mallory,zed" {
		t.Errorf("Users() = %s", got)
	}
	if _, err := s.User("nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("User(nobody) = %v", err)
	}
}

func TestSetRole(t *testing.T) {
	tests := []struct {
		name   string
		admins int // admins besides the operator "op"
		user   string
		role   Role
		want   error
	}{
		{"promote", 1, "op", RoleAdmin, nil},
		{"demote operator", 1, "op", RoleReadOnly, nil},
		{"same role", 1, "op", RoleOperator, nil},
		{"admin stays admin", 1, "admin0", RoleAdmin, nil},
		{"demote one of two admins", 2, "admin0", RoleOperator, nil},
		{"demote last admin", 1, "admin0", RoleOperator, ErrLastAdmin},
		{"demote last admin to read-only", 1, "admin0", RoleReadOnly, ErrLastAdmin},
		{"unknown user", 1, "nobody", RoleAdmin, ErrNotFound},
		{"invalid role", 1, "op", "superuser", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s := openTest(t, t.TempDir(), testOptions(c))
			for i := range tt.admins {
				mustCreate(t, s, "admin"+string(rune('0'+i)), RoleAdmin, "password1")
			}
			mustCreate(t, s, "op", RoleOperator, "password1")
			before, _ := s.User(tt.user)
			c.advance(time.Minute)
			u, err := s.SetRole(tt.user, tt.role)
			if !errors.Is(err, tt.want) {
				t.Fatalf("SetRole = %v, want %v", err, tt.want)
			}
			after, _ := s.User(tt.user)
			if err != nil {
				if after != before {
					t.Errorf("failed SetRole changed the user: %+v", after)
				}
				return
			}
			if u != after || u.Role != tt.role {
				t.Errorf("SetRole = %+v, stored %+v", u, after)
			}
			if changed := before.Role != tt.role; changed != !u.Modified.Equal(before.Modified) {
				t.Errorf("Modified %v → %v (role changed: %v)", before.Modified, u.Modified, changed)
			}
		})
	}
}

func TestDeleteUser(t *testing.T) {
	tests := []struct {
		name   string
		admins int
		user   string
		want   error
	}{
		{"operator", 1, "op", nil},
		{"one of two admins", 2, "admin1", nil},
		{"last admin", 1, "admin0", ErrLastAdmin},
		{"unknown", 1, "nobody", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir, testOptions(newClock()))
			for i := range tt.admins {
				mustCreate(t, s, "admin"+string(rune('0'+i)), RoleAdmin, "password1")
			}
			mustCreate(t, s, "op", RoleOperator, "password1")
			n := len(s.Users())
			err := s.DeleteUser(tt.user)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DeleteUser = %v, want %v", err, tt.want)
			}
			wantN := n
			if err == nil {
				wantN--
				if _, err := s.User(tt.user); !errors.Is(err, ErrNotFound) {
					t.Errorf("deleted user still there: %v", err)
				}
				if _, err := s.Authenticate(tt.user, "password1"); !errors.Is(err, ErrBadCredentials) {
					t.Errorf("deleted user authenticates: %v", err)
				}
			}
			if got := len(s.Users()); got != wantN {
				t.Errorf("%d users, want %d", got, wantN)
			}
			s.Close()
			s = openTest(t, dir, testOptions(newClock()))
			if got := len(s.Users()); got != wantN {
				t.Errorf("%d users after reopen, want %d", got, wantN)
			}
		})
	}
}

func TestSetPassword(t *testing.T) {
	c := newClock()
	s := openTest(t, t.TempDir(), testOptions(c))
	mustCreate(t, s, "alice", RoleAdmin, "old-password")
	for _, tt := range []struct {
		name, user, password string
		want                 error
	}{
		{"too short", "alice", "short", ErrInvalid},
		{"too long", "alice", strings.Repeat("x", 257), ErrInvalid},
		{"unknown", "nobody", "new-password", ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.SetPassword(tt.user, tt.password); !errors.Is(err, tt.want) {
				t.Errorf("SetPassword = %v, want %v", err, tt.want)
			}
		})
	}
	c.advance(time.Hour)
	u, err := s.SetPassword("alice", "new-password")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Modified.Equal(c.now()) || u.Created.Equal(c.now()) {
		t.Errorf("after SetPassword: %+v", u)
	}
	if _, err := s.Authenticate("alice", "old-password"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password: %v", err)
	}
	if _, err := s.Authenticate("alice", "new-password"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	s := openTest(t, t.TempDir(), testOptions(newClock()))
	want := mustCreate(t, s, "alice", RoleOperator, "alice-password")
	tests := []struct {
		name, user, password string
		want                 error
	}{
		{"good", "alice", "alice-password", nil},
		{"wrong password", "alice", "alice-passworD", ErrBadCredentials},
		{"password prefix", "alice", "alice-passwor", ErrBadCredentials},
		{"empty password", "alice", "", ErrBadCredentials},
		{"too long password", "alice", strings.Repeat("a", 300), ErrBadCredentials},
		{"unknown user", "bob", "alice-password", ErrBadCredentials},
		{"invalid user name", "Alice", "alice-password", ErrBadCredentials},
		{"empty user", "", "", ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.hashes.Load()
			u, err := s.Authenticate(tt.user, tt.password)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate = %v, want %v", err, tt.want)
			}
			if err == nil && u != want {
				t.Errorf("Authenticate = %+v, want %+v", u, want)
			}
			// Unknown users cost one hash like known ones, so timing does
			// not tell them apart.
			if n := s.hashes.Load() - before; n != 1 {
				t.Errorf("%d hashes computed, want 1", n)
			}
		})
	}
}

func TestAuthenticateUpgradesHash(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(newClock())
	s := openTest(t, dir, o)
	mustCreate(t, s, "alice", RoleAdmin, "alice-password")
	s.Close()

	o.Hash = HashParams{Memory: 128, Time: 2, Threads: 2}
	s = openTest(t, dir, o)
	if _, err := s.Authenticate("alice", "wrong-password"); err == nil {
		t.Fatal("wrong password accepted")
	}
	config := func() string {
		b, err := os.ReadFile(filepath.Join(dir, configName))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if !strings.Contains(config(), "m=64,t=1,p=1$") {
		t.Fatal("a failed login changed the hash")
	}
	if _, err := s.Authenticate("alice", "alice-password"); err != nil {
		t.Fatalf("old-parameter hash not accepted: %v", err)
	}
	if !strings.Contains(config(), "$m=128,t=2,p=2$") {
		t.Errorf("hash not upgraded:\n%s", config())
	}
	if _, err := s.Authenticate("alice", "alice-password"); err != nil {
		t.Fatalf("upgraded hash not accepted: %v", err)
	}
}

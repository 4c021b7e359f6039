package appliance

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"
)

// Role is what a user may do. Each role can do everything the ones below it
// can: admin > operator > read-only.
type Role string

// The roles.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleReadOnly Role = "read-only"
)

// rank orders the roles; an invalid role ranks 0 and allows nothing.
func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleOperator:
		return 2
	case RoleReadOnly:
		return 1
	}
	return 0
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether r is at least need (admin > operator > read-only).
// An invalid role allows nothing and is allowed by nothing.
func (r Role) Allows(need Role) bool {
	return r.Valid() && need.Valid() && r.rank() >= need.rank()
}

// User is an account of the web UI and REST API, without its password.
type User struct {
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// Limits on user names and passwords.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,31}$`)

// ValidUserName reports whether name is a valid user name.
func ValidUserName(name string) bool { return nameRE.MatchString(name) }

func validateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: user name %q: 1 to 32 characters, a lower-case letter then lower-case letters, digits, '.', '_' or '-'", ErrInvalid, name)
	}
	return nil
}

func validatePassword(password string) error {
	if n := len(password); n < MinPasswordLen || n > MaxPasswordLen {
		return fmt.Errorf("%w: a password has %d to %d bytes, not %d", ErrInvalid, MinPasswordLen, MaxPasswordLen, n)
	}
	return nil
}

func validateRole(role Role) error {
	if !role.Valid() {
		return fmt.Errorf("%w: role %q: one of %q, %q, %q", ErrInvalid, role, RoleAdmin, RoleOperator, RoleReadOnly)
	}
	return nil
}

// HasUsers reports whether any user exists (false on a new appliance).
func (s *State) HasUsers() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users) > 0
}

// Users returns every user, sorted by name.
func (s *State) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, name := range slices.Sorted(maps.Keys(s.users)) {
		out = append(out, s.users[name].User)
	}
	return out
}

// User returns the user called name.
func (s *State) User(name string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.users[name]
	if !ok {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return rec.User, nil
}

// CreateUser adds a user. Names match ^[a-z][a-z0-9._-]{0,31}$; passwords
// have 8 to 256 bytes.
func (s *State) CreateUser(name string, role Role, password string) (User, error) {
	if err := validateName(name); err != nil {
		return User{}, err
	}
	if err := validateRole(role); err != nil {
		return User{}, err
	}
	if err := validatePassword(password); err != nil {
		return User{}, err
	}
	// Fail early without paying for a hash; checked again below, since the
	// lock is not held while hashing.
	if _, err := s.User(name); err == nil {
		return User{}, fmt.Errorf("user %q: %w", name, ErrExists)
	}
	hash := s.hash(password)

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	rec := userRecord{User: User{Name: name, Role: role, Created: now, Modified: now}, PasswordHash: hash, NTHash: ntHashHex(password)}
	err := s.commit(func(users map[string]userRecord, _ *Settings) error {
		if _, ok := users[name]; ok {
			return fmt.Errorf("user %q: %w", name, ErrExists)
		}
		users[name] = rec
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return rec.User, nil
}

// SetRole changes a user's role. Demoting the last admin is ErrLastAdmin.
func (s *State) SetRole(name string, role Role) (User, error) {
	if err := validateRole(role); err != nil {
		return User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out User
	err := s.commit(func(users map[string]userRecord, _ *Settings) error {
		rec, ok := users[name]
		if !ok {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		if rec.Role == RoleAdmin && role != RoleAdmin && countAdmins(users) == 1 {
			return fmt.Errorf("user %q: %w", name, ErrLastAdmin)
		}
		if rec.Role != role {
			rec.Role = role
			rec.Modified = s.opts.Now()
			users[name] = rec
		}
		out = rec.User
		return nil
	})
	return out, err
}

// SetPassword replaces a user's password.
func (s *State) SetPassword(name, password string) (User, error) {
	if err := validatePassword(password); err != nil {
		return User{}, err
	}
	if _, err := s.User(name); err != nil {
		return User{}, err
	}
	hash := s.hash(password)

	s.mu.Lock()
	defer s.mu.Unlock()
	var out User
	err := s.commit(func(users map[string]userRecord, _ *Settings) error {
		rec, ok := users[name]
		if !ok {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		rec.PasswordHash = hash
		rec.NTHash = ntHashHex(password)
		rec.Modified = s.opts.Now()
		users[name] = rec
		out = rec.User
		return nil
	})
	return out, err
}

// DeleteUser removes a user. Removing the last admin is ErrLastAdmin.
func (s *State) DeleteUser(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commit(func(users map[string]userRecord, _ *Settings) error {
		rec, ok := users[name]
		if !ok {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		if rec.Role == RoleAdmin && countAdmins(users) == 1 {
			return fmt.Errorf("user %q: %w", name, ErrLastAdmin)
		}
		delete(users, name)
		return nil
	})
}

func countAdmins(users map[string]userRecord) int {
	n := 0
	for _, u := range users {
		if u.Role == RoleAdmin {
			n++
		}
	}
	return n
}

package appliance

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNTHash(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s := openTest(t, dir, testOptions(c))
	mustCreate(t, s, "alice", RoleAdmin, "Password")
	// [MS-NLMP] 4.2.1: NTOWFv1("Password") = a4f49c406510bdcab6824ee7c30fd852.
	for _, tt := range []struct {
		name, user, want string
		err              error
	}{
		{"known", "alice", "a4f49c406510bdcab6824ee7c30fd852", nil},
		{"unknown", "bob", "", ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := s.NTHash(tt.user)
			if !errors.Is(err, tt.err) || hex.EncodeToString(h) != tt.want {
				t.Errorf("NTHash(%q) = %x, %v; want %s, %v", tt.user, h, err, tt.want, tt.err)
			}
		})
	}
	if _, err := s.SetPassword("alice", "another-password"); err != nil {
		t.Fatal(err)
	}
	h, err := s.NTHash("alice")
	if err != nil || hex.EncodeToString(h) != ntHashHex("another-password") {
		t.Errorf("after SetPassword: %x, %v", h, err)
	}
	// Kept in config.json (mode 0600) and back after a reopen.
	s.Close()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), ntHashHex("another-password")) {
		t.Errorf("config.json lacks the NT hash")
	}
	s2 := openTest(t, dir, testOptions(c))
	if h2, err := s2.NTHash("alice"); err != nil || !equalBytes(h2, h) {
		t.Errorf("after reopen: %x, %v", h2, err)
	}
}

func equalBytes(a, b []byte) bool { return hex.EncodeToString(a) == hex.EncodeToString(b) }

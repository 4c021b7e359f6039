package appliance

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func tokenState(t *testing.T) (*State, *clock, string) {
	t.Helper()
	c := newClock()
	dir := t.TempDir()
	s := openTest(t, dir, testOptions(c))
	for name, role := range map[string]Role{"alice": RoleAdmin, "bob": RoleOperator, "carol": RoleReadOnly} {
		if _, err := s.CreateUser(name, role, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	return s, c, dir
}

func TestTokenCreateUse(t *testing.T) {
	s, _, dir := tokenState(t)
	tok, secret, err := s.CreateToken("bob", NewToken{Name: "nightly script", Role: RoleReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, TokenPrefix+tok.ID+"_") {
		t.Fatalf("secret %q does not start with the prefix and id %q", secret, tok.ID)
	}
	got, u, err := s.UseToken(secret)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || u.Name != "bob" || u.Role != RoleReadOnly {
		t.Fatalf("UseToken = %+v, %+v; want bob as read-only", got, u)
	}
	// Only a hash is on disk.
	b, err := os.ReadFile(filepath.Join(dir, tokensName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret[len(TokenPrefix)+17:]) {
		t.Fatal("tokens.json holds the secret")
	}
	// A wrong secret with the right id, and garbage, are refused.
	for _, bad := range []string{secret[:len(secret)-1] + "x", "bst_" + tok.ID, "nonsense", ""} {
		if _, _, err := s.UseToken(bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("UseToken(%q) = %v, want ErrBadToken", bad, err)
		}
	}
}

func TestTokenRules(t *testing.T) {
	s, c, _ := tokenState(t)
	cases := []struct {
		name  string
		owner string
		nt    NewToken
		want  error
	}{
		{"higher role than owner", "bob", NewToken{Name: "a", Role: RoleAdmin}, ErrForbidden},
		{"bad name", "bob", NewToken{Name: "", Role: RoleOperator}, ErrInvalid},
		{"bad role", "bob", NewToken{Name: "a", Role: "root"}, ErrInvalid},
		{"expiry in the past", "bob", NewToken{Name: "a", Role: RoleOperator, Expires: c.now().Add(-time.Second)}, ErrInvalid},
		{"unknown owner", "dave", NewToken{Name: "a", Role: RoleReadOnly}, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := s.CreateToken(tc.owner, tc.nt); !errors.Is(err, tc.want) {
				t.Fatalf("CreateToken = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("duplicate name", func(t *testing.T) {
		if _, _, err := s.CreateToken("carol", NewToken{Name: "dup", Role: RoleReadOnly}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateToken("carol", NewToken{Name: "dup", Role: RoleReadOnly}); !errors.Is(err, ErrExists) {
			t.Fatalf("second token of the same name: %v, want ErrExists", err)
		}
	})
	t.Run("bounded per user", func(t *testing.T) {
		for i := range MaxTokensPerUser {
			if _, _, err := s.CreateToken("alice", NewToken{Name: "t" + string(rune('a'+i)), Role: RoleReadOnly}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.CreateToken("alice", NewToken{Name: "one more", Role: RoleReadOnly}); !errors.Is(err, ErrTokenLimit) {
			t.Fatalf("token %d: %v, want ErrTokenLimit", MaxTokensPerUser+1, err)
		}
	})
}

func TestTokenExpiryRevokeOwner(t *testing.T) {
	s, c, dir := tokenState(t)
	_, expiring, err := s.CreateToken("bob", NewToken{Name: "short", Role: RoleOperator, Expires: c.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	revoked, revSecret, err := s.CreateToken("bob", NewToken{Name: "revoked", Role: RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	_, carolSecret, err := s.CreateToken("carol", NewToken{Name: "x", Role: RoleReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(revoked.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UseToken(revSecret); !errors.Is(err, ErrBadToken) {
		t.Errorf("revoked token: %v", err)
	}
	if _, _, err := s.UseToken(expiring); err != nil {
		t.Errorf("token before its expiry: %v", err)
	}
	c.advance(time.Hour)
	if _, _, err := s.UseToken(expiring); !errors.Is(err, ErrBadToken) {
		t.Errorf("expired token: %v", err)
	}

	// A demoted owner's token acts with the owner's new role.
	if _, err := s.SetRole("bob", RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	_, long, err := s.CreateToken("alice", NewToken{Name: "long", Role: RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser("dave", RoleAdmin, "password1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRole("alice", RoleOperator); err != nil {
		t.Fatal(err)
	}
	if _, u, err := s.UseToken(long); err != nil || u.Role != RoleOperator {
		t.Errorf("token of a demoted admin: %+v, %v; want operator", u, err)
	}

	// A user deleted and made again does not get the old account's tokens.
	if err := s.DeleteUser("carol"); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Second)
	if _, err := s.CreateUser("carol", RoleReadOnly, "password1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UseToken(carolSecret); !errors.Is(err, ErrBadToken) {
		t.Errorf("token of a deleted owner: %v", err)
	}
	if l, _ := s.Tokens("carol"); len(l) != 0 {
		t.Errorf("Tokens(carol) = %v, want none", l)
	}
	// The old account's token neither counts toward the new one's limit
	// nor takes its name.
	if _, _, err := s.CreateToken("carol", NewToken{Name: "x", Role: RoleReadOnly}); err != nil {
		t.Errorf("new carol's token named like the old one's: %v", err)
	}

	// Tokens outlive a restart.
	s.Close()
	s2 := openTest(t, dir, testOptions(c))
	if _, u, err := s2.UseToken(long); err != nil || u.Name != "alice" {
		t.Errorf("after reopen: %+v, %v", u, err)
	}
	all, err := s2.Tokens("")
	if err != nil || len(all) != 3 {
		t.Errorf("Tokens(\"\") after reopen = %v, %v; want short, long and new carol's x", all, err)
	}
}

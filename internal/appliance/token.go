package appliance

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Errors of API tokens.
var (
	// ErrTokenLimit: the owner has MaxTokensPerUser tokens already.
	ErrTokenLimit = errors.New("appliance: too many API tokens")
	// ErrBadToken: the token is unknown, revoked, expired, or its owner
	// is gone. One error for all, so a caller learns nothing more.
	ErrBadToken = errors.New("appliance: API token unknown, revoked or expired")
)

// MaxTokensPerUser bounds the API tokens one user has at a time.
const MaxTokensPerUser = 16

// TokenPrefix starts every API token's secret, so that a leaked one is
// recognisable (secret scanners) and the web server tells it from a
// session token without a lookup.
const TokenPrefix = "bst_"

// tokensName is the file the tokens are kept in, beside config.json.
const tokensName = "tokens.json"

// Token is an API token without its secret: a named, long-lived,
// revocable credential of its owner, with a role no higher than theirs.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Owner   string    `json:"owner"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
	// Expires is when the token stops working; zero: never.
	Expires time.Time `json:"expires,omitzero"`
}

// tokenRecord is a Token as tokens.json keeps it: the SHA-256 of its
// secret (the secret is 256 random bits, so a fast hash is enough: there
// is nothing to guess), and the creation time of the owner's account, so
// that a user deleted and made again under the same name does not inherit
// the old account's tokens.
type tokenRecord struct {
	Token
	SecretHash   string    `json:"secret_hash"`
	OwnerCreated time.Time `json:"owner_created"`
}

// tokenFile is the content of tokens.json.
type tokenFile struct {
	Version int           `json:"version"`
	Tokens  []tokenRecord `json:"tokens"`
}

// tokens holds the API tokens; its own lock and file, so that token use
// never waits for a configuration change.
type tokens struct {
	mu     sync.Mutex
	loaded bool
	byID   map[string]tokenRecord
}

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

// NewToken is what CreateToken needs: the token's name, its role (no
// higher than the owner's) and an optional expiry.
type NewToken struct {
	Name    string
	Role    Role
	Expires time.Time
}

// loadTokens reads tokens.json once; the caller holds s.tok.mu.
func (s *State) loadTokens() error {
	if s.tok.loaded {
		return nil
	}
	s.tok.byID = map[string]tokenRecord{}
	path := filepath.Join(s.dir, tokensName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		s.tok.loaded = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("appliance: %w", err)
	}
	var f tokenFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("appliance: %s does not parse: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("appliance: %s: data after the tokens", path)
	}
	for _, r := range f.Tokens {
		s.tok.byID[r.ID] = r
	}
	s.tok.loaded = true
	return nil
}

// saveTokens writes byID to tokens.json atomically.
func (s *State) saveTokens(byID map[string]tokenRecord) error {
	f := tokenFile{Version: 1, Tokens: make([]tokenRecord, 0, len(byID))}
	for _, r := range byID {
		f.Tokens = append(f.Tokens, r)
	}
	slices.SortFunc(f.Tokens, func(a, b tokenRecord) int { return strings.Compare(a.ID, b.ID) })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("appliance: encode tokens: %w", err)
	}
	if err := writeFileAtomic(s.dir, tokensName, append(b, '\n')); err != nil {
		return fmt.Errorf("appliance: save %s: %w", tokensName, err)
	}
	return nil
}

// changeTokens applies change to a copy of the tokens, saves it and only
// then makes it current.
func (s *State) changeTokens(change func(byID map[string]tokenRecord) error) error {
	s.tok.mu.Lock()
	defer s.tok.mu.Unlock()
	if err := s.loadTokens(); err != nil {
		return err
	}
	byID := make(map[string]tokenRecord, len(s.tok.byID)+1)
	for k, v := range s.tok.byID {
		byID[k] = v
	}
	if err := change(byID); err != nil {
		return err
	}
	if err := s.saveTokens(byID); err != nil {
		return err
	}
	s.tok.byID = byID
	return nil
}

// CreateToken makes an API token for owner and returns it with its
// secret, which is not kept and cannot be shown again. The role must be
// no higher than the owner's current role; a token expiring in the past
// is invalid.
func (s *State) CreateToken(owner string, nt NewToken) (Token, string, error) {
	u, err := s.User(owner)
	if err != nil {
		return Token{}, "", err
	}
	if !tokenNameRE.MatchString(nt.Name) {
		return Token{}, "", fmt.Errorf("%w: token name %q: 1 to 64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit", ErrInvalid, nt.Name)
	}
	if err := validateRole(nt.Role); err != nil {
		return Token{}, "", err
	}
	if !u.Role.Allows(nt.Role) {
		return Token{}, "", &Denial{Need: nt.Role, Reason: fmt.Sprintf("a token's role is at most its owner's (%s)", u.Role)}
	}
	now := s.opts.Now()
	if !nt.Expires.IsZero() && !nt.Expires.After(now) {
		return Token{}, "", fmt.Errorf("%w: token expiry %s is not in the future", ErrInvalid, nt.Expires.UTC().Format(time.RFC3339))
	}
	id := randomHex(8)
	secret := TokenPrefix + id + "_" + randomB64(32)
	rec := tokenRecord{
		Token:        Token{ID: id, Name: nt.Name, Owner: owner, Role: nt.Role, Created: now.UTC(), Expires: nt.Expires.UTC()},
		SecretHash:   secretHash(secret),
		OwnerCreated: u.Created,
	}
	if nt.Expires.IsZero() {
		rec.Expires = time.Time{}
	}
	err = s.changeTokens(func(byID map[string]tokenRecord) error {
		n := 0
		for id, r := range byID {
			if !s.ownerLive(r) {
				delete(byID, id) // a deleted user's: dropped here, refused anyway
				continue
			}
			if r.Owner != owner {
				continue
			}
			n++
			if r.Name == nt.Name {
				return fmt.Errorf("token %q of %s: %w", nt.Name, owner, ErrExists)
			}
		}
		if n >= MaxTokensPerUser {
			return fmt.Errorf("%w: %s has %d, the most a user may have; revoke one first", ErrTokenLimit, owner, n)
		}
		byID[id] = rec
		return nil
	})
	if err != nil {
		return Token{}, "", err
	}
	return rec.Token, secret, nil
}

// Tokens returns the tokens of owner, or every token for owner "",
// oldest first. Tokens of deleted users are left out.
func (s *State) Tokens(owner string) ([]Token, error) {
	s.tok.mu.Lock()
	defer s.tok.mu.Unlock()
	if err := s.loadTokens(); err != nil {
		return nil, err
	}
	out := []Token{}
	for _, r := range s.tok.byID {
		if (owner == "" || r.Owner == owner) && s.ownerLive(r) {
			out = append(out, r.Token)
		}
	}
	slices.SortFunc(out, func(a, b Token) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Token returns the token id.
func (s *State) Token(id string) (Token, error) {
	s.tok.mu.Lock()
	defer s.tok.mu.Unlock()
	if err := s.loadTokens(); err != nil {
		return Token{}, err
	}
	r, ok := s.tok.byID[id]
	if !ok || !s.ownerLive(r) {
		return Token{}, fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	return r.Token, nil
}

// RevokeToken deletes the token id at once: its next use is refused.
func (s *State) RevokeToken(id string) error {
	return s.changeTokens(func(byID map[string]tokenRecord) error {
		if _, ok := byID[id]; !ok {
			return fmt.Errorf("token %q: %w", id, ErrNotFound)
		}
		delete(byID, id)
		return nil
	})
}

// UseToken checks an API token's secret and returns the token and its
// owner acting with the token's role, or the owner's if that is now lower
// (a demoted owner's tokens are demoted with them). An unknown, revoked or
// expired token, or one whose owner is gone, is ErrBadToken.
func (s *State) UseToken(secret string) (Token, User, error) {
	id, ok := tokenID(secret)
	if !ok {
		return Token{}, User{}, ErrBadToken
	}
	s.tok.mu.Lock()
	if err := s.loadTokens(); err != nil {
		s.tok.mu.Unlock()
		return Token{}, User{}, err
	}
	r, found := s.tok.byID[id]
	s.tok.mu.Unlock()
	want := r.SecretHash
	if !found {
		want = strings.Repeat("0", sha256.Size*2) // compare anyway: the same work either way
	}
	match := subtle.ConstantTimeCompare([]byte(secretHash(secret)), []byte(want)) == 1
	if !found || !match {
		return Token{}, User{}, ErrBadToken
	}
	if !r.Expires.IsZero() && !s.opts.Now().Before(r.Expires) {
		return Token{}, User{}, ErrBadToken
	}
	u, err := s.User(r.Owner)
	if err != nil || !u.Created.Equal(r.OwnerCreated) {
		return Token{}, User{}, ErrBadToken
	}
	if !u.Role.Allows(r.Role) {
		return r.Token, u, nil // the owner's role is now the lower
	}
	u.Role = r.Role
	return r.Token, u, nil
}

// ownerLive reports whether r's owner is the account that made it.
func (s *State) ownerLive(r tokenRecord) bool {
	u, err := s.User(r.Owner)
	return err == nil && u.Created.Equal(r.OwnerCreated)
}

// tokenID is the id part of "bst_ID_SECRET".
func tokenID(secret string) (string, bool) {
	rest, ok := strings.CutPrefix(secret, TokenPrefix)
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, "_")
	return id, ok && len(id) == 16
}

func secretHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

package appliance

import (
	"encoding/hex"
	"fmt"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// ErrNoNTHash: the user's password was set before NT hashes were kept;
// setting the password again makes one.
var ErrNoNTHash = fmt.Errorf("appliance: no NT hash for this user (set the password again)")

// ntHashHex is the NT hash of password (MD4 of its UTF-16LE form), hex.
func ntHashHex(password string) string {
	h := md4.New()
	for _, c := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(c), byte(c >> 8)})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NTHash returns the NT hash of a user's password, the secret NTLM
// authentication (SMB) checks responses against. It is ErrNotFound for
// an unknown user and ErrNoNTHash for a user whose password predates NT
// hashes.
func (s *State) NTHash(name string) ([]byte, error) {
	s.mu.Lock()
	rec, ok := s.users[name]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if rec.NTHash == "" {
		return nil, fmt.Errorf("user %q: %w", name, ErrNoNTHash)
	}
	b, err := hex.DecodeString(rec.NTHash)
	if err != nil || len(b) != 16 {
		return nil, fmt.Errorf("user %q: corrupt NT hash", name)
	}
	return b, nil
}

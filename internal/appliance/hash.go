package appliance

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are the argon2id cost parameters for new password hashes. A
// stored hash carries its own parameters, so changing them never locks a
// user out: their hash is redone with the new ones at their next login.
type HashParams struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
}

// DefaultHashParams are the parameters backstop ships with: 64 MiB, two
// passes, two lanes (see doc.go for what one hash costs).
func DefaultHashParams() HashParams {
	return HashParams{Memory: 64 << 10, Time: 2, Threads: 2}
}

// Salt and key lengths of new hashes.
const (
	saltLen = 16
	keyLen  = 32
)

func (p HashParams) validate() error {
	switch {
	case p.Time < 1:
		return fmt.Errorf("%w: hash time must be at least 1", ErrInvalid)
	case p.Threads < 1:
		return fmt.Errorf("%w: hash threads must be at least 1", ErrInvalid)
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("%w: hash memory must be at least 8 KiB per thread", ErrInvalid)
	}
	return nil
}

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// phcHash is a parsed PHC string.
type phcHash struct {
	params HashParams
	salt   []byte
	key    []byte
}

// newHash derives a key for password with a fresh random salt.
func newHash(p HashParams, password string) phcHash {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (it crashes the program instead)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return phcHash{params: p, salt: salt, key: key}
}

// String encodes h as
// $argon2id$v=19$m=MEMORY,t=TIME,p=THREADS$SALT$KEY.
func (h phcHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parseHash decodes a PHC string written by String.
func parseHash(s string) (phcHash, error) {
	var h phcHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, fmt.Errorf("%w: not an argon2id PHC string", ErrInvalid)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: argon2 version %q", ErrInvalid, parts[2])
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		bits := 32
		if k == "p" {
			bits = 8
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return h, fmt.Errorf("%w: argon2 parameter %q", ErrInvalid, kv)
		}
		switch k {
		case "m":
			h.params.Memory = uint32(n)
		case "t":
			h.params.Time = uint32(n)
		case "p":
			h.params.Threads = uint8(n)
		default:
			return h, fmt.Errorf("%w: argon2 parameter %q", ErrInvalid, kv)
		}
	}
	if err := h.params.validate(); err != nil {
		return h, err
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, fmt.Errorf("%w: argon2 salt", ErrInvalid)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, fmt.Errorf("%w: argon2 key", ErrInvalid)
	}
	return h, nil
}

// matches reports whether password derives h's key, comparing in constant
// time.
func (h phcHash) matches(password string) bool {
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// dummyHash has the shape of a real hash made with p, so that checking a
// password against it costs what checking a real one does.
func dummyHash(p HashParams) phcHash {
	return phcHash{params: p, salt: make([]byte, saltLen), key: make([]byte, keyLen)}
}

package appliance

import (
	"errors"
	"strings"
	"testing"
)

func TestHashRoundTrip(t *testing.T) {
	for _, p := range []HashParams{cheapHash(), {Memory: 256, Time: 3, Threads: 4}} {
		h := newHash(p, "secret-password")
		s := h.String()
		if !strings.HasPrefix(s, "$argon2id$v=19$m=") {
			t.Errorf("hash %q is not a PHC argon2id string", s)
		}
		got, err := parseHash(s)
		if err != nil {
			t.Fatalf("parseHash(%q): %v", s, err)
		}
		if got.params != p || len(got.salt) != saltLen || len(got.key) != keyLen {
			t.Errorf("parseHash(%q) = %+v", s, got)
		}
		if !got.matches("secret-password") || got.matches("secret-passwore") {
			t.Errorf("matches is wrong for %q", s)
		}
		if again := newHash(p, "secret-password"); again.String() == s {
			t.Error("two hashes of one password are equal: salt not random")
		}
	}
}

// TestHashKnownAnswer pins the encoding against a hash from the argon2
// reference implementation (echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32).
func TestHashKnownAnswer(t *testing.T) {
	const ref = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	h, err := parseHash(ref)
	if err != nil {
		t.Fatal(err)
	}
	if h.String() != ref {
		t.Errorf("re-encoded as %q", h.String())
	}
	if !h.matches("password") {
		t.Error("reference hash does not match its password")
	}
}

func TestParseHashBad(t *testing.T) {
	const good = "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if _, err := parseHash(good); err != nil {
		t.Fatalf("good: %v", err)
	}
	for _, tt := range []struct{ name, s string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"version 16", strings.Replace(good, "v=19", "v=16", 1)},
		{"no leading $", good[1:]},
		{"missing part", good[:strings.LastIndex(good, "$")]},
		{"extra part", good + "$AAAA"},
		{"zero time", strings.Replace(good, "t=1", "t=0", 1)},
		{"zero threads", strings.Replace(good, "p=1", "p=0", 1)},
		{"threads overflow", strings.Replace(good, "p=1", "p=256", 1)},
		{"memory too small", strings.Replace(good, "m=64", "m=4", 1)},
		{"memory not a number", strings.Replace(good, "m=64", "m=lots", 1)},
		{"unknown parameter", strings.Replace(good, "p=1", "p=1,x=2", 1)},
		{"bad salt", strings.Replace(good, "$AAAAAAAAAAAAAAAAAAAAAA$", "$!!!$", 1)},
		{"short salt", strings.Replace(good, "$AAAAAAAAAAAAAAAAAAAAAA$", "$AAAA$", 1)},
		{"short key", good[:strings.LastIndex(good, "$")] + "$AAAA"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseHash(tt.s); !errors.Is(err, ErrInvalid) {
				t.Errorf("parseHash(%q) = %v, want ErrInvalid", tt.s, err)
			}
		})
	}
}

// BenchmarkHashDefault measures one password hash at DefaultHashParams, the
// figure doc.go quotes.
func BenchmarkHashDefault(b *testing.B) {
	p := DefaultHashParams()
	for b.Loop() {
		newHash(p, "benchmark-password")
	}
}

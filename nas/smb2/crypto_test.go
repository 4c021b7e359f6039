package smb2

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 4493 section 4 examples.
func TestCMAC(t *testing.T) {
	key := unhex("2b7e151628aed2a6abf7158809cf4f3c")
	msg := unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		c := newCMAC(key)
		// Feed in uneven pieces: the result must not depend on them.
		for i := 0; i < tc.n; i += 7 {
			c.write(msg[i:min(i+7, tc.n)])
		}
		if got := hex.EncodeToString(c.sum()); got != tc.want {
			t.Errorf("CMAC of %d bytes = %s, want %s", tc.n, got, tc.want)
		}
	}
}

// TestCCM: sealing and opening agree, any flipped bit is refused, and
// the keystream differs from the plaintext (a round trip alone would
// pass with an identity cipher).
func TestCCM(t *testing.T) {
	key := make([]byte, 16)
	rand.Read(key)
	a, err := newCCM(key)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 11)
	aad := []byte("transform header bytes 20 to 52.")
	for _, n := range []int{0, 1, 15, 16, 17, 4096, 65537} {
		plain := make([]byte, n)
		rand.Read(plain)
		ct := a.Seal(nil, nonce, plain, aad)
		if len(ct) != n+16 || n >= 16 && bytes.Equal(ct[:n], plain) {
			t.Fatalf("n=%d: sealed %d bytes", n, len(ct))
		}
		got, err := a.Open(nil, nonce, ct, aad)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("n=%d: open: %v", n, err)
		}
		ct[len(ct)/2] ^= 1
		if _, err := a.Open(nil, nonce, ct, aad); err == nil {
			t.Fatalf("n=%d: a flipped bit was accepted", n)
		}
	}
}

// TestSignVerify covers the three signing algorithms and the bits GMAC
// folds into its nonce.
func TestSignVerify(t *testing.T) {
	key := unhex("000102030405060708090a0b0c0d0e0f")
	for _, alg := range []uint16{signHMACSHA256, signAESCMAC, signAESGMAC} {
		msg := req(cmdRead, 7, make([]byte, 49))
		sign(alg, key, msg)
		if !verify(alg, key, msg) {
			t.Fatalf("alg %d: own signature refused", alg)
		}
		msg[70] ^= 1
		if verify(alg, key, msg) {
			t.Fatalf("alg %d: a changed body verified", alg)
		}
		msg[70] ^= 1
		le.PutUint64(msg[24:], 8) // another message id
		if alg == signAESGMAC && verify(alg, key, msg) {
			t.Fatalf("GMAC: a changed message id verified")
		}
	}
}

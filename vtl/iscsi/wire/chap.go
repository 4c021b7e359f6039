package wire

import (
	"crypto/md5"
	"crypto/rand"
)

// CHAPMD5 is the CHAP_A value of MD5, the algorithm RFC 7143 requires.
const CHAPMD5 = "5"

// CHAPResponse computes MD5(id || secret || challenge) (RFC 1994).
func CHAPResponse(id byte, secret string, challenge []byte) []byte {
	h := md5.New()
	h.Write([]byte{id})
	h.Write([]byte(secret))
	h.Write(challenge)
	return h.Sum(nil)
}

// NewChallenge returns a random identifier and a 16-byte challenge.
func NewChallenge() (byte, []byte) {
	b := make([]byte, 17)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return b[0], b[1:]
}

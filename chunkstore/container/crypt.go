package container

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/backstop-appliance/backstop/dedup"
)

// Sizes of the encryption parts of a sealed (version 2) container.
const (
	// KeySize is the length of a domain key and of a data key (AES-256).
	KeySize = 32
	// KeyBlockSize is the wrapped data key at the start of an encrypted
	// container's body: a 12-byte random nonce, then the 32-byte data key
	// sealed with AES-256-GCM under the domain key (48 bytes), then 4
	// zero bytes.
	KeyBlockSize = 64
	// TagSize is what sealing adds to each record (the GCM tag).
	TagSize = 16
)

// KEK is a domain's key-encryption key: it wraps the data key of each
// container of the domain. It is safe for concurrent use.
type KEK struct {
	aead cipher.AEAD
	id   string
}

// NewKEK returns the KEK for a 32-byte key.
func NewKEK(key []byte) (*KEK, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("container: domain key is %d bytes, want %d", len(key), KeySize)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &KEK{aead: aead, id: KeyID(key)}, nil
}

// ID is the key's identifier (KeyID).
func (k *KEK) ID() string { return k.id }

// KeyID names a key without revealing it: the first 16 bytes of
// SHA-256("backstop domain key id" || key), in hex. It tells a wrong key
// from the right one before any container is read.
func KeyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("backstop domain key id"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// DataKey is the random key of one container; its records are sealed with
// AES-256-GCM, each under the nonce made of its offset in the body, which
// no other record of the container shares. It is safe for concurrent use.
type DataKey struct {
	key  [KeySize]byte
	aead cipher.AEAD
}

// NewDataKey draws a fresh random data key.
func NewDataKey() (*DataKey, error) {
	var k [KeySize]byte
	_, _ = rand.Read(k[:]) // never fails (crypto/rand, Go 1.24+)
	return dataKey(k)
}

func dataKey(k [KeySize]byte) (*DataKey, error) {
	aead, err := newGCM(k[:])
	if err != nil {
		return nil, err
	}
	return &DataKey{key: k, aead: aead}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("container: aes: %w", err)
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("container: gcm: %w", err)
	}
	return aead, nil
}

// wrapAD binds a key block to its container.
func wrapAD(id uint64, domain uint32) []byte {
	var ad [12]byte
	binary.LittleEndian.PutUint64(ad[0:], id)
	binary.LittleEndian.PutUint32(ad[8:], domain)
	return ad[:]
}

// Wrap seals dk under k into a key block for container id of domain.
func (k *KEK) Wrap(dst []byte, dk *DataKey, id uint64, domain uint32) {
	_ = dst[KeyBlockSize-1]
	_, _ = rand.Read(dst[:12])
	k.aead.Seal(dst[12:12], dst[:12], dk.key[:], wrapAD(id, domain))
	clear(dst[12+KeySize+TagSize : KeyBlockSize])
}

// Unwrap opens the key block of container id of domain.
func (k *KEK) Unwrap(block []byte, id uint64, domain uint32) (*DataKey, error) {
	if len(block) < KeyBlockSize {
		return nil, fmt.Errorf("%w: key block of %d bytes", ErrCorrupt, len(block))
	}
	var plain [KeySize]byte
	if _, err := k.aead.Open(plain[:0], block[:12], block[12:12+KeySize+TagSize], wrapAD(id, domain)); err != nil {
		return nil, fmt.Errorf("%w: the data key of container %d does not open with domain key %s", ErrCorrupt, id, k.id)
	}
	return dataKey(plain)
}

// recordAD is a record's additional data: what the footer and the index
// say of it, so a record moved or relabelled does not open.
func recordAD(ad *[37]byte, fp dedup.Fingerprint, raw uint32, codec Codec) []byte {
	copy(ad[0:32], fp[:])
	binary.LittleEndian.PutUint32(ad[32:], raw)
	ad[36] = byte(codec)
	return ad[:]
}

func recordNonce(n *[12]byte, off uint32) []byte {
	binary.LittleEndian.PutUint32(n[0:], off)
	return n[:]
}

// SealRecord appends to dst the record plain (stored bytes, compressed or
// not) sealed for body offset off.
func (dk *DataKey) SealRecord(dst, plain []byte, off uint32, fp dedup.Fingerprint, raw uint32, codec Codec) []byte {
	var n [12]byte
	var ad [37]byte
	return dk.aead.Seal(dst, recordNonce(&n, off), plain, recordAD(&ad, fp, raw, codec))
}

// OpenRecord opens, in place, the sealed record at body offset off and
// returns its stored bytes (TagSize shorter than sealed).
func (dk *DataKey) OpenRecord(sealed []byte, off uint32, fp dedup.Fingerprint, raw uint32, codec Codec) ([]byte, error) {
	var n [12]byte
	var ad [37]byte
	out, err := dk.aead.Open(sealed[:0], recordNonce(&n, off), sealed, recordAD(&ad, fp, raw, codec))
	if err != nil {
		return nil, fmt.Errorf("%w: record at offset %d (chunk %s) fails authentication", ErrCorrupt, off, fp)
	}
	return out, nil
}

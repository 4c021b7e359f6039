package smb2

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// Ciphers and signing algorithms of the negotiate contexts.
const (
	cipherAES128CCM = 0x0001
	cipherAES128GCM = 0x0002
	cipherAES256CCM = 0x0003
	cipherAES256GCM = 0x0004

	signHMACSHA256 = 0x0000
	signAESCMAC    = 0x0001
	signAESGMAC    = 0x0002
)

// kdf is the SP800-108 counter-mode KDF with HMAC-SHA256 that SMB 3.x
// uses ([MS-SMB2] 3.1.4.2): 128 bits out, label and context as given
// (the labels carry their terminating NUL).
func kdf(key []byte, label, context []byte) []byte {
	return kdfN(key, label, context, 16)
}

// kdfN derives n bytes (16 or 32; the AES-256 ciphers take 32).
func kdfN(key []byte, label, context []byte, n int) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte{0, 0, 0, 1})
	m.Write(label)
	m.Write([]byte{0})
	m.Write(context)
	m.Write([]byte{0, 0, byte(n * 8 >> 8), byte(n * 8)})
	return m.Sum(nil)[:n]
}

// sessionKeys are the keys one session derives from its session key.
type sessionKeys struct {
	signing []byte
	encrypt []byte // server to client
	decrypt []byte // client to server
	app     []byte
}

// deriveKeys derives the session's keys for the dialect; preauth is the
// session's preauthentication hash (3.1.1 only).
func deriveKeys(dialect uint16, cipherID uint16, sessionKey []byte, preauth []byte) sessionKeys {
	k := make([]byte, 16)
	copy(k, sessionKey)
	n := 16
	if cipherID == cipherAES256CCM || cipherID == cipherAES256GCM {
		n = 32
	}
	switch {
	case dialect >= dialect311:
		return sessionKeys{
			signing: kdf(k, []byte("SMBSigningKey\x00"), preauth),
			encrypt: kdfN(k, []byte("SMBS2CCipherKey\x00"), preauth, n),
			decrypt: kdfN(k, []byte("SMBC2SCipherKey\x00"), preauth, n),
			app:     kdf(k, []byte("SMBAppKey\x00"), preauth),
		}
	case dialect >= dialect300:
		return sessionKeys{
			signing: kdf(k, []byte("SMB2AESCMAC\x00"), []byte("SmbSign\x00")),
			encrypt: kdf(k, []byte("SMB2AESCCM\x00"), []byte("ServerOut\x00")),
			decrypt: kdf(k, []byte("SMB2AESCCM\x00"), []byte("ServerIn \x00")),
			app:     kdf(k, []byte("SMB2APP\x00"), []byte("SmbRpc\x00")),
		}
	}
	return sessionKeys{signing: k, app: k}
}

// signature computes the signature of one SMB2 message (its signature
// field is taken as zero).
func signature(alg uint16, key, msg []byte) [16]byte {
	var sig [16]byte
	var zero [16]byte
	switch alg {
	case signAESGMAC:
		// [MS-SMB2] 3.1.4.1: AES-128-GCM over no plaintext with the
		// message as additional data; the nonce is the message id and
		// a word saying response (bit 0) and cancel (bit 1).
		var nonce [12]byte
		copy(nonce[:8], msg[24:32])
		if le.Uint32(msg[16:])&flagResponse != 0 {
			nonce[8] |= 1
		}
		if le.Uint16(msg[12:]) == cmdCancel {
			nonce[8] |= 2
		}
		c, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCM(c)
		aad := make([]byte, 0, len(msg))
		aad = append(append(append(aad, msg[:48]...), zero[:]...), msg[64:]...)
		copy(sig[:], g.Seal(nil, nonce[:], nil, aad))
	case signAESCMAC:
		c := newCMAC(key)
		c.write(msg[:48])
		c.write(zero[:])
		c.write(msg[64:])
		copy(sig[:], c.sum())
	default:
		m := hmac.New(sha256.New, key)
		m.Write(msg[:48])
		m.Write(zero[:])
		m.Write(msg[64:])
		copy(sig[:], m.Sum(nil))
	}
	return sig
}

// sign sets the signed flag and the signature of msg.
func sign(alg uint16, key, msg []byte) {
	le.PutUint32(msg[16:], le.Uint32(msg[16:])|flagSigned)
	sig := signature(alg, key, msg)
	copy(msg[48:64], sig[:])
}

// verify checks the signature of msg.
func verify(alg uint16, key, msg []byte) bool {
	sig := signature(alg, key, msg)
	return subtle.ConstantTimeCompare(sig[:], msg[48:64]) == 1
}

// cmac is AES-CMAC (RFC 4493). Whole blocks go through the CBC mode of
// crypto/cipher (assembly on amd64) instead of one block at a time.
type cmac struct {
	c       cipher.Block
	k1, k2  [16]byte
	x       [16]byte // the CBC-MAC state
	buf     [16]byte // the last, not yet processed block
	n       int      // bytes in buf
	scratch []byte
}

func newCMAC(key []byte) *cmac {
	c, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // keys are always 16 bytes here
	}
	m := &cmac{c: c}
	var l [16]byte
	c.Encrypt(l[:], l[:])
	m.k1 = dbl(l)
	m.k2 = dbl(m.k1)
	return m
}

func dbl(b [16]byte) [16]byte {
	var o [16]byte
	carry := b[0] >> 7
	for i := 0; i < 15; i++ {
		o[i] = b[i]<<1 | b[i+1]>>7
	}
	o[15] = b[15] << 1
	if carry != 0 {
		o[15] ^= 0x87
	}
	return o
}

func (m *cmac) write(p []byte) {
	if len(p) == 0 {
		return
	}
	// Complete the held block; process it only once more data follows,
	// since the last block of the message is treated apart.
	if m.n < 16 {
		k := copy(m.buf[m.n:], p)
		m.n += k
		p = p[k:]
		if len(p) == 0 {
			return
		}
	}
	subtle.XORBytes(m.x[:], m.x[:], m.buf[:])
	m.c.Encrypt(m.x[:], m.x[:])
	m.n = 0
	// Whole blocks, keeping at least one byte back.
	full := (len(p) - 1) / 16 * 16
	if full > 0 {
		if m.scratch == nil {
			m.scratch = make([]byte, 32<<10)
		}
		cbc := cipher.NewCBCEncrypter(m.c, m.x[:])
		for done := 0; done < full; {
			n := min(full-done, len(m.scratch))
			cbc.CryptBlocks(m.scratch[:n], p[done:done+n])
			copy(m.x[:], m.scratch[n-16:n])
			done += n
		}
		p = p[full:]
	}
	m.n = copy(m.buf[:], p)
}

func (m *cmac) sum() []byte {
	var last [16]byte
	if m.n == 16 {
		subtle.XORBytes(last[:], m.buf[:], m.k1[:])
	} else {
		copy(last[:], m.buf[:m.n])
		last[m.n] = 0x80
		subtle.XORBytes(last[:], last[:], m.k2[:])
	}
	subtle.XORBytes(m.x[:], m.x[:], last[:])
	m.c.Encrypt(m.x[:], m.x[:])
	return m.x[:]
}

// ccm is AES-CCM with an 11-byte nonce and a 16-byte tag (RFC 3610,
// L=4), the SMB 3 cipher AES-128-CCM. It implements cipher.AEAD.
type ccm struct{ c cipher.Block }

func newCCM(key []byte) (cipher.AEAD, error) {
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return ccm{c}, nil
}

func (ccm) NonceSize() int { return 11 }
func (ccm) Overhead() int  { return 16 }

const ccmL = 4

func (a ccm) mac(nonce, plain, aad []byte) [16]byte {
	var x, blk [16]byte
	flags := byte(0)
	if len(aad) > 0 {
		flags |= 0x40
	}
	flags |= ((16 - 2) / 2) << 3
	flags |= ccmL - 1
	blk[0] = flags
	copy(blk[1:], nonce)
	binary.BigEndian.PutUint32(blk[12:], uint32(len(plain)))
	a.c.Encrypt(x[:], blk[:])
	if len(aad) > 0 {
		// aad length < 2^16-2^8 here (32 bytes).
		var hdr []byte
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(aad)))
		hdr = append(hdr, aad...)
		x = a.cbc(x, hdr)
	}
	return a.cbc(x, plain)
}

func (a ccm) cbc(x [16]byte, data []byte) [16]byte {
	for len(data) > 0 {
		var blk [16]byte
		n := copy(blk[:], data)
		data = data[n:]
		subtle.XORBytes(x[:], x[:], blk[:])
		a.c.Encrypt(x[:], x[:])
	}
	return x
}

// ctr XORs data with the keystream from counter i.
func (a ccm) ctr(nonce []byte, i uint32, dst, src []byte) {
	var ctr, ks [16]byte
	ctr[0] = ccmL - 1
	copy(ctr[1:], nonce)
	for len(src) > 0 {
		binary.BigEndian.PutUint32(ctr[12:], i)
		a.c.Encrypt(ks[:], ctr[:])
		n := subtle.XORBytes(dst, src, ks[:])
		dst, src = dst[n:], src[n:]
		i++
	}
}

func (a ccm) Seal(dst, nonce, plain, aad []byte) []byte {
	tag := a.mac(nonce, plain, aad)
	out := make([]byte, len(plain)+16)
	a.ctr(nonce, 1, out, plain)
	a.ctr(nonce, 0, out[len(plain):], tag[:])
	return append(dst, out...)
}

var errOpen = errors.New("smb2: message authentication failed")

func (a ccm) Open(dst, nonce, ct, aad []byte) ([]byte, error) {
	if len(ct) < 16 {
		return nil, errOpen
	}
	plain := make([]byte, len(ct)-16)
	a.ctr(nonce, 1, plain, ct[:len(plain)])
	var tag [16]byte
	a.ctr(nonce, 0, tag[:], ct[len(plain):])
	want := a.mac(nonce, plain, aad)
	if subtle.ConstantTimeCompare(tag[:], want[:]) != 1 {
		return nil, errOpen
	}
	return append(dst, plain...), nil
}

// newAEAD returns the cipher for a negotiated cipher id.
func newAEAD(cipherID uint16, key []byte) (cipher.AEAD, error) {
	if cipherID == cipherAES128GCM || cipherID == cipherAES256GCM {
		c, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(c)
	}
	return newCCM(key)
}

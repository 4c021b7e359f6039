package smb2

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"crypto/subtle"
	"errors"
	"strings"
	"time"
)

// NTLMSSP negotiate flags ([MS-NLMP] 2.2.2.5).
const (
	ntlmUnicode       = 0x00000001
	ntlmRequestTarget = 0x00000004
	ntlmSign          = 0x00000010
	ntlmSeal          = 0x00000020
	ntlmNTLM          = 0x00000200
	ntlmAlwaysSign    = 0x00008000
	ntlmTargetServer  = 0x00020000
	ntlmESS           = 0x00080000
	ntlmTargetInfo    = 0x00800000
	ntlmVersion       = 0x02000000
	ntlm128           = 0x20000000
	ntlmKeyExch       = 0x40000000
	ntlm56            = 0x80000000
)

var (
	errNTLM        = errors.New("smb2: malformed NTLMSSP message")
	errLogon       = errors.New("smb2: logon failure")
	ntlmSig        = []byte("NTLMSSP\x00")
	ntlmServerVers = []byte{10, 0, 0x61, 0x4a, 0, 0, 0, 15} // 10.0.19041, NTLMSSP rev 15
)

// ntlmServer is the server side of one NTLMv2 exchange.
type ntlmServer struct {
	domain, computer string
	now              func() time.Time
	negotiate        []byte
	mechTypes        []byte // the client's SPNEGO mechTypes, for mechListMIC
	challengeMsg     []byte
	challenge        [8]byte
	flags            uint32

	// Results after authenticate.
	user       string
	sessionKey []byte
	anonymous  bool
}

// challenge answers the client's NEGOTIATE_MESSAGE.
func (n *ntlmServer) challengeFor(neg []byte) ([]byte, error) {
	if len(neg) < 16 || !bytes.Equal(neg[:8], ntlmSig) || le.Uint32(neg[8:]) != 1 {
		return nil, errNTLM
	}
	n.negotiate = append([]byte(nil), neg...)
	cf := le.Uint32(neg[12:])
	flags := uint32(ntlmUnicode | ntlmRequestTarget | ntlmNTLM | ntlmAlwaysSign |
		ntlmTargetServer | ntlmESS | ntlmTargetInfo | ntlmVersion | ntlm128 | ntlm56)
	flags |= cf & (ntlmSign | ntlmSeal | ntlmKeyExch)
	n.flags = flags
	if _, err := rand.Read(n.challenge[:]); err != nil {
		return nil, err
	}
	var ti buf
	av := func(id uint16, v []byte) {
		ti.u16(id)
		ti.u16(uint16(len(v)))
		ti.bytes(v)
	}
	av(2, utf16le(n.domain))
	av(1, utf16le(n.computer))
	av(4, utf16le(strings.ToLower(n.domain)))
	av(3, utf16le(strings.ToLower(n.computer)))
	var ts buf
	ts.time(n.now())
	av(7, ts.b)
	av(0, nil)
	target := utf16le(n.domain)

	var m buf
	m.bytes(ntlmSig)
	m.u32(2)
	const payload = 56
	m.u16(uint16(len(target)))
	m.u16(uint16(len(target)))
	m.u32(payload)
	m.u32(flags)
	m.bytes(n.challenge[:])
	m.zero(8)
	m.u16(uint16(len(ti.b)))
	m.u16(uint16(len(ti.b)))
	m.u32(payload + uint32(len(target)))
	m.bytes(ntlmServerVers)
	m.bytes(target)
	m.bytes(ti.b)
	n.challengeMsg = m.b
	return m.b, nil
}

// ntlmField reads a (len, maxlen, offset) field of an NTLM message.
func ntlmField(msg []byte, at int) ([]byte, error) {
	if len(msg) < at+8 {
		return nil, errNTLM
	}
	l := int(le.Uint16(msg[at:]))
	off := int(le.Uint32(msg[at+4:]))
	if l == 0 {
		return nil, nil
	}
	if off < 0 || off > len(msg) || l > len(msg)-off {
		return nil, errNTLM
	}
	return msg[off : off+l], nil
}

// authenticate checks the client's AUTHENTICATE_MESSAGE against the
// user's NT hash, found by lookup. It sets user and sessionKey.
func (n *ntlmServer) authenticate(msg []byte, lookup func(user string) ([]byte, bool)) error {
	if len(msg) < 64 || !bytes.Equal(msg[:8], ntlmSig) || le.Uint32(msg[8:]) != 3 {
		return errNTLM
	}
	var f [6][]byte
	for i := range f {
		v, err := ntlmField(msg, 12+8*i)
		if err != nil {
			return err
		}
		f[i] = v
	}
	lm, nt, domainB, userB, encKey := f[0], f[1], f[2], f[3], f[5]
	flags := le.Uint32(msg[60:])
	user := fromUTF16le(userB)
	domain := fromUTF16le(domainB)
	if flags&ntlmUnicode == 0 {
		user, domain = string(userB), string(domainB)
	}
	if user == "" && len(nt) == 0 && (len(lm) == 0 || bytes.Equal(lm, []byte{0})) {
		n.anonymous = true
		return errLogon
	}
	if len(nt) < 48 {
		return errLogon // NTLMv1 is refused
	}
	hash, ok := lookup(strings.ToLower(user))
	if !ok {
		return errLogon
	}
	var key []byte
	for _, d := range []string{domain, ""} {
		key = ntlmv2Key(hash, user, d, n.challenge[:], nt)
		if key != nil {
			break
		}
	}
	if key == nil {
		return errLogon
	}
	exported := key
	if flags&ntlmKeyExch != 0 && n.flags&ntlmKeyExch != 0 {
		if len(encKey) != 16 {
			return errNTLM
		}
		c, _ := rc4.NewCipher(key)
		exported = make([]byte, 16)
		c.XORKeyStream(exported, encKey)
	}
	if micPresent(nt[16:]) && len(msg) >= 88 {
		zeroed := append([]byte(nil), msg...)
		copy(zeroed[72:88], make([]byte, 16))
		h := hmac.New(md5.New, exported)
		h.Write(n.negotiate)
		h.Write(n.challengeMsg)
		h.Write(zeroed)
		if subtle.ConstantTimeCompare(h.Sum(nil), msg[72:88]) != 1 {
			return errLogon
		}
	}
	n.flags = n.flags & (flags | ^uint32(ntlmSign|ntlmSeal|ntlmKeyExch))
	n.user = strings.ToLower(user)
	n.sessionKey = exported
	return nil
}

// ntlmv2Key verifies an NTLMv2 response; it returns the session base
// key, or nil when the proof does not match.
func ntlmv2Key(ntHash []byte, user, domain string, challenge, nt []byte) []byte {
	h := hmac.New(md5.New, ntHash)
	h.Write(utf16le(strings.ToUpper(user) + domain))
	respKey := h.Sum(nil)
	proof, blob := nt[:16], nt[16:]
	h = hmac.New(md5.New, respKey)
	h.Write(challenge)
	h.Write(blob)
	if subtle.ConstantTimeCompare(h.Sum(nil), proof) != 1 {
		return nil
	}
	h = hmac.New(md5.New, respKey)
	h.Write(proof)
	return h.Sum(nil)
}

// micPresent reads MsvAvFlags in the NTLMv2 blob's AV pairs.
func micPresent(blob []byte) bool {
	if len(blob) < 28 {
		return false
	}
	av := blob[28:]
	for len(av) >= 4 {
		id, l := le.Uint16(av), int(le.Uint16(av[2:]))
		if id == 0 || len(av) < 4+l {
			return false
		}
		if id == 6 && l == 4 {
			return le.Uint32(av[4:])&2 != 0
		}
		av = av[4+l:]
	}
	return false
}

// ntlmSignKeys derives the NTLMSSP signing and sealing keys of one
// direction ([MS-NLMP] 3.4.5.2-3).
func ntlmSignKeys(exported []byte, clientToServer bool) (signKey, sealKey []byte) {
	dir := "server-to-client"
	if clientToServer {
		dir = "client-to-server"
	}
	s := md5.Sum(append(append([]byte(nil), exported...), []byte("session key to "+dir+" signing key magic constant\x00")...))
	c := md5.Sum(append(append([]byte(nil), exported...), []byte("session key to "+dir+" sealing key magic constant\x00")...))
	return s[:], c[:]
}

// ntlmMAC signs msg with sequence number 0 in one direction, the
// mechListMIC of SPNEGO.
func (n *ntlmServer) mac(msg []byte, clientToServer bool) []byte {
	signKey, sealKey := ntlmSignKeys(n.sessionKey, clientToServer)
	h := hmac.New(md5.New, signKey)
	h.Write([]byte{0, 0, 0, 0})
	h.Write(msg)
	sum := h.Sum(nil)[:8]
	if n.flags&ntlmKeyExch != 0 {
		c, _ := rc4.NewCipher(sealKey)
		c.XORKeyStream(sum, sum)
	}
	var out buf
	out.u32(1)
	out.bytes(sum)
	out.u32(0)
	return out.b
}

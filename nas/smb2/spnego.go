package smb2

import (
	"bytes"
	"errors"
	"slices"
)

// A minimal DER reader/writer for the SPNEGO tokens ([RFC 4178]) that
// carry NTLMSSP: NegTokenInit from the client, NegTokenResp both ways.

var (
	oidSPNEGO  = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}                         // 1.3.6.1.5.5.2
	oidNTLMSSP = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a} // 1.3.6.1.4.1.311.2.2.10
	oidKRB5    = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}       // 1.2.840.113554.1.2.2
	oidMSKRB5  = []byte{0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}       // 1.2.840.48018.1.2.2
)

var (
	errDER = errors.New("smb2: malformed SPNEGO token")
	// errKerberos: a bare Kerberos token, or a NegTokenInit offering
	// no mechanism but Kerberos; the server speaks NTLMSSP only.
	errKerberos = errors.New("smb2: Kerberos offered, the server has NTLMSSP only")
)

// tlv reads one DER element: tag, content, the whole element, the rest.
func tlv(b []byte) (tag byte, content, whole, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, nil, errDER
	}
	tag = b[0]
	n := int(b[1])
	hdr := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, nil, errDER
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if n < 0 || n > len(b)-hdr {
		return 0, nil, nil, nil, errDER
	}
	return tag, b[hdr : hdr+n], b[:hdr+n], b[hdr+n:], nil
}

func derLen(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n < 0x100:
		return []byte{0x81, byte(n)}
	case n < 0x10000:
		return []byte{0x82, byte(n >> 8), byte(n)}
	}
	return []byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)}
}

func der(tag byte, parts ...[]byte) []byte {
	c := bytes.Join(parts, nil)
	out := append([]byte{tag}, derLen(len(c))...)
	return append(out, c...)
}

// negToken is what the server needs from a client's SPNEGO token.
type negToken struct {
	mechTypes []byte   // the DER of the mechTypes list (for mechListMIC)
	mechs     [][]byte // the OIDs offered
	token     []byte   // mechToken / responseToken
	mechMIC   []byte

	raw       bool // a bare NTLMSSP message, answered bare
	init      bool // a NegTokenInit
	ntlmFirst bool // NTLMSSP is the client's first choice (its mechToken is NTLMSSP)
}

// parseNegToken reads a NegTokenInit (in its GSS-API wrapper) or a
// NegTokenResp. A raw NTLMSSP message is accepted as the token too
// (raw is set). A Kerberos token, bare or as the only mechanism of a
// NegTokenInit, is errKerberos.
func parseNegToken(b []byte) (negToken, error) {
	var t negToken
	if bytes.HasPrefix(b, []byte("NTLMSSP\x00")) {
		t.token = b
		t.raw = true
		return t, nil
	}
	tag, c, _, _, err := tlv(b)
	if err != nil {
		return t, err
	}
	switch tag {
	case 0x60: // [APPLICATION 0] { OID, NegotiationToken }
		otag, oid, _, rest, err := tlv(c)
		if err != nil || otag != 0x06 {
			return t, errDER
		}
		if bytes.Equal(oid, oidKRB5) || bytes.Equal(oid, oidMSKRB5) {
			return t, errKerberos // a bare AP-REQ (RFC 4121 4.1)
		}
		if !bytes.Equal(oid, oidSPNEGO) {
			return t, errDER
		}
		tag, c, _, _, err = tlv(rest)
		if err != nil || tag != 0xa0 {
			return t, errDER
		}
		return parseNegInit(c)
	case 0xa0: // negTokenInit
		return parseNegInit(c)
	case 0xa1: // negTokenResp
		return parseNegFields(c)
	}
	return t, errDER
}

// parseNegInit reads a NegTokenInit and checks that NTLMSSP is offered.
func parseNegInit(c []byte) (negToken, error) {
	t, err := parseNegFields(c)
	if err != nil {
		return t, err
	}
	t.init = true
	t.ntlmFirst = len(t.mechs) == 0 || bytes.Equal(t.mechs[0], oidNTLMSSP)
	if !t.ntlmFirst && !slices.ContainsFunc(t.mechs, func(m []byte) bool { return bytes.Equal(m, oidNTLMSSP) }) {
		return t, errKerberos
	}
	return t, nil
}

func parseNegFields(c []byte) (negToken, error) {
	var t negToken
	stag, seq, _, _, err := tlv(c)
	if err != nil || stag != 0x30 {
		return t, errDER
	}
	for len(seq) > 0 {
		tag, fc, _, rest, err := tlv(seq)
		if err != nil {
			return t, err
		}
		seq = rest
		_, inner, whole, _, err := tlv(fc)
		if err != nil {
			return t, err
		}
		switch tag {
		case 0xa0: // mechTypes (init) or negState (resp)
			if whole[0] == 0x30 {
				t.mechTypes = whole
				for l := inner; len(l) > 0; {
					otag, oid, _, r, err := tlv(l)
					if err != nil || otag != 0x06 {
						return t, errDER
					}
					t.mechs = append(t.mechs, oid)
					l = r
				}
			}
		case 0xa2: // mechToken (init) or responseToken (resp)
			t.token = inner
		case 0xa3: // mechListMIC (resp; negHints in init is [3] too, ignored)
			if whole[0] == 0x04 {
				t.mechMIC = inner
			}
		}
	}
	return t, nil
}

// negTokenInit2 is the server's hint in the negotiate response.
func negTokenInit2() []byte {
	mechs := der(0x30, der(0x06, oidNTLMSSP))
	init := der(0xa0, der(0x30, der(0xa0, mechs)))
	return der(0x60, der(0x06, oidSPNEGO), init)
}

// SPNEGO negotiation states.
const (
	negAcceptCompleted  = 0
	negAcceptIncomplete = 1
	negReject           = 2
)

// negTokenResp encodes a NegTokenResp.
func negTokenResp(state int, mech bool, token, mic []byte) []byte {
	var f [][]byte
	f = append(f, der(0xa0, der(0x0a, []byte{byte(state)})))
	if mech {
		f = append(f, der(0xa1, der(0x06, oidNTLMSSP)))
	}
	if token != nil {
		f = append(f, der(0xa2, der(0x04, token)))
	}
	if mic != nil {
		f = append(f, der(0xa3, der(0x04, mic)))
	}
	return der(0xa1, der(0x30, f...))
}

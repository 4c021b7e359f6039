package smb2

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"net"
	"strings"
	"testing"
	"time"
)

// authClient speaks SMB2 frames by hand over a real TCP connection, to
// send the session setups that go-smb2 and smbclient never send.
type authClient struct {
	t   *testing.T
	c   net.Conn
	mid uint64
	sid uint64
	key []byte // signing key, once the session is set up
}

func dialAuth(t *testing.T, addr string) *authClient {
	t.Helper()
	return &authClient{t: t, c: dialRaw(t, addr)}
}

// do sends one request and reads its response (interim ones skipped).
func (tc *authClient) do(cmd uint16, body []byte) (header, []byte, []byte) {
	tc.t.Helper()
	h := header{Command: cmd, MessageID: tc.mid, SessionID: tc.sid, Credit: 1, CreditCharge: 1}
	tc.mid++
	msg := make([]byte, headerSize)
	if tc.key != nil {
		h.Flags |= flagSigned
	}
	h.put(msg)
	msg = append(msg, body...)
	if tc.key != nil {
		sign(signAESCMAC, tc.key, msg)
	}
	frame := append([]byte{0, byte(len(msg) >> 16), byte(len(msg) >> 8), byte(len(msg))}, msg...)
	_ = tc.c.SetDeadline(time.Now().Add(limitWait))
	if _, err := tc.c.Write(frame); err != nil {
		tc.t.Fatal(err)
	}
	for {
		resp := readTCPFrame(tc.t, tc.c)
		rh, ok := parseHeader(resp)
		if !ok {
			tc.t.Fatalf("not an SMB2 response: %x", resp)
		}
		if rh.Flags&flagAsync != 0 && Status(rh.Status) == StatusPending {
			continue
		}
		return rh, resp[headerSize:], resp
	}
}

// negotiate302 negotiates SMB 3.0.2 (signing with AES-CMAC, no
// negotiate contexts, no preauthentication hash).
func (tc *authClient) negotiate302() {
	tc.t.Helper()
	var w buf
	w.u16(36)
	w.u16(1) // one dialect
	w.u16(secSigningEnabled)
	w.u16(0)
	w.u32(0) // no capabilities: no encryption
	w.bytes(bytes.Repeat([]byte{7}, 16))
	w.zero(8)
	w.u16(dialect302)
	w.u16(0)
	if h, _, _ := tc.do(cmdNegotiate, w.b); Status(h.Status) != StatusSuccess {
		tc.t.Fatalf("negotiate: %v", Status(h.Status))
	}
}

// setup sends one SESSION_SETUP with blob; it returns the status, the
// response's security buffer and the whole response message.
func (tc *authClient) setup(blob []byte) (Status, []byte, []byte) {
	tc.t.Helper()
	var w buf
	w.u16(25)
	w.u8(0) // flags
	w.u8(secSigningEnabled)
	w.u32(0)
	w.u32(0)
	w.u16(headerSize + 24)
	w.u16(uint16(len(blob)))
	w.u64(0)
	w.bytes(blob)
	h, body, msg := tc.do(cmdSessionSetup, w.b)
	tc.sid = h.SessionID
	if len(body) < 8 {
		return Status(h.Status), nil, msg
	}
	out, _ := field(msg, uint32(le.Uint16(body[4:])), uint32(le.Uint16(body[6:])))
	return Status(h.Status), out, msg
}

func (tc *authClient) treeConnect(share string) Status {
	tc.t.Helper()
	p := utf16le(`\\127.0.0.1\` + share)
	var w buf
	w.u16(9)
	w.u16(0)
	w.u16(headerSize + 8)
	w.u16(uint16(len(p)))
	w.bytes(p)
	h, _, msg := tc.do(cmdTreeConnect, w.b)
	if tc.key != nil && Status(h.Status) == StatusSuccess && !verify(signAESCMAC, tc.key, msg) {
		tc.t.Fatal("the TREE_CONNECT response is not signed with the session's key")
	}
	return Status(h.Status)
}

// ntlmNegotiateMsg is a NEGOTIATE_MESSAGE as cifs.ko sends it: no
// domain, no workstation, signing and extended session security.
func ntlmNegotiateMsg() []byte {
	var w buf
	w.bytes(ntlmSig)
	w.u32(1)
	w.u32(ntlmUnicode | ntlmRequestTarget | ntlmSign | ntlmNTLM | ntlmAlwaysSign | ntlmESS | ntlm128 | ntlm56)
	w.zero(16)
	return w.b
}

// ntlmAuthenticateMsg answers challenge with user's NTLMv2 response; it
// returns the message and the session key (no key exchange).
func ntlmAuthenticateMsg(t *testing.T, challenge []byte, user, pass string) ([]byte, []byte) {
	t.Helper()
	if len(challenge) < 48 || !bytes.Equal(challenge[:8], ntlmSig) || le.Uint32(challenge[8:]) != 2 {
		t.Fatalf("not a CHALLENGE_MESSAGE: %x", challenge)
	}
	ti, err := ntlmField(challenge, 40)
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(md5.New, ntHash(pass))
	h.Write(utf16le(strings.ToUpper(user)))
	respKey := h.Sum(nil)
	var blob buf
	blob.bytes([]byte{1, 1, 0, 0, 0, 0, 0, 0})
	blob.time(time.Now())
	blob.bytes([]byte("cliChall"))
	blob.zero(4)
	blob.bytes(ti)
	blob.zero(4)
	h = hmac.New(md5.New, respKey)
	h.Write(challenge[24:32])
	h.Write(blob.b)
	proof := h.Sum(nil)
	h = hmac.New(md5.New, respKey)
	h.Write(proof)
	key := h.Sum(nil)
	nt := append(proof, blob.b...)
	u := utf16le(user)
	var w buf
	w.bytes(ntlmSig)
	w.u32(3)
	off := uint32(64)
	fieldAt := func(n int) {
		w.u16(uint16(n))
		w.u16(uint16(n))
		w.u32(off)
		off += uint32(n)
	}
	fieldAt(0)       // LM
	fieldAt(len(nt)) // NT
	fieldAt(0)       // domain
	fieldAt(len(u))  // user
	fieldAt(0)       // workstation
	fieldAt(0)       // encrypted random session key
	w.u32(ntlmUnicode | ntlmSign | ntlmNTLM | ntlmAlwaysSign | ntlmESS | ntlm128 | ntlm56)
	w.bytes(nt)
	w.bytes(u)
	return w.b, key
}

// TestRawNTLMSSPSetup: a SESSION_SETUP carrying a bare NTLMSSP message,
// as the Linux kernel's cifs.ko sends it, is answered with a bare
// CHALLENGE_MESSAGE (the old code wrapped it in SPNEGO, which the kernel
// refuses: "blob signature incorrect"), the bare AUTHENTICATE_MESSAGE
// completes with an empty buffer, and the session key is the client's.
func TestRawNTLMSSPSetup(t *testing.T) {
	env := startServer(t, Options{})
	tc := dialAuth(t, env.addr)
	tc.negotiate302()
	st, ch, _ := tc.setup(ntlmNegotiateMsg())
	if st != StatusMoreProcessingRequired {
		t.Fatalf("NEGOTIATE_MESSAGE: %v, want MORE_PROCESSING_REQUIRED", st)
	}
	if !bytes.HasPrefix(ch, append(ntlmSig, 2, 0, 0, 0)) {
		t.Fatalf("the answer to a raw NEGOTIATE_MESSAGE is not a raw CHALLENGE_MESSAGE: %x", ch[:min(len(ch), 16)])
	}
	auth, key := ntlmAuthenticateMsg(t, ch, testUser, testPass)
	st, out, msg := tc.setup(auth)
	if st != StatusSuccess {
		t.Fatalf("AUTHENTICATE_MESSAGE: %v", st)
	}
	if len(out) != 0 {
		t.Fatalf("a raw exchange ended with a %d-byte buffer: %x", len(out), out)
	}
	tc.key = deriveKeys(dialect302, 0, key, nil).signing
	if !verify(signAESCMAC, tc.key, msg) {
		t.Fatal("the final SESSION_SETUP response is not signed with the session's key")
	}
	if st := tc.treeConnect("data"); st != StatusSuccess {
		t.Fatalf("tree connect: %v", st)
	}

	// A wrong password over the raw path fails as it does in SPNEGO.
	tc = dialAuth(t, env.addr)
	tc.negotiate302()
	_, ch, _ = tc.setup(ntlmNegotiateMsg())
	auth, _ = ntlmAuthenticateMsg(t, ch, testUser, "wrong")
	if st, _, _ := tc.setup(auth); st != StatusLogonFailure {
		t.Fatalf("wrong password, raw: %v, want LOGON_FAILURE", st)
	}
}

// krb5APReq is a GSS-API Kerberos token: the krb5 OID and an AP-REQ
// (its contents do not matter to a server without a keytab).
func krb5APReq() []byte {
	apReq := der(0x6e, der(0x30, der(0xa0, der(0x02, []byte{5}))))
	return der(0x60, der(0x06, oidKRB5), []byte{0x01, 0x00}, apReq)
}

// negTokenInitOf is a client's NegTokenInit offering mechs, with token
// as the optimistic mechToken.
func negTokenInitOf(token []byte, mechs ...[]byte) []byte {
	var list [][]byte
	for _, m := range mechs {
		list = append(list, der(0x06, m))
	}
	fields := der(0xa0, der(0x30, list...))
	if token != nil {
		fields = append(fields, der(0xa2, der(0x04, token))...)
	}
	return der(0x60, der(0x06, oidSPNEGO), der(0xa0, der(0x30, fields)))
}

// TestKerberosRefused: a bare Kerberos AP-REQ, or a NegTokenInit that
// offers only Kerberos, is refused with LOGON_FAILURE (as Samba without
// Kerberos refuses it) instead of being read as NTLMSSP; the connection
// then still authenticates. A NegTokenInit that offers Kerberos first
// and NTLMSSP after it has its optimistic Kerberos token discarded and
// NTLMSSP selected, and the exchange completes in SPNEGO.
func TestKerberosRefused(t *testing.T) {
	env := startServer(t, Options{})
	tc := dialAuth(t, env.addr)
	tc.negotiate302()
	if st, _, _ := tc.setup(krb5APReq()); st != StatusLogonFailure {
		t.Fatalf("bare AP-REQ: %v, want LOGON_FAILURE", st)
	}
	tc.sid = 0
	if st, _, _ := tc.setup(negTokenInitOf(krb5APReq(), oidMSKRB5, oidKRB5)); st != StatusLogonFailure {
		t.Fatalf("SPNEGO with Kerberos only: %v, want LOGON_FAILURE", st)
	}
	tc.sid = 0
	st, out, _ := tc.setup(negTokenInitOf(krb5APReq(), oidMSKRB5, oidKRB5, oidNTLMSSP))
	if st != StatusMoreProcessingRequired {
		t.Fatalf("SPNEGO with Kerberos then NTLMSSP: %v, want MORE_PROCESSING_REQUIRED", st)
	}
	want := negTokenResp(negAcceptIncomplete, true, nil, nil)
	if !bytes.Equal(out, want) {
		t.Fatalf("answer to an optimistic Kerberos token: %x, want accept-incomplete naming NTLMSSP %x", out, want)
	}
	st, out, _ = tc.setup(negTokenResp(negAcceptIncomplete, false, ntlmNegotiateMsg(), nil))
	if st != StatusMoreProcessingRequired {
		t.Fatalf("NTLMSSP after the mechanism choice: %v", st)
	}
	tok, err := parseNegToken(out)
	if err != nil || tok.raw || !bytes.HasPrefix(tok.token, append(ntlmSig, 2, 0, 0, 0)) {
		t.Fatalf("the challenge is not a SPNEGO-wrapped CHALLENGE_MESSAGE: %x (%v)", out, err)
	}
	auth, key := ntlmAuthenticateMsg(t, tok.token, testUser, testPass)
	if st, _, _ := tc.setup(negTokenResp(negAcceptIncomplete, false, auth, nil)); st != StatusSuccess {
		t.Fatalf("authenticate: %v", st)
	}
	tc.key = deriveKeys(dialect302, 0, key, nil).signing
	if st := tc.treeConnect("data"); st != StatusSuccess {
		t.Fatalf("tree connect: %v", st)
	}
}

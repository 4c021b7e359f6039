package smb2

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// tcpClient is a minimal SMB 2.1 client over a real TCP connection, for
// requests go-smb2 cannot send (raw IOCTLs): NTLMv2 session setup without
// signing, a tree connect, then raw requests.
type tcpClient struct {
	t     testing.TB
	conn  net.Conn
	mid   uint64
	sid   uint64
	tid   uint32
	notes [][]byte // break notifications read while waiting for a response
}

func dialTCP(t testing.TB, addr, share, user, pass string) *tcpClient {
	t.Helper()
	return dialTCPAs(t, addr, share, user, pass, dialect210, [16]byte{})
}

// dialTCPDialect is dialTCP negotiating dialect (requests go unsigned).
func dialTCPDialect(t testing.TB, dialect uint16, addr, share, user, pass string) *tcpClient {
	t.Helper()
	return dialTCPAs(t, addr, share, user, pass, dialect, [16]byte{})
}

// dialTCPAs is dialTCP negotiating dialect (2.1 or 3.0.x) with a client GUID.
func dialTCPAs(t testing.TB, addr, share, user, pass string, dialect uint16, guid [16]byte) *tcpClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &tcpClient{t: t, conn: nc}
	var neg buf
	neg.u16(36)
	neg.u16(1) // one dialect
	neg.u16(secSigningEnabled)
	neg.u16(0)
	neg.u32(0) // capabilities
	neg.bytes(guid[:])
	neg.zero(8)
	neg.u16(dialect)
	neg.u16(0)
	if st, _ := c.do(cmdNegotiate, neg.b); st != StatusSuccess {
		t.Fatalf("negotiate: %v", st)
	}
	// NTLM NEGOTIATE, raw (the server takes raw NTLMSSP as SPNEGO).
	var m1 buf
	m1.bytes(ntlmSig)
	m1.u32(1)
	m1.u32(ntlmUnicode | ntlmNTLM | ntlmESS | ntlmRequestTarget | ntlm128)
	m1.zero(16)
	st, body := c.do(cmdSessionSetup, setupBody(m1.b))
	if st != StatusMoreProcessingRequired {
		t.Fatalf("session setup 1: %v", st)
	}
	blob, _ := field(append(make([]byte, headerSize), body...), uint32(le.Uint16(body[4:])), uint32(le.Uint16(body[6:])))
	tok, err := parseNegToken(blob)
	if err != nil || len(tok.token) < 48 {
		t.Fatalf("challenge: %v", err)
	}
	ch := tok.token
	challenge := ch[24:32]
	ti, err := ntlmField(ch, 40)
	if err != nil {
		t.Fatal(err)
	}
	st, _ = c.do(cmdSessionSetup, setupBody(ntlmAuth(user, pass, challenge, ti)))
	if st != StatusSuccess {
		t.Fatalf("session setup 2: %v", st)
	}
	path := utf16le(`\\127.0.0.1\` + share)
	var tc buf
	tc.u16(9)
	tc.u16(0)
	tc.u16(headerSize + 8)
	tc.u16(uint16(len(path)))
	tc.bytes(path)
	if st, _ := c.do(cmdTreeConnect, tc.b); st != StatusSuccess {
		t.Fatalf("tree connect: %v", st)
	}
	return c
}

func setupBody(blob []byte) []byte {
	var w buf
	w.u16(25)
	w.u8(0)
	w.u8(secSigningEnabled)
	w.u32(0)
	w.u32(0)
	w.u16(headerSize + 24)
	w.u16(uint16(len(blob)))
	w.u64(0)
	w.bytes(blob)
	return w.b
}

// ntlmAuth is an NTLMv2 AUTHENTICATE_MESSAGE without MIC or key exchange.
func ntlmAuth(user, pass string, challenge, targetInfo []byte) []byte {
	h := hmac.New(md5.New, ntHash(pass))
	h.Write(utf16le(strings.ToUpper(user)))
	respKey := h.Sum(nil)
	var blob buf
	blob.u8(1)
	blob.u8(1)
	blob.zero(6)
	blob.time(time.Now())
	var cc [8]byte
	_, _ = rand.Read(cc[:])
	blob.bytes(cc[:])
	blob.u32(0)
	blob.bytes(targetInfo)
	blob.u32(0)
	h = hmac.New(md5.New, respKey)
	h.Write(challenge)
	h.Write(blob.b)
	nt := append(h.Sum(nil), blob.b...)
	u := utf16le(user)
	const payload = 64
	var m buf
	m.bytes(ntlmSig)
	m.u32(3)
	fields := [][]byte{nil, nt, nil, u, nil, nil} // lm, nt, domain, user, workstation, key
	off := uint32(payload)
	for _, f := range fields {
		m.u16(uint16(len(f)))
		m.u16(uint16(len(f)))
		m.u32(off)
		off += uint32(len(f))
	}
	m.u32(ntlmUnicode | ntlmNTLM | ntlmESS | ntlm128)
	for _, f := range fields {
		m.bytes(f)
	}
	return m.b
}

// do sends one request and waits for its final response (skipping
// interim STATUS_PENDING ones).
func (c *tcpClient) do(cmd uint16, body []byte) (Status, []byte) {
	c.t.Helper()
	h := header{Command: cmd, MessageID: c.mid, SessionID: c.sid, TreeID: c.tid, Credit: 64, CreditCharge: 1}
	if cmd == cmdNegotiate {
		h.CreditCharge = 0
	}
	c.mid++
	msg := make([]byte, 4+headerSize, 4+headerSize+len(body))
	h.put(msg[4:])
	msg = append(msg, body...)
	n := len(msg) - 4
	msg[1], msg[2], msg[3] = byte(n>>16), byte(n>>8), byte(n)
	_ = c.conn.SetDeadline(time.Now().Add(5 * time.Minute))
	if _, err := c.conn.Write(msg); err != nil {
		c.t.Fatal(err)
	}
	for {
		resp := readTCPFrame(c.t, c.conn)
		rh, ok := parseHeader(resp)
		if !ok {
			c.t.Fatalf("not SMB2: %x", resp[:min(len(resp), 64)])
		}
		if rh.Status == StatusPending && rh.Flags&flagAsync != 0 {
			continue
		}
		if rh.MessageID == ^uint64(0) && rh.Command == cmdOplockBreak {
			c.notes = append(c.notes, resp[headerSize:])
			continue
		}
		if cmd == cmdSessionSetup {
			c.sid = rh.SessionID
		}
		if cmd == cmdTreeConnect {
			c.tid = rh.TreeID
		}
		return rh.Status, resp[headerSize:]
	}
}

// create opens name with the given access and disposition; it returns
// the FileId (16 bytes).
func (c *tcpClient) create(name string, access, disp uint32) ([]byte, Status) {
	b := createBody(name, disp, 0x40) // FILE_NON_DIRECTORY_FILE
	le.PutUint32(b[24:], access)
	st, body := c.do(cmdCreate, b)
	if st != StatusSuccess {
		return nil, st
	}
	return bytes.Clone(body[64:80]), st
}

func (c *tcpClient) close(fid []byte) Status {
	var w buf
	w.u16(24)
	w.u16(0)
	w.u32(0)
	w.bytes(fid)
	st, _ := c.do(cmdClose, w.b)
	return st
}

// ioctl sends an FSCTL on fid and returns the status and output.
func (c *tcpClient) ioctl(fid []byte, code uint32, in []byte, maxOut uint32) (Status, []byte) {
	var w buf
	w.u16(57)
	w.u16(0)
	w.u32(code)
	w.bytes(fid)
	w.u32(headerSize + 56)
	w.u32(uint32(len(in)))
	w.u32(0) // max input response
	w.u32(0)
	w.u32(0)
	w.u32(maxOut)
	w.u32(1) // SMB2_0_IOCTL_IS_FSCTL
	w.u32(0)
	w.bytes(in)
	st, body := c.do(cmdIoctl, w.b)
	if len(body) < 48 {
		return st, nil
	}
	out, _ := field(append(make([]byte, headerSize), body...), le.Uint32(body[32:]), le.Uint32(body[36:]))
	return st, out
}

// readTCPFrame reads one SMB2 message after its 4-byte NetBIOS length,
// failing t on a read error.
func readTCPFrame(t testing.TB, conn io.Reader) []byte {
	t.Helper()
	var nb [4]byte
	if _, err := io.ReadFull(conn, nb[:]); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, int(nb[1])<<16|int(nb[2])<<8|int(nb[3]))
	if _, err := io.ReadFull(conn, msg); err != nil {
		t.Fatal(err)
	}
	return msg
}

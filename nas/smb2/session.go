package smb2

import (
	"context"
	"crypto/cipher"
	"errors"
	"strings"
	"sync"

	"github.com/backstop-appliance/backstop/nas"
)

// session states.
const (
	sessInProgress = iota
	sessValid
)

// session is one authenticated user on a connection.
type session struct {
	id      uint64
	mu      sync.Mutex
	state   int
	user    string
	ntlm    *ntlmServer
	preauth [64]byte

	keys                 sessionKeys
	signAlg              uint16 // of the connection that set it up
	dialect              uint16
	cipher               uint16
	encrypter, decrypter cipher.AEAD
	signRequired         bool
	encryptData          bool

	trees map[uint32]*tree
	opens map[uint64]*open // by volatile id

	encrypts bool // the client has sent encrypted messages
}

// clientEncrypts: notifications to this session go encrypted.
func (s *session) clientEncrypts() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.encrypts
}

func (s *session) valid() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == sessValid
}

func (s *session) tree(id uint32) *tree {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trees[id]
}

// close closes every open of the session (keeping durable ones when
// the connection dropped) and forgets its trees.
func (s *session) close(srv *Server, dropped bool) {
	s.mu.Lock()
	opens := s.opens
	s.opens = map[uint64]*open{}
	s.trees = map[uint32]*tree{}
	s.state = -1
	s.mu.Unlock()
	for _, o := range opens {
		if dropped && o.durable {
			srv.keepDurable(o)
			continue
		}
		srv.closeOpen(context.Background(), "session end", o)
	}
}

// tree is one tree connect: a share as one session sees it.
type tree struct {
	id    uint32
	share nas.Share
	ipc   bool
	files *fileTable
}

// Session setup request flags and response session flags.
const (
	sessFlagBinding     = 0x01
	sessFlagIsGuest     = 0x0001
	sessFlagIsNull      = 0x0002
	sessFlagEncryptData = 0x0004
)

func (c *conn) sessionSetup(r *request) ([]byte, Status) {
	if c.dialect == 0 || c.dialect == dialectWild {
		return nil, StatusAccessDenied
	}
	b := r.body
	if b[2]&sessFlagBinding != 0 {
		return c.bindSession(r)
	}
	blob, ok := field(r.msg, uint32(le.Uint16(b[12:])), uint32(le.Uint16(b[14:])))
	if !ok {
		return nil, StatusInvalidParameter
	}
	s, st := c.setupSession(r)
	if st == StatusUserSessionDeleted {
		// A session of another connection: the refusal is signed with
		// its key, as the client that knows it expects.
		if other, _ := c.srv.findSession(r.hdr.SessionID); other != nil {
			other.mu.Lock()
			r.signWith = &session{keys: sessionKeys{signing: other.keys.signing}, signAlg: c.signAlg}
			other.mu.Unlock()
		}
	}
	if st != StatusSuccess {
		return nil, st
	}
	if c.dialect == dialect311 {
		preauthUpdate(&s.preauth, r.msg)
	}
	tok, err := parseNegToken(blob)
	if errors.Is(err, errKerberos) {
		// A Kerberos AP-REQ, bare or the only mechanism offered: the
		// server has no keytab. Samba without Kerberos refuses it
		// with LOGON_FAILURE too, rather than guessing at NTLMSSP.
		c.refuseSetup(s, "Kerberos logon (the server offers NTLMSSP only)")
		return nil, StatusLogonFailure
	}
	if err == nil && tok.init && !tok.ntlmFirst {
		// An optimistic token for another mechanism (Kerberos first,
		// NTLMSSP later in the list): it is discarded and NTLMSSP
		// selected, and the client starts NTLMSSP in its next
		// NegTokenResp (RFC 4178 3.2).
		s.ntlm.mechTypes = tok.mechTypes
		r.hdr.SessionID = s.id
		r.preauthSess = s
		return setupResponse(0, negTokenResp(negAcceptIncomplete, true, nil, nil)), StatusMoreProcessingRequired
	}
	if err != nil || len(tok.token) < 12 {
		c.dropSession(s)
		return nil, StatusInvalidParameter
	}
	// Answer in the form the client used ([MS-SMB2] 3.3.5.5.3 hands the
	// buffer to the security package, which answers in kind): a raw
	// NTLMSSP message (the Linux kernel's cifs.ko) gets a raw one back,
	// a SPNEGO token a SPNEGO token.
	switch le.Uint32(tok.token[8:]) {
	case 1:
		if tok.init {
			s.ntlm.mechTypes = tok.mechTypes
		}
		ch, err := s.ntlm.challengeFor(tok.token)
		if err != nil {
			c.dropSession(s)
			return nil, StatusInvalidParameter
		}
		r.hdr.SessionID = s.id
		r.preauthSess = s
		if tok.raw {
			return setupResponse(0, ch), StatusMoreProcessingRequired
		}
		return setupResponse(0, negTokenResp(negAcceptIncomplete, true, ch, nil)), StatusMoreProcessingRequired
	case 3:
		if s.ntlm.challengeMsg == nil {
			c.dropSession(s)
			return nil, StatusInvalidParameter
		}
		err := c.checkNTLM(s.ntlm, tok.token)
		if err != nil {
			c.dropSession(s)
			if errors.Is(err, errNTLM) {
				return nil, StatusInvalidParameter
			}
			return nil, StatusLogonFailure
		}
		return c.finishSetup(r, s, b[3], tok)
	}
	c.dropSession(s)
	return nil, StatusInvalidParameter
}

// refuseSetup drops the session of a refused SESSION_SETUP and audits
// the refusal through the login limiter, which checked no password.
func (c *conn) refuseSetup(s *session, reason string) {
	c.dropSession(s)
	if lim := c.srv.opts.Logins; lim != nil {
		lim.Refused("smb", c.nc.RemoteAddr().String(), "", reason)
	}
}

// setupSession finds the session a SESSION_SETUP continues, or starts one.
func (c *conn) setupSession(r *request) (*session, Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.hdr.SessionID != 0 {
		s := c.sessions[r.hdr.SessionID]
		if s == nil {
			return nil, StatusUserSessionDeleted
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ntlm == nil || s.ntlm.sessionKey != nil {
			// Re-authentication of a valid session: a new exchange.
			s.ntlm = c.newNTLM()
			s.preauth = c.preauth
		}
		return s, StatusSuccess
	}
	s := &session{
		id:      c.srv.nextSession.Add(1),
		ntlm:    c.newNTLM(),
		preauth: c.preauth,
		trees:   map[uint32]*tree{},
		opens:   map[uint64]*open{},
	}
	c.sessions[s.id] = s
	return s, StatusSuccess
}

func (c *conn) newNTLM() *ntlmServer {
	o := c.srv.opts
	return &ntlmServer{domain: o.Domain, computer: o.NetBIOSName, now: o.Now}
}

func (c *conn) dropSession(s *session) {
	s.mu.Lock()
	valid := s.state == sessValid
	s.mu.Unlock()
	if valid {
		return // a failed re-authentication leaves the session as it was
	}
	c.mu.Lock()
	delete(c.sessions, s.id)
	c.mu.Unlock()
}

func (c *conn) lookupHash(user string) ([]byte, bool) {
	if c.srv.users == nil {
		return nil, false
	}
	h, err := c.srv.users.NTHash(user)
	if err != nil || len(h) != 16 {
		return nil, false
	}
	return h, true
}

// finishSetup makes the session valid, derives its keys and answers.
func (c *conn) finishSetup(r *request, s *session, clientSec byte, tok negToken) ([]byte, Status) {
	n := s.ntlm
	var mic []byte
	if tok.mechMIC != nil && s.ntlm.flags&ntlmSign != 0 {
		mic = n.mac(n.mechTypes, false)
	}
	// The last answer: a raw exchange ends with an empty buffer.
	final := negTokenResp(negAcceptCompleted, false, nil, mic)
	if tok.raw {
		final = nil
	}
	s.mu.Lock()
	reauth := s.state == sessValid
	if reauth {
		// Re-authentication keeps the session's keys ([MS-SMB2]
		// 3.3.5.5.3); the user must stay the same.
		same := s.user == n.user
		s.mu.Unlock()
		if !same {
			return nil, StatusAccessDenied
		}
		r.signWith = s
		return setupResponse(0, final), StatusSuccess
	}
	s.mu.Unlock()
	if prev := le.Uint64(r.body[16:]); prev != 0 && prev != s.id {
		c.srv.expireSession(prev, n.user)
	}
	keys := deriveKeys(c.dialect, c.cipher, n.sessionKey, s.preauth[:])
	var enc, dec cipher.AEAD
	if c.dialect >= dialect300 && c.cipher != 0 {
		var err error
		if enc, err = newAEAD(c.cipher, keys.encrypt); err != nil {
			return nil, StatusInternalError
		}
		if dec, err = newAEAD(c.cipher, keys.decrypt); err != nil {
			return nil, StatusInternalError
		}
	}
	s.mu.Lock()
	s.user = n.user
	s.keys = keys
	s.signAlg, s.dialect, s.cipher = c.signAlg, c.dialect, c.cipher
	s.encrypter, s.decrypter = enc, dec
	s.signRequired = uint16(clientSec)&secSigningRequired != 0 || c.srv.opts.RequireSigning
	s.state = sessValid
	s.mu.Unlock()
	r.hdr.SessionID = s.id
	r.signWith = s
	return setupResponse(0, final), StatusSuccess
}

func setupResponse(flags uint16, blob []byte) []byte {
	var w buf
	w.u16(9)
	w.u16(flags)
	w.u16(headerSize + 8)
	w.u16(uint16(len(blob)))
	w.bytes(blob)
	return w.b
}

func (c *conn) logoff(r *request) ([]byte, Status) {
	c.mu.Lock()
	delete(c.sessions, r.sess.id)
	c.mu.Unlock()
	r.signWith = r.sess
	r.sess.close(c.srv, false)
	return []byte{4, 0, 0, 0}, StatusSuccess
}

// Share types and flags of TREE_CONNECT.
const (
	shareTypeDisk = 0x01
	shareTypePipe = 0x02

	shareFlagEncryptData = 0x00008000

	accessAllFile  = 0x001F01FF
	accessReadFile = 0x001200A9
)

func (c *conn) treeConnect(r *request) ([]byte, Status) {
	b := r.body
	p, ok := field(r.msg, uint32(le.Uint16(b[4:])), uint32(le.Uint16(b[6:])))
	if !ok || len(p) == 0 {
		return nil, StatusInvalidParameter
	}
	path := fromUTF16le(p)
	name := path
	if i := strings.LastIndexByte(path, '\\'); i >= 0 {
		name = path[i+1:]
	}
	if name == "" || !strings.HasPrefix(path, `\\`) {
		return nil, StatusBadNetworkName
	}
	t := &tree{id: c.srv.nextTree.Add(1), files: c.srv.files}
	var resp buf
	resp.u16(16)
	if strings.EqualFold(name, "IPC$") {
		t.ipc = true
		t.share = nas.Share{Name: "IPC$", Access: nas.AccessRead}
		resp.u8(shareTypePipe)
		resp.u8(0)
		resp.u32(0)
		resp.u32(0)
		resp.u32(accessReadFile)
	} else {
		sh, err := c.srv.shares.Share(c.ctx, name, r.sess.user)
		if errors.Is(err, nas.ErrNoShare) && strings.ToLower(name) != name {
			sh, err = c.srv.shares.Share(c.ctx, strings.ToLower(name), r.sess.user)
		}
		switch {
		case errors.Is(err, nas.ErrNoShare):
			return nil, StatusBadNetworkName
		case err != nil:
			return nil, statusOf(err) // a degraded share: DEVICE_NOT_READY
		case sh.Access == nas.AccessNone || sh.FS == nil:
			return nil, StatusAccessDenied
		}
		if sh.EncryptData && (c.dialect < dialect300 || c.cipher == 0 || r.sess.encrypter == nil) {
			return nil, StatusAccessDenied
		}
		if sh.SignRequired && !r.encrypted && r.hdr.Flags&flagSigned == 0 {
			return nil, StatusAccessDenied
		}
		t.share = sh
		flags := uint32(0)
		if sh.EncryptData {
			flags |= shareFlagEncryptData
		}
		access := uint32(accessAllFile)
		if sh.Access == nas.AccessRead {
			access = accessReadFile
		}
		resp.u8(shareTypeDisk)
		resp.u8(0)
		resp.u32(flags)
		resp.u32(0)
		resp.u32(access)
	}
	r.sess.mu.Lock()
	r.sess.trees[t.id] = t
	r.sess.mu.Unlock()
	r.hdr.TreeID = t.id
	r.chain.treeID = t.id
	return resp.b, StatusSuccess
}

func (c *conn) treeDisconnect(r *request) ([]byte, Status) {
	s := r.sess
	s.mu.Lock()
	delete(s.trees, r.tree.id)
	var opens []*open
	for id, o := range s.opens {
		if o.tree == r.tree {
			opens = append(opens, o)
			delete(s.opens, id)
		}
	}
	s.mu.Unlock()
	for _, o := range opens {
		c.srv.closeOpen(c.ctx, "tree disconnect", o)
	}
	return []byte{4, 0, 0, 0}, StatusSuccess
}

// expireSession ends a previous session of the same user on any
// connection, as a client reconnecting after a failure asks with
// PreviousSessionId ([MS-SMB2] 3.3.5.5.3): its opens are closed.
func (srv *Server) expireSession(id uint64, user string) {
	srv.mu.Lock()
	conns := make([]*conn, 0, len(srv.conns))
	for c := range srv.conns {
		conns = append(conns, c)
	}
	srv.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		s := c.sessions[id]
		if s != nil {
			s.mu.Lock()
			ok := s.user == user && s.state == sessValid
			s.mu.Unlock()
			if !ok {
				s = nil
			} else {
				delete(c.sessions, id)
			}
		}
		c.mu.Unlock()
		if s != nil {
			s.close(srv, true) // durable opens wait for the reconnect
		}
	}
}

// bindSession answers a request to bind a session of another connection
// to this one (multichannel). The server has one channel per session, so
// binding always fails; it fails with the status the checks of
// [MS-SMB2] 3.3.5.5.2 give, in the order Windows applies them, signed
// with the session's key so the client can trust it.
func (c *conn) bindSession(r *request) ([]byte, Status) {
	s, _ := c.srv.findSession(r.hdr.SessionID)
	if s == nil {
		return nil, StatusUserSessionDeleted
	}
	s.mu.Lock()
	signAlg, cipherID, key := s.signAlg, s.cipher, s.keys.signing
	s.mu.Unlock()
	// The answer is signed with the session's key and this
	// connection's algorithm, which is what the client checks.
	r.signWith = &session{keys: sessionKeys{signing: key}, signAlg: c.signAlg}
	if r.hdr.Flags&flagSigned == 0 {
		return nil, StatusInvalidParameter
	}
	if key == nil || !verify(c.signAlg, key, r.msg) && !verify(signAlg, key, r.msg) {
		return nil, StatusAccessDenied
	}
	switch {
	case signAlg >= signAESGMAC && c.signAlg != signAlg:
		return nil, StatusRequestOutOfSequence
	case c.signAlg >= signAESGMAC && c.signAlg != signAlg:
		return nil, StatusNotSupported
	case c.dialect < dialect300:
		return nil, StatusRequestNotAccepted
	case cipherID != c.cipher:
		return nil, StatusInvalidParameter
	}
	return nil, StatusRequestNotAccepted // no multichannel
}

// StatusRequestOutOfSequence answers a binding with another signing
// algorithm.
const StatusRequestOutOfSequence Status = 0xC000042A

// findSession looks a valid session up on every connection.
func (srv *Server) findSession(id uint64) (*session, *conn) {
	srv.mu.Lock()
	conns := make([]*conn, 0, len(srv.conns))
	for c := range srv.conns {
		conns = append(conns, c)
	}
	srv.mu.Unlock()
	for _, c := range conns {
		if s := c.session(id); s != nil && s.valid() {
			return s, c
		}
	}
	return nil, nil
}

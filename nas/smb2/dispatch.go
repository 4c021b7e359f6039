package smb2

import (
	"crypto/rand"
	"errors"
)

// request is one SMB2 request being served.
type request struct {
	hdr       header
	msg       []byte // header and body
	body      []byte // msg[64:]
	sess      *session
	tree      *tree
	encrypted bool
	chain     *chainState
	status    Status

	// Set by handlers.
	signWith    *session    // sign the response with this session's key
	async       *pendingReq // the request went async: interim response
	preauthConn bool        // fold the response into the connection's preauth hash
	preauthSess *session    // fold the response into this session's preauth hash
	afterSend   func()      // run once the response is written

	// Set when an async request completes.
	final *pendingReq // this is the final response of an async request
	rest  []byte      // the compound's requests after this async one
}

// chainState carries a compound's related state from one request to the
// next ([MS-SMB2] 3.3.5.2.7.2).
type chainState struct {
	n         int // requests of the compound seen so far
	sessID    uint64
	treeID    uint32
	fid       fileID
	hasFID    bool
	createErr Status // the failure of the chain's CREATE; 0 when none failed
	noSess    bool   // the previous request had no valid session or tree
	encSess   *session
}

// fileIDAt is where the FileId is in the body of the requests that name
// an open (0: the command names none).
var fileIDAt = [numCommands]int{
	cmdClose: 8, cmdFlush: 8, cmdRead: 16, cmdWrite: 16, cmdLock: 8, cmdIoctl: 8,
	cmdQueryDirectory: 8, cmdChangeNotify: 8, cmdQueryInfo: 24, cmdSetInfo: 16,
	cmdOplockBreak: 8,
}

// handler serves one command: the response body (nil for the error
// body) and the status.
type handler func(c *conn, r *request) ([]byte, Status)

// Minimum request body sizes (StructureSize rounded down to even, the
// variable byte excluded).
var minBody = [numCommands]int{
	cmdNegotiate: 36, cmdSessionSetup: 24, cmdLogoff: 4, cmdTreeConnect: 8,
	cmdTreeDisconnect: 4, cmdCreate: 56, cmdClose: 24, cmdFlush: 24, cmdRead: 48,
	cmdWrite: 48, cmdLock: 24, cmdIoctl: 56, cmdCancel: 4, cmdEcho: 4,
	cmdQueryDirectory: 32, cmdChangeNotify: 32, cmdQueryInfo: 40, cmdSetInfo: 32,
	cmdOplockBreak: 24,
}

func (c *conn) handlers(cmd uint16) handler {
	switch cmd {
	case cmdNegotiate:
		return (*conn).negotiate
	case cmdSessionSetup:
		return (*conn).sessionSetup
	case cmdLogoff:
		return (*conn).logoff
	case cmdTreeConnect:
		return (*conn).treeConnect
	case cmdTreeDisconnect:
		return (*conn).treeDisconnect
	case cmdCreate:
		return (*conn).create
	case cmdClose:
		return (*conn).closeFile
	case cmdFlush:
		return (*conn).flush
	case cmdRead:
		return (*conn).read
	case cmdWrite:
		return (*conn).write
	case cmdLock:
		return (*conn).lock
	case cmdIoctl:
		return (*conn).ioctl
	case cmdEcho:
		return func(*conn, *request) ([]byte, Status) { return []byte{4, 0, 0, 0}, StatusSuccess }
	case cmdQueryDirectory:
		return (*conn).queryDirectory
	case cmdChangeNotify:
		return (*conn).changeNotify
	case cmdQueryInfo:
		return (*conn).queryInfo
	case cmdSetInfo:
		return (*conn).setInfo
	case cmdOplockBreak:
		return (*conn).oplockBreakAck
	}
	return nil
}

// needs says what a command requires before it runs.
func needs(cmd uint16) (sess, tree bool) {
	switch cmd {
	case cmdNegotiate, cmdSessionSetup, cmdEcho:
		return false, false
	case cmdLogoff:
		return true, false
	case cmdTreeConnect:
		return true, false
	}
	return true, true
}

// handleFrame serves one frame: a message, a compound, or an encrypted
// one of those. An error drops the connection.
func (c *conn) handleFrame(frame []byte) error {
	if len(frame) < 4 {
		return errDisconnect
	}
	var encSess *session
	switch le.Uint32(frame) {
	case protoTransfm:
		plain, s, err := c.decrypt(frame)
		if err != nil {
			return err
		}
		frame, encSess = plain, s
	case protoSMB2:
	case protoSMB1:
		return c.smb1Negotiate(frame)
	default:
		return errDisconnect
	}
	return c.serveChain(frame, &chainState{encSess: encSess}, nil, nil)
}

// serveChain serves the requests of a compound in order and sends their
// responses, after out (responses already served) in one frame. A CREATE
// that goes async ends the frame with its interim response ([MS-SMB2]
// 3.3.4.2: a client stops reading a compound response at an interim
// one); the rest of the chain is served once it completes, its final
// response leading their frame (finishAsync). Any other request that
// would go async before the end of the compound fails with
// STATUS_INTERNAL_ERROR instead, as Windows' servers do ([MS-SMB2]
// 3.3.5.2.7 and its note on compounds; Samba's
// smbd_smb2_request_pending_queue does the same).
func (c *conn) serveChain(frame []byte, chain *chainState, out []*request, bodies [][]byte) error {
	encSess := chain.encSess
	for len(frame) > 0 {
		h, ok := parseHeader(frame)
		if !ok || h.Flags&flagResponse != 0 {
			return errDisconnect
		}
		n := len(frame)
		if h.NextCommand != 0 {
			if h.NextCommand < headerSize || int64(h.NextCommand) > int64(len(frame)) || h.NextCommand%8 != 0 {
				return errDisconnect
			}
			n = int(h.NextCommand)
		}
		r := &request{hdr: h, msg: frame[:n], body: frame[headerSize:n], encrypted: encSess != nil, chain: chain}
		frame = frame[n:]
		chain.n++
		if h.Command == cmdCancel {
			c.cancelRequest(r)
			continue
		}
		body, st, err := c.serveOne(r)
		if err != nil {
			return err
		}
		r.status = st
		if h.Command == cmdCreate && r.async == nil {
			chain.noteCreate(st)
		}
		if r.async != nil && len(frame) > 0 {
			if h.Command != cmdCreate {
				c.abandonAsync(r)
				body, r.status = nil, StatusInternalError
			} else {
				r.rest = frame
				frame = nil
			}
		}
		out = append(out, r)
		bodies = append(bodies, body)
	}
	if len(out) == 0 {
		return nil
	}
	return c.sendResponses(out, bodies, encSess)
}

// serveOne checks credits, session, tree and signature, then runs the
// handler. The response header is prepared in r.hdr.
func (c *conn) serveOne(r *request) ([]byte, Status, error) {
	h := &r.hdr
	charge := h.CreditCharge
	if c.dialect == dialect202 || c.dialect == 0 {
		charge = 1
	}
	c.mu.Lock()
	ok := c.credits.take(h.MessageID, charge)
	c.mu.Unlock()
	if !ok {
		return nil, 0, errors.New("smb2: message id outside the credit window")
	}
	if h.Command >= numCommands {
		return nil, StatusInvalidParameter, nil
	}
	if len(r.body) < minBody[h.Command] {
		return nil, StatusInvalidParameter, nil
	}
	related := h.Flags&flagRelated != 0
	if related {
		// [MS-SMB2] 3.3.5.2.7.2: a chain whose first request is
		// related, or a related request after one without a valid
		// session or tree, fails with STATUS_INVALID_PARAMETER (as
		// smbtorture's smb2.compound.invalid1 and related9 see
		// Windows do).
		if r.chain.n == 1 || r.chain.noSess {
			r.chain.noSess = true
			return nil, StatusInvalidParameter, nil
		}
		if h.SessionID == 0 || h.SessionID == ^uint64(0) {
			h.SessionID = r.chain.sessID
		}
		if h.TreeID == 0 || h.TreeID == ^uint32(0) {
			h.TreeID = r.chain.treeID
		}
		// A related request on the FileId of a CREATE that failed
		// fails with the CREATE's status (3.3.5.2.7.2; Samba's
		// compound_create_err), whatever the command.
		if at := fileIDAt[h.Command]; at > 0 && r.chain.createErr.isError() && getFileID(r.body[at:]) == relatedFileID {
			return nil, r.chain.createErr, nil
		}
	} else {
		r.chain.hasFID, r.chain.createErr, r.chain.noSess = false, 0, false
	}
	r.chain.sessID, r.chain.treeID = h.SessionID, h.TreeID
	// A request without a valid session or tree leaves none for the
	// related requests after it.
	r.chain.noSess = true
	needSess, needTree := needs(h.Command)
	if needSess {
		s := c.session(h.SessionID)
		if s == nil || !s.valid() {
			if related {
				return nil, StatusInvalidParameter, nil
			}
			return nil, StatusUserSessionDeleted, nil
		}
		r.sess = s
		if st := c.checkSigned(r); st != StatusSuccess {
			return nil, st, nil
		}
		if r.encrypted && !s.encrypts {
			s.mu.Lock()
			s.encrypts = true
			s.mu.Unlock()
		}
		if s.encryptData && !r.encrypted && c.dialect >= dialect300 {
			return nil, StatusAccessDenied, nil
		}
	}
	if needTree {
		t := r.sess.tree(h.TreeID)
		if t == nil {
			if related {
				return nil, StatusInvalidParameter, nil
			}
			return nil, StatusNetworkNameDeleted, nil
		}
		if t.share.EncryptData && !r.encrypted {
			return nil, StatusAccessDenied, nil
		}
		// A share that requires signing requires it of every request
		// on its tree, not only of the TREE_CONNECT (checkSigned has
		// verified the signature of a signed one).
		if t.share.SignRequired && !r.encrypted && h.Flags&flagSigned == 0 {
			return nil, StatusAccessDenied, nil
		}
		r.tree = t
	}
	r.chain.noSess = false
	if need := creditsNeeded(r); c.dialect >= dialect210 && c.serverCaps&capLargeMTU != 0 && need > max(h.CreditCharge, 1) {
		return nil, StatusInvalidParameter, nil
	}
	body, st := c.handlers(h.Command)(c, r)
	// TREE_CONNECT and SESSION_SETUP answer with the ids they made.
	r.chain.sessID, r.chain.treeID = h.SessionID, h.TreeID
	if st == statusDisconnect {
		return nil, st, errDisconnect
	}
	if st.isError() {
		c.srv.opts.Logger.Debug("smb2: request failed", "cmd", h.Command, "mid", h.MessageID, "status", st.String())
	}
	return body, st, nil
}

// creditsNeeded is the charge a large read, write, ioctl or directory
// query must pay: one credit per 64 KiB.
func creditsNeeded(r *request) uint16 {
	var n uint32
	b := r.body
	switch r.hdr.Command {
	case cmdRead:
		n = le.Uint32(b[4:])
	case cmdWrite:
		n = le.Uint32(b[4:])
	case cmdIoctl:
		n = max(le.Uint32(b[28:]), le.Uint32(b[44:]))
	case cmdQueryDirectory:
		n = le.Uint32(b[28:])
	default:
		return 1
	}
	if n == 0 {
		return 1
	}
	return uint16((uint64(n)-1)/65536 + 1)
}

// checkSigned verifies a request's signature when it is signed or must be
// ([MS-SMB2] 3.3.5.2.4 "Verifying the Signature"): an encrypted request
// needs none; a signed one must verify with the session's key; an
// unsigned one on a session with Session.SigningRequired (the client or
// Options.RequireSigning asked for it at SESSION_SETUP, 3.3.5.5.3) fails
// with STATUS_ACCESS_DENIED and is not executed. This runs for every
// request after SESSION_SETUP (NEGOTIATE, SESSION_SETUP and ECHO excepted,
// as Samba's smbd_smb2_request_dispatch does); serveOne adds the same
// rule for the trees of shares with SignRequired.
func (c *conn) checkSigned(r *request) Status {
	s := r.sess
	if r.encrypted {
		return StatusSuccess
	}
	if r.hdr.Flags&flagSigned != 0 {
		if s.keys.signing == nil {
			return StatusAccessDenied
		}
		if !verify(s.signAlg, s.keys.signing, r.msg) {
			return StatusAccessDenied
		}
		return StatusSuccess
	}
	if s.signRequired {
		return StatusAccessDenied
	}
	return StatusSuccess
}

// errorBody is the SMB2 ERROR response ([MS-SMB2] 2.2.2).
var errorBody = []byte{9, 0, 0, 0, 0, 0, 0, 0, 0}

// sendResponses builds, signs, maybe encrypts and writes the responses
// to one frame's requests.
func (c *conn) sendResponses(reqs []*request, bodies [][]byte, encSess *session) error {
	var frame []byte
	for i, r := range reqs {
		msg := c.buildResponse(r, bodies[i])
		if r.preauthConn {
			preauthUpdate(&c.preauth, msg)
		}
		if r.preauthSess != nil {
			preauthUpdate(&r.preauthSess.preauth, msg)
		}
		if i < len(reqs)-1 {
			for len(msg)%8 != 0 {
				msg = append(msg, 0)
			}
			le.PutUint32(msg[20:], uint32(len(msg)))
		}
		c.maybeSign(r, msg, encSess)
		frame = append(frame, msg...)
	}
	err := c.writeOut(frame, encSess)
	for _, r := range reqs {
		if r.afterSend != nil {
			r.afterSend()
		}
	}
	return err
}

// buildResponse encodes the header of r's response before body.
func (c *conn) buildResponse(r *request, body []byte) []byte {
	h := r.hdr
	st := r.status
	if r.async != nil {
		st = StatusPending
		h.Flags |= flagAsync
		h.AsyncID = r.async.asyncID
	}
	if body == nil || r.async != nil {
		body = errorBody
	}
	h.Status = st
	h.Flags = h.Flags&(flagRelated|flagAsync) | flagResponse
	h.NextCommand = 0
	h.Signature = [16]byte{}
	if r.final != nil {
		// The interim response granted the credits.
		h.Flags = flagResponse | flagAsync
		h.AsyncID = r.final.asyncID
		h.Credit = 0
	} else {
		c.mu.Lock()
		h.Credit = c.credits.grant(max(r.hdr.Credit, 1), c.srv.opts.MaxCredits)
		c.mu.Unlock()
	}
	msg := make([]byte, headerSize, headerSize+len(body)+8)
	h.put(msg)
	return append(msg, body...)
}

func (c *conn) maybeSign(r *request, msg []byte, encSess *session) {
	if encSess != nil {
		return
	}
	s := r.signWith
	if s == nil {
		s = r.sess
		treeSigns := r.tree != nil && r.tree.share.SignRequired
		if s == nil || (r.hdr.Flags&flagSigned == 0 && !s.signRequired && !treeSigns) {
			return
		}
	}
	if s.keys.signing == nil {
		return
	}
	sign(s.signAlg, s.keys.signing, msg)
}

// writeOut writes a frame, encrypting it for encSess if set.
func (c *conn) writeOut(frame []byte, encSess *session) error {
	if encSess != nil {
		var err error
		frame, err = c.encrypt(frame, encSess)
		if err != nil {
			return err
		}
	}
	return c.writeFrame(frame)
}

// decrypt opens a transform-header frame ([MS-SMB2] 2.2.41).
func (c *conn) decrypt(frame []byte) ([]byte, *session, error) {
	if len(frame) < transformSize+headerSize || c.dialect < dialect300 {
		return nil, nil, errDisconnect
	}
	size := le.Uint32(frame[36:])
	sid := le.Uint64(frame[44:])
	if int64(size) != int64(len(frame)-transformSize) {
		return nil, nil, errDisconnect
	}
	s := c.session(sid)
	if s == nil || s.decrypter == nil {
		return nil, nil, errDisconnect
	}
	ns := s.decrypter.NonceSize()
	ct := make([]byte, 0, int(size)+16)
	ct = append(ct, frame[transformSize:]...)
	ct = append(ct, frame[4:20]...)
	plain, err := s.decrypter.Open(nil, frame[20:20+ns], ct, frame[20:transformSize])
	if err != nil {
		return nil, nil, errDisconnect
	}
	return plain, s, nil
}

// encrypt wraps a frame in a transform header for s.
func (c *conn) encrypt(frame []byte, s *session) ([]byte, error) {
	out := make([]byte, transformSize, transformSize+len(frame)+16)
	le.PutUint32(out, protoTransfm)
	ns := s.encrypter.NonceSize()
	if _, err := rand.Read(out[20 : 20+ns]); err != nil {
		return nil, err
	}
	le.PutUint32(out[36:], uint32(len(frame)))
	le.PutUint16(out[42:], 1)
	le.PutUint64(out[44:], s.id)
	sealed := s.encrypter.Seal(nil, out[20:20+ns], frame, out[20:transformSize])
	n := len(frame)
	copy(out[4:20], sealed[n:])
	return append(out, sealed[:n]...), nil
}

// pendingReq is an async request that can be cancelled.
type pendingReq struct {
	mid, asyncID uint64
	sessID       uint64
	cancel       func()
	abandoned    bool // answered synchronously after all: no final response (c.mu)
}

// goAsync registers r as an async request; the handler then returns and
// finishes later with finishAsync.
func (c *conn) goAsync(r *request, cancel func()) *pendingReq {
	p := &pendingReq{mid: r.hdr.MessageID, asyncID: c.srv.nextAsync.Add(1), sessID: r.hdr.SessionID, cancel: cancel}
	c.mu.Lock()
	c.pending[p.mid] = p
	c.mu.Unlock()
	r.async = p
	return p
}

// finishAsync sends the final response of an async request; when it was
// a CREATE inside a compound, the requests after it are served now and
// their responses follow it in its frame.
func (c *conn) finishAsync(r *request, p *pendingReq, body []byte, st Status) {
	c.mu.Lock()
	delete(c.pending, p.mid)
	abandoned := p.abandoned
	c.mu.Unlock()
	if abandoned {
		return
	}
	r.async, r.final, r.status = nil, p, st
	r.afterSend, r.signWith, r.preauthConn, r.preauthSess = nil, nil, false, nil
	if r.hdr.Command == cmdCreate {
		r.chain.noteCreate(st)
	}
	rest := r.rest
	r.rest = nil
	if err := c.serveChain(rest, r.chain, []*request{r}, [][]byte{body}); err != nil {
		c.srv.opts.Logger.Debug("smb2: dropping connection", "remote", c.nc.RemoteAddr(), "err", err)
		c.nc.Close()
	}
}

// abandonAsync takes back r's going async: it is answered synchronously
// and its handler's final response is never sent.
func (c *conn) abandonAsync(r *request) {
	p := r.async
	c.mu.Lock()
	p.abandoned = true
	delete(c.pending, p.mid)
	c.mu.Unlock()
	p.cancel()
	r.async, r.afterSend = nil, nil
}

// noteCreate records the outcome of the chain's CREATE for the related
// requests after it.
func (ch *chainState) noteCreate(st Status) {
	if st.isError() {
		ch.createErr, ch.hasFID = st, false
		return
	}
	ch.createErr = 0
}

// cancelRequest serves CANCEL: no response of its own.
func (c *conn) cancelRequest(r *request) {
	c.mu.Lock()
	var p *pendingReq
	if r.hdr.Flags&flagAsync != 0 {
		for _, q := range c.pending {
			if q.asyncID == r.hdr.AsyncID {
				p = q
			}
		}
	} else {
		p = c.pending[r.hdr.MessageID]
	}
	c.mu.Unlock()
	if p != nil {
		p.cancel()
	}
}

// smb1Negotiate answers an SMB1 NEGOTIATE that offers SMB2 with an SMB2
// NEGOTIATE response (dialect 0x02FF); anything else drops the
// connection.
func (c *conn) smb1Negotiate(frame []byte) error {
	if c.dialect != 0 || len(frame) < 35 || frame[4] != 0x72 {
		return errDisconnect
	}
	if !containsSMB2Dialect(frame[35:]) {
		return errDisconnect
	}
	// The SMB1 request took message id 0; the SMB2 NEGOTIATE that
	// follows is message id 1.
	c.mu.Lock()
	c.credits.take(0, 1)
	c.credits.grant(1, c.srv.opts.MaxCredits)
	c.mu.Unlock()
	c.dialect = dialectWild
	body := c.negotiateResponse(dialectWild, nil)
	var h header
	h.Command = cmdNegotiate
	h.Flags = flagResponse
	h.Credit = 1
	msg := make([]byte, headerSize)
	h.put(msg)
	return c.writeFrame(append(msg, body...))
}

func containsSMB2Dialect(b []byte) bool {
	for len(b) > 1 {
		if b[0] != 2 {
			return false
		}
		end := 1
		for end < len(b) && b[end] != 0 {
			end++
		}
		d := string(b[1:end])
		if d == "SMB 2.002" || d == "SMB 2.???" {
			return true
		}
		if end >= len(b) {
			break
		}
		b = b[end+1:]
	}
	return false
}

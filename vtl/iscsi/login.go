package iscsi

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
)

// Login status class and detail (RFC 7143 11.13.5).
const (
	loginSuccess          = 0x0000
	loginAuthFailed       = 0x0201
	loginForbidden        = 0x0202
	loginNotFound         = 0x0203
	loginBadVersion       = 0x0205
	loginTooManyConns     = 0x0206
	loginMissingParam     = 0x0207
	loginNoSession        = 0x020a
	loginInitiatorError   = 0x0200
	loginInvalidRequest   = 0x020b
	loginTargetError      = 0x0300
	loginSessionTypeUnsup = 0x0209
	loginOutOfResources   = 0x0302
)

// Login stages.
const (
	stageSecurity    = 0
	stageOperational = 1
	stageFullFeature = 3
)

// loginError ends a login with a status.
type loginError struct {
	status uint16
	msg    string
}

func (e *loginError) Error() string { return fmt.Sprintf("login status %04x: %s", e.status, e.msg) }

func fail(status uint16, format string, a ...any) error {
	return &loginError{status, fmt.Sprintf(format, a...)}
}

// loginState is what one login has learnt so far.
type loginState struct {
	first     *wire.PDU
	initiator string
	target    Target
	discovery bool
	chap      CHAP
	authDone  bool
	authCHAP  bool // AuthMethod=CHAP agreed
	chapID    byte
	chapChal  []byte
	neg       *negotiator
	tpgtSent  bool
	cmdSN     uint32
	sess      *session // made by the last step: its window goes in the reply
}

// login runs the login phase and returns the session the connection
// belongs to. A failed login has been answered with its status.
func (c *conn) login() (*session, error) {
	c.nc.SetDeadline(time.Now().Add(c.srv.opts.LoginTimeout))
	defer c.nc.SetDeadline(time.Time{})
	st := &loginState{}
	var pending []byte // data of PDUs with the Continue bit
	defer func() { c.lim.addText(-len(pending)) }()
	total := 0 // text of the whole login
	for {
		req, err := wire.ReadPDU(c.br, wire.Digests{}, 8192)
		if err != nil {
			return nil, err
		}
		if req.Opcode() != wire.OpLoginReq {
			return nil, fmt.Errorf("iscsi: opcode %#x during login", req.Opcode())
		}
		if st.first == nil {
			st.first = req
			c.statSN = req.Uint32(28)
		}
		st.cmdSN = req.Uint32(24)
		if total += len(req.Data); total > c.lim.maxText {
			// RFC 7143 11.13.5: 0200h, an initiator error not covered
			// by a more specific detail; the connection is dropped.
			_ = c.loginReply(st, req, nil, false, req.Flags()>>2&3, loginInitiatorError) // the connection is dropped either way
			return nil, fmt.Errorf("iscsi: login text over %d bytes", c.lim.maxText)
		}
		pending = append(pending, req.Data...)
		c.lim.addText(len(req.Data))
		if req.Flags()&wire.FlagContinue != 0 {
			if err := c.loginReply(st, req, nil, false, req.Flags()>>2&3, loginSuccess); err != nil {
				return nil, err
			}
			continue
		}
		data := pending
		c.lim.addText(-len(pending))
		pending = nil
		ss, done, err := c.loginStep(st, req, data)
		if err != nil {
			status := uint16(loginInitiatorError)
			if le, ok := err.(*loginError); ok {
				status = le.status
			}
			_ = c.loginReply(st, req, nil, false, req.Flags()>>2&3, status) // best effort: err is what we return
			return nil, err
		}
		if done {
			return ss, nil
		}
	}
}

// loginStep handles one complete login request.
func (c *conn) loginStep(st *loginState, req *wire.PDU, data []byte) (*session, bool, error) {
	flags := req.Flags()
	csg, nsg, transit := int(flags>>2&3), int(flags&3), flags&wire.FlagTransit != 0
	if req.BHS[3] > 0 { // VersionMin
		return nil, false, fail(loginBadVersion, "version min %d", req.BHS[3])
	}
	if !bytes.Equal(req.BHS[8:14], st.first.BHS[8:14]) {
		return nil, false, fail(loginInvalidRequest, "ISID changed during login")
	}
	kv, err := wire.ParseText(data)
	if err != nil {
		return nil, false, fail(loginInitiatorError, "%v", err)
	}
	if st.neg == nil {
		if err := c.loginFirst(st, req, kv); err != nil {
			return nil, false, err
		}
	}
	var out wire.Text
	if !st.discovery && !st.tpgtSent {
		st.tpgtSent = true
		out.Set("TargetPortalGroupTag", strconv.Itoa(int(c.srv.opts.PortalGroupTag)))
		if st.target.Alias != "" {
			out.Set("TargetAlias", st.target.Alias)
		}
	}
	switch csg {
	case stageSecurity:
		if err := c.security(st, kv, &out); err != nil {
			return nil, false, err
		}
	case stageOperational:
		if !st.authDone {
			if st.chap.Required() {
				return nil, false, fail(loginAuthFailed, "authentication required")
			}
			st.authDone = true
		}
		for _, p := range kv {
			if !loginKeys[p.Key] {
				st.neg.answer(p.Key, p.Value, &out)
			}
		}
		st.neg.finish(&out)
	default:
		return nil, false, fail(loginInitiatorError, "login stage %d", csg)
	}
	grant := transit && st.authDone && (nsg == stageOperational || nsg == stageFullFeature) && nsg > csg
	if transit && !grant && st.authDone {
		return nil, false, fail(loginInitiatorError, "transition from stage %d to %d", csg, nsg)
	}
	if !grant || nsg != stageFullFeature {
		return nil, false, c.loginReply(st, req, out, grant, byte(nsg), loginSuccess)
	}
	// Full feature phase: the session starts. The last Login Response
	// still goes without digests; the negotiated values apply after it.
	p := st.neg.p
	if !st.neg.declared {
		p.maxRecv = 8192
	}
	ss := newSession(c, st)
	if !c.lim.admitSession(c.reinstates(ss.key)) {
		return nil, false, fail(loginOutOfResources, "%d sessions: MaxSessions", c.lim.maxSessions)
	}
	ss.counted = true
	st.sess = ss
	if !st.discovery {
		c.srv.register(ss)
		ss.arrived() // before the initiator can send a command
	}
	err = c.loginReply(st, req, out, true, byte(nsg), loginSuccess, ss.tsih)
	if err != nil {
		c.srv.unregister(ss)
		c.lim.sessionEnded()
		return nil, false, err
	}
	c.p = p
	c.srv.log.Info("iscsi: login", "initiator", st.initiator, "target", st.target.Name,
		"discovery", st.discovery, "remote", c.nc.RemoteAddr().String(),
		"header_digest", c.p.headerDigest, "data_digest", c.p.dataDigest)
	return ss, true, nil
}

// reinstates reports whether a session with key is logged in, which a
// new login with the same key replaces (RFC 7143 6.3.5).
func (c *conn) reinstates(key sessionKey) bool {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	_, ok := c.srv.sessions[key]
	return ok
}

// loginFirst checks the keys of the first request: who logs in to what.
func (c *conn) loginFirst(st *loginState, req *wire.PDU, kv wire.Text) error {
	if tsih := uint16(req.BHS[14])<<8 | uint16(req.BHS[15]); tsih != 0 {
		return fail(loginNoSession, "adding a connection to session %d: MaxConnections=1", tsih)
	}
	var ok bool
	st.initiator, ok = kv.Get("InitiatorName")
	if !ok || st.initiator == "" {
		return fail(loginMissingParam, "no InitiatorName")
	}
	switch typ, _ := kv.Get("SessionType"); typ {
	case "Discovery":
		st.discovery = true
		st.chap = c.srv.opts.DiscoveryCHAP
	case "", "Normal":
		name, ok := kv.Get("TargetName")
		if !ok || name == "" {
			return fail(loginMissingParam, "no TargetName")
		}
		t, found := c.srv.target(name)
		if !found {
			return fail(loginNotFound, "no target %q", name)
		}
		st.target, st.chap = t, t.CHAP
	default:
		return fail(loginSessionTypeUnsup, "SessionType %q", typ)
	}
	st.neg = newNegotiator(c.srv.opts.Limits, st.discovery)
	return nil
}

// security runs the security negotiation stage: AuthMethod and CHAP.
func (c *conn) security(st *loginState, kv wire.Text, out *wire.Text) error {
	if m, ok := kv.Get("AuthMethod"); ok && !st.authDone && !st.authCHAP {
		methods := strings.Split(m, ",")
		switch {
		case st.chap.Required() && contains(methods, "CHAP"):
			st.authCHAP = true
			out.Set("AuthMethod", "CHAP")
		case st.chap.Required():
			return fail(loginAuthFailed, "CHAP required, initiator offers %q", m)
		case contains(methods, "None"):
			st.authDone = true
			out.Set("AuthMethod", "None")
		default:
			return fail(loginAuthFailed, "no CHAP secret configured, initiator offers %q", m)
		}
	}
	if a, ok := kv.Get("CHAP_A"); ok && st.authCHAP && st.chapChal == nil {
		if !contains(strings.Split(a, ","), wire.CHAPMD5) {
			out.Set("CHAP_A", "Reject")
			return fail(loginAuthFailed, "CHAP_A %q: only MD5 (5)", a)
		}
		st.chapID, st.chapChal = wire.NewChallenge()
		out.Set("CHAP_A", wire.CHAPMD5)
		out.Set("CHAP_I", strconv.Itoa(int(st.chapID)))
		out.Set("CHAP_C", wire.FormatBinary(st.chapChal))
	}
	if n, ok := kv.Get("CHAP_N"); ok && st.authCHAP && st.chapChal != nil && !st.authDone {
		if err := c.checkCHAP(st, n, kv, out); err != nil {
			return err
		}
		st.authDone = true
	}
	if !st.authDone && !st.authCHAP && !st.chap.Required() {
		if _, ok := kv.Get("AuthMethod"); !ok {
			st.authDone = true // nothing to negotiate
		}
	}
	for _, p := range kv {
		if !loginKeys[p.Key] {
			st.neg.answer(p.Key, p.Value, out)
		}
	}
	return nil
}

// chapVerify checks the initiator's CHAP response and answers a mutual
// CHAP challenge.
func (c *conn) chapVerify(st *loginState, name string, kv wire.Text, out *wire.Text) error {
	r, _ := kv.Get("CHAP_R")
	got, err := wire.ParseBinary(r)
	if err != nil {
		return fail(loginAuthFailed, "CHAP_R: %v", err)
	}
	want := wire.CHAPResponse(st.chapID, st.chap.Secret, st.chapChal)
	nameOK := subtle.ConstantTimeCompare([]byte(name), []byte(st.chap.User)) == 1
	if !nameOK || subtle.ConstantTimeCompare(got, want) != 1 {
		return fail(loginAuthFailed, "CHAP response of %q does not match", name)
	}
	ci, hasI := kv.Get("CHAP_I")
	cc, hasC := kv.Get("CHAP_C")
	if !hasI && !hasC {
		return nil
	}
	if st.chap.MutualUser == "" {
		return fail(loginAuthFailed, "initiator asks for mutual CHAP, none configured")
	}
	id, err := wire.ParseNumber(ci)
	if err != nil || id > 255 || !hasC {
		return fail(loginAuthFailed, "bad CHAP_I %q", ci)
	}
	chal, err := wire.ParseBinary(cc)
	if err != nil || len(chal) == 0 {
		return fail(loginAuthFailed, "bad CHAP_C")
	}
	if bytes.Equal(chal, st.chapChal) {
		return fail(loginAuthFailed, "initiator reflects the target's challenge")
	}
	out.Set("CHAP_N", st.chap.MutualUser)
	out.Set("CHAP_R", wire.FormatBinary(wire.CHAPResponse(byte(id), st.chap.MutualSecret, chal)))
	return nil
}

// loginReply sends a Login Response.
func (c *conn) loginReply(st *loginState, req *wire.PDU, kv wire.Text, transit bool, nsg byte, status uint16, tsih ...uint16) error {
	p := &wire.PDU{}
	p.SetOpcode(wire.OpLoginResp, false)
	csg := req.Flags() >> 2 & 3
	p.BHS[1] = csg<<2 | nsg&3
	if transit {
		p.BHS[1] |= wire.FlagTransit
	} else {
		p.BHS[1] &^= 3
	}
	copy(p.BHS[8:14], req.BHS[8:14]) // ISID
	if len(tsih) > 0 {
		p.BHS[14], p.BHS[15] = byte(tsih[0]>>8), byte(tsih[0])
	}
	p.SetUint32(16, req.ITT())
	p.SetUint32(28, st.cmdSN)
	p.SetUint32(32, st.cmdSN+uint32(c.srv.opts.QueueDepth)-1)
	if st.sess != nil {
		_, max := st.sess.window()
		p.SetUint32(32, max)
	}
	p.BHS[36], p.BHS[37] = byte(status>>8), byte(status)
	if status == loginSuccess {
		p.Data = kv.Encode()
	}
	return c.send(p, statusAdvance)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

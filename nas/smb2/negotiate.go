package smb2

import (
	"crypto/rand"
	"slices"
)

// Capabilities and security modes of NEGOTIATE.
const (
	capDFS        = 0x01
	capLeasing    = 0x02
	capLargeMTU   = 0x04
	capEncryption = 0x40

	secSigningEnabled  = 0x01
	secSigningRequired = 0x02
)

// Negotiate context types.
const (
	ctxPreauth    = 0x0001
	ctxEncryption = 0x0002
	ctxSigning    = 0x0008
)

// statusDisconnect is an internal status: drop the connection.
const statusDisconnect Status = 0xFFFFFFFF

var serverDialects = []uint16{dialect202, dialect210, dialect300, dialect302, dialect311}

func (c *conn) negotiate(r *request) ([]byte, Status) {
	if c.dialect != 0 && c.dialect != dialectWild {
		return nil, statusDisconnect
	}
	b := r.body
	count := int(le.Uint16(b[2:]))
	if count == 0 || len(b) < 36+2*count {
		return nil, StatusInvalidParameter
	}
	c.clientSecMode = le.Uint16(b[4:])
	c.clientCaps = le.Uint32(b[8:])
	copy(c.clientGUID[:], b[12:28])
	var dialects []uint16
	for i := 0; i < count; i++ {
		dialects = append(dialects, le.Uint16(b[36+2*i:]))
	}
	c.clientDialects = dialects
	chosen := uint16(0)
	for _, d := range serverDialects {
		if d >= c.srv.opts.MinDialect && d <= c.srv.opts.MaxDialect && slices.Contains(dialects, d) {
			chosen = d
		}
	}
	if chosen == 0 {
		return nil, StatusNotSupported
	}
	var ctxs []byte
	if chosen == dialect311 {
		var st Status
		ctxs, st = c.negotiateContexts(r.msg, le.Uint32(b[28:]), le.Uint16(b[32:]))
		if st != StatusSuccess {
			return nil, st
		}
		preauthUpdate(&c.preauth, r.msg)
		r.preauthConn = true
	} else if chosen >= dialect300 {
		c.signAlg = signAESCMAC
		if c.clientCaps&capEncryption != 0 {
			c.cipher = cipherAES128CCM
		}
	} else {
		c.signAlg = signHMACSHA256
	}
	c.dialect = chosen
	return c.negotiateResponse(chosen, ctxs), StatusSuccess
}

// negotiateContexts reads the 3.1.1 contexts and returns the response's.
func (c *conn) negotiateContexts(msg []byte, off uint32, count uint16) ([]byte, Status) {
	if count == 0 {
		return nil, StatusInvalidParameter
	}
	p := uint64(off)
	var havePreauth bool
	c.signAlg = signAESCMAC
	var out buf
	n := 0
	for i := 0; i < int(count); i++ {
		p = (p + 7) &^ 7
		if p+8 > uint64(len(msg)) {
			return nil, StatusInvalidParameter
		}
		typ := le.Uint16(msg[p:])
		l := uint64(le.Uint16(msg[p+2:]))
		if p+8+l > uint64(len(msg)) {
			return nil, StatusInvalidParameter
		}
		data := msg[p+8 : p+8+l]
		p += 8 + l
		switch typ {
		case ctxPreauth:
			if havePreauth || len(data) < 4 {
				return nil, StatusInvalidParameter
			}
			algs := int(le.Uint16(data))
			if algs == 0 || len(data) < 4+2*algs {
				return nil, StatusInvalidParameter
			}
			sha512 := false
			for j := 0; j < algs; j++ {
				sha512 = sha512 || le.Uint16(data[4+2*j:]) == 1
			}
			if !sha512 {
				return nil, StatusSMBNoPreauthIntegrityHashOverlap
			}
			havePreauth = true
			salt := make([]byte, 32)
			_, _ = rand.Read(salt)
			var d buf
			d.u16(1)
			d.u16(32)
			d.u16(1)
			d.bytes(salt)
			appendContext(&out, ctxPreauth, d.b)
			n++
		case ctxEncryption:
			if len(data) < 2 {
				return nil, StatusInvalidParameter
			}
			nc := int(le.Uint16(data))
			if nc == 0 || len(data) < 2+2*nc {
				return nil, StatusInvalidParameter
			}
			var offered []uint16
			for j := 0; j < nc; j++ {
				offered = append(offered, le.Uint16(data[2+2*j:]))
			}
			c.cipher = 0
			for _, want := range []uint16{cipherAES128GCM, cipherAES128CCM, cipherAES256GCM, cipherAES256CCM} {
				if slices.Contains(offered, want) {
					c.cipher = want
					break
				}
			}
			var d buf
			d.u16(1)
			d.u16(c.cipher)
			appendContext(&out, ctxEncryption, d.b)
			n++
		case ctxSigning:
			if len(data) < 2 {
				return nil, StatusInvalidParameter
			}
			na := int(le.Uint16(data))
			if na == 0 || len(data) < 2+2*na {
				return nil, StatusInvalidParameter
			}
			var offered []uint16
			for j := 0; j < na; j++ {
				offered = append(offered, le.Uint16(data[2+2*j:]))
			}
			c.signAlg = signAESCMAC
			for _, want := range []uint16{signAESGMAC, signAESCMAC, signHMACSHA256} {
				if slices.Contains(offered, want) {
					c.signAlg = want
					break
				}
			}
			var d buf
			d.u16(1)
			d.u16(c.signAlg)
			appendContext(&out, ctxSigning, d.b)
			n++
		}
	}
	if !havePreauth {
		return nil, StatusInvalidParameter
	}
	return append(le.AppendUint16(nil, uint16(n)), out.b...), StatusSuccess
}

// StatusSMBNoPreauthIntegrityHashOverlap: no common preauth hash.
const StatusSMBNoPreauthIntegrityHashOverlap Status = 0xC05D0000

func appendContext(w *buf, typ uint16, data []byte) {
	w.align(8)
	w.u16(typ)
	w.u16(uint16(len(data)))
	w.u32(0)
	w.bytes(data)
}

// negotiateResponse encodes the NEGOTIATE response; ctxs is the context
// count (2 bytes) followed by the contexts, for 3.1.1.
func (c *conn) negotiateResponse(dialect uint16, ctxs []byte) []byte {
	o := c.srv.opts
	sec := uint16(secSigningEnabled)
	if o.RequireSigning {
		sec |= secSigningRequired
	}
	c.serverSecMode = sec
	caps := uint32(0)
	maxIO := uint32(65536)
	if dialect != dialect202 {
		caps |= capLargeMTU | capLeasing
		maxIO = o.MaxIO
	}
	if (dialect == dialect300 || dialect == dialect302) && c.cipher != 0 {
		caps |= capEncryption
	}
	c.serverCaps = caps
	blob := negTokenInit2()
	var w buf
	w.u16(65)
	w.u16(sec)
	w.u16(dialect)
	var ctxCount uint16
	if len(ctxs) >= 2 {
		ctxCount = le.Uint16(ctxs)
	}
	w.u16(ctxCount)
	w.bytes(c.srv.guid[:])
	w.u32(caps)
	w.u32(maxIO)
	w.u32(maxIO)
	w.u32(maxIO)
	w.time(o.Now())
	w.time(c.srv.start)
	w.u16(headerSize + 64)
	w.u16(uint16(len(blob)))
	ctxOffPos := len(w.b)
	w.u32(0)
	w.bytes(blob)
	if ctxCount > 0 {
		w.align(8)
		le.PutUint32(w.b[ctxOffPos:], uint32(headerSize+len(w.b)))
		w.bytes(ctxs[2:])
	}
	return w.b
}

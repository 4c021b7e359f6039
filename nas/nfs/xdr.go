package nfs

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// errGarbage: a request that does not decode (GARBAGE_ARGS).
var errGarbage = errors.New("nfs: garbage arguments")

// xdrReader decodes XDR (RFC 4506) from a buffer; the first error
// sticks and every later read returns zero.
type xdrReader struct {
	b   []byte
	err error
}

func (r *xdrReader) fail() { r.err = errGarbage }

func (r *xdrReader) u32() uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.fail()
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *xdrReader) u64() uint64 {
	hi := uint64(r.u32())
	return hi<<32 | uint64(r.u32())
}

func (r *xdrReader) bool() bool { return r.u32() != 0 }

// opaque reads variable-length opaque data of at most max bytes.
func (r *xdrReader) opaque(maxLen int) []byte {
	n := int(r.u32())
	if r.err != nil || n > maxLen {
		r.fail()
		return nil
	}
	return r.fixed(n)
}

// fixed reads n bytes and their padding to a multiple of 4.
func (r *xdrReader) fixed(n int) []byte {
	pad := (4 - n%4) % 4
	if r.err != nil || n < 0 || len(r.b) < n+pad {
		r.fail()
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n+pad:]
	return v
}

func (r *xdrReader) str(maxLen int) string { return string(r.opaque(maxLen)) }

// xdrWriter encodes XDR into a growing buffer.
type xdrWriter struct{ b []byte }

func (w *xdrWriter) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *xdrWriter) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }

func (w *xdrWriter) bool(v bool) {
	if v {
		w.u32(1)
	} else {
		w.u32(0)
	}
}

func (w *xdrWriter) opaque(p []byte) {
	w.u32(uint32(len(p)))
	w.fixed(p)
}

func (w *xdrWriter) fixed(p []byte) {
	w.b = append(w.b, p...)
	for i := len(p); i%4 != 0; i++ {
		w.b = append(w.b, 0)
	}
}

func (w *xdrWriter) str(s string) { w.opaque([]byte(s)) }

// authSys is an AUTH_SYS credential (RFC 5531 appendix A).
type authSys struct {
	Machine string
	UID     uint32
	GID     uint32
	GIDs    []uint32
}

func decodeAuthSys(body []byte) (authSys, error) {
	r := xdrReader{b: body}
	var a authSys
	r.u32() // stamp
	a.Machine = r.str(255)
	a.UID, a.GID = r.u32(), r.u32()
	n := r.u32()
	if n > 16 {
		return a, fmt.Errorf("%w: %d groups", errGarbage, n)
	}
	for range n {
		a.GIDs = append(a.GIDs, r.u32())
	}
	return a, r.err
}

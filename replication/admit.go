package replication

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
)

// Limits bound what a source's connection may cost the target, before its
// certificate is known and after. docs/replication.md derives the memory
// bound per connection and in total from them.
type Limits struct {
	// HandshakeTimeout bounds the TLS handshake, the certificate check
	// included.
	HandshakeTimeout time.Duration
	// HelloTimeout bounds the wait for the hello frame once the
	// handshake is done.
	HelloTimeout time.Duration
	// MaxHello caps the body of the first frame, which must be the hello.
	MaxHello int
	// MaxControl caps the JSON frames of a session: list, begin, commit,
	// delete (an item's metadata travels in begin and commit).
	MaxControl int
	// MaxFrame caps every frame. A chunks frame is also held to what a
	// source sends: chunksFrame plus one chunk of the domain's largest
	// size. The source holds the target's frames (a listing) to it too.
	MaxFrame int
	// MaxConns caps the sources' connections open at once, in handshake
	// or in session, in all and from one address; one more is closed as
	// soon as it is accepted (by internal/netsvc, where every raw-TCP
	// front end's connections are counted).
	MaxConns int
}

// DefaultLimits are what backstop serve uses.
func DefaultLimits() Limits {
	return Limits{HandshakeTimeout: 10 * time.Second, HelloTimeout: 10 * time.Second,
		MaxHello: 4 << 10, MaxControl: 1 << 20, MaxFrame: maxFrame, MaxConns: 64}
}

// withDefaults fills the unset (zero or negative) limits.
func (l Limits) withDefaults() Limits {
	def := DefaultLimits()
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = def.HandshakeTimeout
	}
	if l.HelloTimeout <= 0 {
		l.HelloTimeout = def.HelloTimeout
	}
	if l.MaxHello <= 0 {
		l.MaxHello = def.MaxHello
	}
	if l.MaxControl <= 0 {
		l.MaxControl = def.MaxControl
	}
	if l.MaxFrame <= 0 {
		l.MaxFrame = def.MaxFrame
	}
	if l.MaxConns <= 0 {
		l.MaxConns = def.MaxConns
	}
	return l
}

// beforeHello caps the first frame of a session, whatever its type.
func (l Limits) beforeHello(byte) int { return l.MaxHello }

// session caps the frames of a session once the hello has named a domain
// whose chunks are at most params.Max bytes.
func (l Limits) session(params chunker.Params) func(byte) int {
	chunks := min(l.MaxFrame, chunksFrame+chunkHeader+params.Max)
	return func(typ byte) int {
		switch typ {
		case msgChunks:
			return chunks
		case msgRecipe:
			return min(l.MaxFrame, recipeFrameMax)
		case msgList, msgBegin, msgCommit, msgDelete:
			return min(l.MaxFrame, l.MaxControl)
		}
		return min(l.MaxFrame, l.MaxHello) // refused by type once read
	}
}

// gateStats are what happened to the connections a gate saw.
type gateStats struct {
	Accepted  int64 // connections admitted under MaxConns
	OverCap   int64 // connections closed at accept, over MaxConns (netsvc)
	Refused   int64 // handshakes failed: untrusted certificate, timeout, not TLS
	Hellos    int64 // first frames read (the hello, or what came in its place)
	FrameHeap int64 // bytes of frame buffers allocated, all sessions together
}

// gate counts what became of the sources' connections (the tests assert on
// the counts); netsvc has already refused those over MaxConns.
type gate struct {
	accepted, refused, hellos, frames atomic.Int64
	// overCap counts the connections netsvc refused; set once the
	// listener exists.
	overCap func() int64
	// tap, when set (tests: fuzz seeds), sees every frame a session
	// receives.
	tap atomic.Pointer[func(typ byte, body []byte)]
}

func newGate() *gate { return &gate{overCap: func() int64 { return 0 }} }

func (g *gate) stats() gateStats {
	return gateStats{Accepted: g.accepted.Load(), OverCap: g.overCap(), Refused: g.refused.Load(),
		Hellos: g.hellos.Load(), FrameHeap: g.frames.Load()}
}

// verifySource is the server's tls.Config.VerifyConnection: the client's
// certificate must be a paired source's. Failing it ends the handshake
// with a bad_certificate alert, before the server reads any frame.
func (s *Service) verifySource(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("replication: the source sent no certificate")
	}
	if fp := Fingerprint(cs.PeerCertificates[0].Raw); !s.trusted(fp) {
		return fmt.Errorf("replication: certificate %s is not a paired source's", fp)
	}
	return nil
}

// handshake runs the server side of TLS on raw within HandshakeTimeout
// and returns the source's certificate fingerprint.
func (s *Service) handshake(raw net.Conn) (*tls.Conn, string, error) {
	tc := tls.Server(raw, s.serverTLS)
	// A socket deadline, not a context: it also bounds a peer that
	// stops mid-record. Deadlines are wall-clock, not Options.Now.
	raw.SetDeadline(time.Now().Add(s.opts.Limits.HandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		s.gate.refused.Add(1)
		return nil, "", err
	}
	raw.SetDeadline(time.Time{})
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 { // RequireAnyClientCert: not reached
		s.gate.refused.Add(1)
		return nil, "", errors.New("replication: no client certificate")
	}
	return tc, Fingerprint(certs[0].Raw), nil
}

// asDenied turns the target's refusal of our certificate at the handshake
// into the err frame the target used to answer the hello with, so that
// an operator sees the same "pair it first" either way. TLS 1.3 ends the
// client's handshake before the server has checked the client's
// certificate: the refusal arrives as the answer to the first frame.
func asDenied(err error, self string) error {
	// The alert a target sends when VerifyConnection refuses (42).
	deniedAlert := tls.AlertError(42).Error() // "tls: bad certificate"
	var op *net.OpError
	if err == nil || !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil || op.Err.Error() != deniedAlert {
		return err
	}
	return &RemoteError{Code: codeDenied, Message: fmt.Sprintf(
		"the target refused certificate %s at the TLS handshake: pair this appliance as a replication source on the target first", self)}
}

// preAuthConnBound is the documented heap a connection may hold before
// its certificate is checked: the TLS handshake's state and one record
// buffer (docs/replication.md, TestHostileHeap).
const preAuthConnBound = 64 << 10

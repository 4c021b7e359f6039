package replication

import (
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
)

// limitedNode is a node whose limits are set by the test (short
// deadlines, few connections).
func limitedNode(t *testing.T, l Limits) *node {
	t.Helper()
	return newNodeWith(t, t.TempDir(), engineOptions(), func(o *Options) { o.Limits = l })
}

// dialTLS connects to addr as a client presenting cert (none if nil).
func dialTLS(t *testing.T, addr string, cert *tls.Certificate) (*tls.Conn, error) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tc := tls.Client(raw, cfg)
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	return tc, tc.Handshake()
}

// frameHeader is a frame's type and announced body length.
func frameHeader(typ byte, n uint32) []byte {
	h := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[1:], n)
	return h
}

// readErrFrame reads the err frame that answers a refused frame.
func readErrFrame(t *testing.T, c io.Reader) RemoteError {
	t.Helper()
	fc := newFrameConn(struct {
		io.Reader
		io.Writer
	}{c, io.Discard})
	typ, body, err := fc.recv()
	if err != nil {
		t.Fatalf("no err frame: %v", err)
	}
	var re RemoteError
	if typ != msgErr || json.Unmarshal(body, &re) != nil {
		t.Fatalf("frame type %d %q, want an err frame", typ, body)
	}
	return re
}

// TestUnpairedRefusedAtHandshake: clients without a paired certificate
// never get a frame read: the handshake fails, and the target allocated
// no frame buffer and read no hello.
func TestUnpairedRefusedAtHandshake(t *testing.T) {
	b := newNode(t, t.TempDir(), engineOptions())
	stranger := testCert(t, t.TempDir())
	cases := []struct {
		name string
		cert *tls.Certificate
	}{
		{"self-signed", &stranger},
		{"no certificate", nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc, err := dialTLS(t, b.addr, c.cert)
			if err == nil {
				// TLS 1.3: the client is done before the server has
				// checked it; the refusal answers the first write.
				tc.Write(append(frameHeader(msgHello, maxFrame), make([]byte, 64<<10)...))
				_, err = tc.Read(make([]byte, 1))
			}
			if err == nil {
				t.Fatal("the target answered an unpaired client")
			}
			waitFor(t, "the refusal", func() bool { return b.svc.gate.stats().Refused == int64(i+1) })
			if st := b.svc.gate.stats(); st.Hellos != 0 || st.FrameHeap != 0 {
				t.Fatalf("an unpaired client got %d hellos read, %d bytes of frame buffer", st.Hellos, st.FrameHeap)
			}
		})
	}
	// The source side reads the refusal as "denied" (TestTrust).
	a := newNode(t, t.TempDir(), engineOptions())
	a.put("default", "x", testData(1, 64<<10))
	if _, err := a.svc.CreateMapping(Mapping{Name: "m", SourceStore: "default", Target: b.addr, TargetFingerprint: b.fp(), TargetStore: "copy"}); err != nil {
		t.Fatal(err)
	}
	var re *RemoteError
	if err := a.svc.Sync(t.Context(), "m"); !errors.As(err, &re) || re.Code != codeDenied || !strings.Contains(re.Message, a.fp()) {
		t.Fatalf("unpaired source: %v", err)
	}
	if st := b.svc.gate.stats(); st.Hellos != 0 || st.FrameHeap != 0 {
		t.Fatalf("an unpaired source got %d hellos read, %d bytes of frame buffer", st.Hellos, st.FrameHeap)
	}
}

// TestFrameCaps: a paired client that announces a frame over its type's
// cap is answered invalid and cut off before the body is buffered.
func TestFrameCaps(t *testing.T) {
	a := newNode(t, t.TempDir(), engineOptions())
	b := newNode(t, t.TempDir(), engineOptions())
	if _, err := b.svc.AddSource("a", a.fp()); err != nil {
		t.Fatal(err)
	}
	cert := testCert(t, filepath.Join(a.dir, "tls"))
	dom, err := a.eng.StoreDomain("default")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := json.Marshal(hello{Version: protocolVersion, Source: "m", SourceStore: "default", Store: "copy",
		DomainName: dom.Name, DomainKey: dom.Key, Chunker: dom.Chunker})
	helloFrame := append(frameHeader(msgHello, uint32(len(h))), h...)
	cases := []struct {
		name    string
		prelude []byte // frames sent first
		typ     byte
		n       uint32
	}{
		{"huge hello", nil, msgHello, maxFrame},
		{"hello over MaxHello", nil, msgHello, 4<<10 + 1},
		{"chunks before hello", nil, msgChunks, 1 << 20},
		{"huge chunks", helloFrame, msgChunks, maxFrame},
		{"chunks over one chunk", helloFrame, msgChunks, uint32(chunksFrame + chunkHeader + dom.Chunker.Max + 1)},
		{"recipe over a segment", helloFrame, msgRecipe, recipeFrameMax + 1},
		{"begin over MaxControl", helloFrame, msgBegin, 1<<20 + 1},
		{"unknown type", helloFrame, 99, 64 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := b.svc.gate.stats().FrameHeap
			tc, err := dialTLS(t, b.addr, &cert)
			if err != nil {
				t.Fatal(err)
			}
			if c.prelude != nil {
				if _, err := tc.Write(c.prelude); err != nil {
					t.Fatal(err)
				}
				if re := readErrFrameOrOK(t, tc); re != nil {
					t.Fatalf("hello refused: %v", re)
				}
			}
			if _, err := tc.Write(frameHeader(c.typ, c.n)); err != nil {
				t.Fatal(err)
			}
			re := readErrFrame(t, tc)
			if re.Code != codeInvalid || !strings.Contains(re.Message, "too large") {
				t.Fatalf("answer %+v, want invalid: too large", re)
			}
			if _, err := tc.Read(make([]byte, 1)); err == nil {
				t.Fatal("the connection stayed open")
			}
			if grown := b.svc.gate.stats().FrameHeap - before; grown > int64(len(h)) {
				t.Fatalf("frame buffers grew by %d bytes", grown)
			}
		})
	}
}

// readErrFrameOrOK reads an ok (nil) or err frame.
func readErrFrameOrOK(t *testing.T, c io.Reader) *RemoteError {
	t.Helper()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	if hdr[0] == msgOK {
		return nil
	}
	var re RemoteError
	json.Unmarshal(body, &re)
	return &re
}

// TestSilentDropped: a connection that sends nothing is closed at the
// handshake deadline, a paired one that sends no hello at the hello
// deadline.
func TestSilentDropped(t *testing.T) {
	l := DefaultLimits()
	l.HandshakeTimeout, l.HelloTimeout = 100*time.Millisecond, 100*time.Millisecond
	b := limitedNode(t, l)
	paired := testCert(t, t.TempDir())
	if _, err := b.svc.AddSource("p", Fingerprint(paired.Certificate[0])); err != nil {
		t.Fatal(err)
	}
	t.Run("tcp", func(t *testing.T) {
		raw, err := net.Dial("tcp", b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		raw.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = raw.Read(make([]byte, 1))
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("a silent connection stayed open: %v", err)
		}
	})
	t.Run("paired, no hello", func(t *testing.T) {
		tc, err := dialTLS(t, b.addr, &paired)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tc.Read(make([]byte, 1))
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("a paired connection without hello stayed open: %v", err)
		}
	})
	waitFor(t, "the handshake timeout", func() bool { return b.svc.gate.stats().Refused == 1 })
	if st := b.svc.gate.stats(); st.Hellos != 0 || st.FrameHeap != 0 {
		t.Fatalf("silent clients: %+v", st)
	}
}

// TestHostileHeap: many connections at once, silent or unpaired and
// announcing the largest frame, leave the heap within the documented
// bound (docs/replication.md: 64 KiB per connection before the
// handshake, at most MaxConns of them); those over MaxConns are closed.
func TestHostileHeap(t *testing.T) {
	l := DefaultLimits()
	l.MaxConns = 16
	b := limitedNode(t, l)
	stranger := testCert(t, t.TempDir())
	const conns = 96
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	junk := make([]byte, 256<<10)
	var wg sync.WaitGroup
	held := make(chan net.Conn, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, err := net.DialTimeout("tcp", b.addr, 5*time.Second)
			if err != nil {
				return
			}
			held <- raw
			if i%2 == 0 {
				return // silent: held in the handshake
			}
			raw.SetDeadline(time.Now().Add(10 * time.Second))
			tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{stranger}})
			if tc.Handshake() == nil {
				tc.Write(frameHeader(msgHello, maxFrame))
				tc.Write(junk)
			}
		}()
	}
	wg.Wait()
	waitFor(t, "every connection admitted or turned away", func() bool {
		st := b.svc.gate.stats()
		return st.Accepted+st.OverCap == conns
	})
	var during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&during)
	close(held)
	for c := range held {
		c.Close()
	}
	st := b.svc.gate.stats()
	growth := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	// The bound for the server, and as much again for the clients,
	// which live in this process too.
	bound := int64(2 * l.MaxConns * preAuthConnBound)
	t.Logf("%d connections (%+v): heap grew by %d KiB (bound %d KiB)", conns, st, growth>>10, bound>>10)
	if st.Accepted > conns || st.OverCap == 0 || st.Hellos != 0 || st.FrameHeap != 0 {
		t.Fatalf("gate: %+v", st)
	}
	if growth > bound {
		t.Fatalf("heap grew by %d bytes under hostile connections, bound %d", growth, bound)
	}
}

func TestLimitsSession(t *testing.T) {
	l := DefaultLimits()
	p := chunker.DefaultParams()
	f := l.session(p)
	for _, c := range []struct {
		typ  byte
		want int
	}{
		{msgChunks, chunksFrame + chunkHeader + p.Max},
		{msgRecipe, recipeFrameMax},
		{msgBegin, 1 << 20},
		{msgCommit, 1 << 20},
		{msgHello, 4 << 10},
		{200, 4 << 10},
	} {
		if got := f(c.typ); got != c.want {
			t.Errorf("type %d: cap %d, want %d", c.typ, got, c.want)
		}
	}
	l.MaxFrame = 1 << 20
	p.Max = 64 << 20
	if got := l.session(p)(msgChunks); got != 1<<20 {
		t.Errorf("chunks cap %d over MaxFrame", got)
	}
	if got := (Limits{}).withDefaults(); got != DefaultLimits() {
		t.Errorf("zero limits: %+v", got)
	}
}

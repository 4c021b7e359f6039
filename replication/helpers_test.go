package replication

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/internal/testwait"
)

// engineOptions are small so that tests cross container boundaries.
func engineOptions() chunkstore.Options {
	o := chunkstore.DefaultOptions()
	o.ContainerSize = 512 << 10
	o.VolumeSize = 64 << 20
	o.Chunker = chunker.Params{Algorithm: chunker.Gear, Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}
	o.CacheContainers = 64
	o.Workers = 2
	return o
}

// testCert loads dir/cert.pem and key.pem, making them the first time,
// so that a restarted node keeps its identity.
func testCert(t testing.TB, dir string) tls.Certificate {
	t.Helper()
	c, err := loadOrMakeCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loadOrMakeCert(dir string) (tls.Certificate, error) {
	cp, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if c, err := tls.LoadX509KeyPair(cp, kp); err == nil {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "backstop test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	os.MkdirAll(dir, 0o700)
	os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return tls.LoadX509KeyPair(cp, kp)
}

// node is one appliance: engine, appliance state, replication service
// listening on loopback.
type node struct {
	t      testing.TB
	dir    string
	eng    *chunkstore.Engine
	state  *appliance.State
	svc    *Service
	addr   string
	cancel context.CancelFunc
	done   chan struct{}
	clock  atomic.Int64 // offset added to the real time, ns
}

func newNode(t testing.TB, dir string, eo chunkstore.Options) *node {
	t.Helper()
	n := &node{t: t, dir: dir}
	eng, err := chunkstore.Open(context.Background(), filepath.Join(dir, "data"), eo)
	if err != nil {
		t.Fatal(err)
	}
	st, err := appliance.Open(filepath.Join(dir, "appliance"), appliance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Dir = filepath.Join(dir, "replication")
	o.Certificate = testCert(t, filepath.Join(dir, "tls"))
	o.State = st
	o.Poll, o.RetryMin, o.RetryMax = 20*time.Millisecond, 5*time.Millisecond, 50*time.Millisecond
	o.Now = func() time.Time { return time.Now().Add(time.Duration(n.clock.Load())) }
	svc, err := New(eng, o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.eng, n.state, n.svc, n.addr, n.cancel, n.done = eng, st, svc, ln.Addr().String(), cancel, make(chan struct{})
	go func() {
		defer close(n.done)
		svc.Serve(ctx, ln)
	}()
	t.Cleanup(n.close)
	return n
}

func (n *node) close() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	testwait.Recv(n.t, n.done)
	n.svc.Close()
	n.eng.Close()
	n.state.Close()
	n.cancel = nil
}

func (n *node) fp() string { return n.svc.Identity().Fingerprint }

// mapTo pairs n as a source of dst and maps n's store to dst's.
func (n *node) mapTo(dst *node, name, store, dstStore, via string) {
	n.t.Helper()
	if _, err := dst.svc.AddSource("src-"+name, n.fp()); err != nil && !isExists(err) {
		n.t.Fatal(err)
	}
	if via == "" {
		via = dst.addr
	}
	if _, err := n.svc.CreateMapping(Mapping{Name: name, SourceStore: store, Target: via, TargetFingerprint: dst.fp(), TargetStore: dstStore}); err != nil {
		n.t.Fatal(err)
	}
}

func isExists(err error) bool {
	return err != nil && bytes.Contains([]byte(err.Error()), []byte("already exists"))
}

func (n *node) put(store, name string, data []byte) chunkstore.Item {
	n.t.Helper()
	ctx := context.Background()
	w, err := n.eng.Create(ctx, store, name, chunkstore.WriteOptions{Replace: true, Meta: map[string]string{"from": name}})
	if err != nil {
		n.t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		n.t.Fatal(err)
	}
	it, err := w.Commit(ctx)
	if err != nil {
		n.t.Fatal(err)
	}
	return it
}

func readItem(t testing.TB, eng *chunkstore.Engine, store, name string) []byte {
	t.Helper()
	r, err := eng.OpenItem(context.Background(), store, name)
	if err != nil {
		t.Fatalf("open %s/%s: %v", store, name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s/%s: %v", store, name, err)
	}
	return b
}

// sameItems checks that dst's store holds exactly src's items, byte for
// byte, with their metadata.
func sameItems(t testing.TB, src *chunkstore.Engine, srcStore string, dst *chunkstore.Engine, dstStore string) {
	t.Helper()
	ctx := context.Background()
	a, err := src.List(ctx, srcStore, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := dst.List(ctx, dstStore, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("source has %d items, target %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Size != b[i].Size || a[i].Meta["from"] != b[i].Meta["from"] {
			t.Fatalf("item %d: source %+v, target %+v", i, a[i], b[i])
		}
		if !bytes.Equal(readItem(t, src, srcStore, a[i].Name), readItem(t, dst, dstStore, b[i].Name)) {
			t.Fatalf("item %s differs on the target", a[i].Name)
		}
	}
}

// testData returns n bytes, half random and half text-like, from seed:
// it compresses to about 60%.
func testData(seed uint64, n int) []byte {
	r := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	words := []string{"backup ", "restore ", "chunk ", "volume ", "tape ", "share ", "\n"}
	for i := 0; i < n; {
		if r.IntN(2) == 0 {
			k := min(n-i, 1+r.IntN(4096))
			for j := 0; j < k; j++ {
				b[i+j] = byte(r.Uint32())
			}
			i += k
		} else {
			for k := 1 + r.IntN(400); k > 0 && i < n; k-- {
				i += copy(b[i:], words[r.IntN(len(words))])
			}
		}
	}
	return b
}

// mutate returns a copy of b with k regions of size bytes rewritten.
func mutate(b []byte, seed uint64, k, size int) []byte {
	out := bytes.Clone(b)
	r := mrand.New(mrand.NewPCG(seed, 7))
	for i := 0; i < k; i++ {
		off := r.IntN(len(out) - size)
		copy(out[off:], testData(seed+uint64(i)+100, size))
	}
	return out
}

// cutProxy forwards connections to target and cuts each one after a
// random number of bytes (source to target) in [lo, hi).
type cutProxy struct {
	ln     net.Listener
	target atomic.Value // string
	lo, hi int
	rng    *mrand.Rand
	mu     sync.Mutex
	cuts   atomic.Int64
	bytes  atomic.Int64 // forwarded source to target
	// onBytes, if set, is called with the running total of forwarded bytes.
	onBytes atomic.Pointer[func(int64)]
	wg      sync.WaitGroup
}

func newCutProxy(t testing.TB, target string, lo, hi int, seed uint64) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, lo: lo, hi: hi, rng: mrand.New(mrand.NewPCG(seed, 1))}
	p.target.Store(target)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		limit := int64(-1)
		if p.hi > 0 {
			limit = int64(p.lo + p.rng.IntN(p.hi-p.lo))
		}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(c, limit)
	}
}

func (p *cutProxy) serve(c net.Conn, limit int64) {
	defer p.wg.Done()
	defer c.Close()
	u, err := net.Dial("tcp", p.target.Load().(string))
	if err != nil {
		return
	}
	defer u.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(c, u); done <- struct{}{} }()
	go func() {
		buf := make([]byte, 32<<10)
		var n int64
		for {
			k, err := c.Read(buf)
			if k > 0 {
				if limit >= 0 && n+int64(k) > limit {
					u.Write(buf[:limit-n])
					p.cuts.Add(1)
					break
				}
				if _, werr := u.Write(buf[:k]); werr != nil {
					break
				}
				n += int64(k)
				total := p.bytes.Add(int64(k))
				if f := p.onBytes.Load(); f != nil {
					(*f)(total)
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}()
	<-done
}

type atomicInt struct{ atomic.Int64 }

// discardConn is a net.Conn that takes every write.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

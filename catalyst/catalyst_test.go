package catalyst_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/zeebo/blake3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"crypto/tls"

	"github.com/backstop-appliance/backstop/catalyst"
	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/catalyst/client"
	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

const password = "correct horse battery"

type fixture struct {
	eng   *chunkstore.Engine
	state *appliance.State
	srv   *catalyst.Server
	ca    string
	addr  string
}

func setup(t testing.TB) *fixture {
	t.Helper()
	opts := chunkstore.DefaultOptions()
	opts.ContainerSize = 1 << 20
	opts.Chunker = chunker.Params{Algorithm: chunker.Gear, Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}
	opts.Workers = 2
	return setupWith(t, opts)
}

func setupWith(t testing.TB, opts chunkstore.Options) *fixture {
	t.Helper()
	dir := t.TempDir()
	eng, err := chunkstore.Open(context.Background(), filepath.Join(dir, "data"), opts)
	if err != nil {
		t.Fatal(err)
	}
	state, err := appliance.Open(filepath.Join(dir, "appliance"), appliance.Options{Hash: appliance.HashParams{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for name, role := range map[string]appliance.Role{"admin": appliance.RoleAdmin, "op": appliance.RoleOperator,
		"eve": appliance.RoleOperator, "ro": appliance.RoleReadOnly} {
		if _, err := state.CreateUser(name, role, password); err != nil {
			t.Fatal(err)
		}
	}
	tlsDir := filepath.Join(dir, "tls")
	cert, err := appliance.Certificate("", "", tlsDir)
	if err != nil {
		t.Fatal(err)
	}
	srv := catalyst.New(eng, state, catalyst.Options{Addr: "127.0.0.1:0", Certificate: &cert, Audit: state})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		eng.Close()
		state.Close()
	})
	return &fixture{eng: eng, state: state, srv: srv, ca: filepath.Join(tlsDir, "cert.pem"), addr: srv.Addr()}
}

func (f *fixture) client(t testing.TB, user, addr string) *client.Client {
	t.Helper()
	if addr == "" {
		addr = f.addr
	}
	c, err := client.Dial(client.Options{Addr: addr, User: user, Password: password, CAFile: f.ca, Batch: benchBatch, Window: benchWindow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testData is n bytes of half random, half repetitive text, from seed.
func testData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	words := []string{"backup ", "catalyst ", "chunk ", "store ", "\n"}
	for i := 0; i < n; {
		if r.IntN(2) == 0 {
			for k := min(n, i+1+r.IntN(4096)); i < k; i++ {
				b[i] = byte(r.Uint32())
			}
		} else {
			for k := 1 + r.IntN(300); k > 0 && i < n; k-- {
				i += copy(b[i:], words[r.IntN(len(words))])
			}
		}
	}
	return b
}

func putBytes(t testing.TB, c *client.Client, store, name string, data []byte, opts client.PutOptions) client.PutResult {
	t.Helper()
	res, err := c.Put(context.Background(), store, name, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("put %s/%s: %v", store, name, err)
	}
	if res.Item.Size != int64(len(data)) {
		t.Fatalf("put %s/%s: item of %d bytes, want %d", store, name, res.Item.Size, len(data))
	}
	return res
}

func getBytes(t testing.TB, c *client.Client, store, name string, off, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, _, err := c.Get(context.Background(), store, name, &buf, off, n); err != nil {
		t.Fatalf("get %s/%s: %v", store, name, err)
	}
	return buf.Bytes()
}

func TestRoundTripBothModes(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.eng.CreateStore("fast", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.SetStoreOptions("fast", chunkstore.StoreOptions{Transfer: chunkstore.TransferHigh}); err != nil {
		t.Fatal(err)
	}
	c := f.client(t, "op", "")
	data := testData(1, 3<<20)
	for _, tc := range []struct{ store, mode string }{{"default", chunkstore.TransferLow}, {"fast", chunkstore.TransferHigh}} {
		t.Run(tc.mode, func(t *testing.T) {
			res := putBytes(t, c, tc.store, "a", data, client.PutOptions{Meta: map[string]string{"job": tc.mode}})
			if res.Transfer != tc.mode {
				t.Fatalf("transfer %s, want %s", res.Transfer, tc.mode)
			}
			if got := getBytes(t, c, tc.store, "a", 0, 0); !bytes.Equal(got, data) {
				t.Fatal("item reads back different")
			}
			off, n := int64(1<<20+12345), int64(777777)
			if got := getBytes(t, c, tc.store, "a", off, n); !bytes.Equal(got, data[off:off+n]) {
				t.Fatal("byte range reads back different")
			}
			if got := getBytes(t, c, tc.store, "a", int64(len(data))-10, 1000); !bytes.Equal(got, data[len(data)-10:]) {
				t.Fatal("range past the end reads back different")
			}
		})
	}
	// The other mode than the store's is refused.
	if _, err := c.Put(ctx, "fast", "b", bytes.NewReader(data), client.PutOptions{Transfer: chunkstore.TransferLow}); !errors.Is(err, chunkstore.ErrInvalid) {
		t.Fatalf("low bandwidth put to a high bandwidth store: %v", err)
	}
	// The second mode's data was deduplicated against the first's.
	if res := putBytes(t, c, "default", "again", data, client.PutOptions{}); res.ChunksSent != 0 || res.Sent > int64(len(data))/100 {
		t.Fatalf("repeat backup sent %d bytes, %d chunks", res.Sent, res.ChunksSent)
	}
	items, err := c.List(ctx, "default", chunkstore.ListOptions{Meta: map[string]string{"job": chunkstore.TransferLow}})
	if err != nil || len(items) != 1 || items[0].Name != "a" {
		t.Fatalf("ls with a metadata filter: %+v, %v", items, err)
	}
	if it, err := c.Stat(ctx, "fast", "a"); err != nil || it.Size != int64(len(data)) || it.Meta["job"] != "high" {
		t.Fatalf("stat: %+v, %v", it, err)
	}
	if _, err := c.Copy(ctx, "fast", "a", "default", "copied", false); err != nil {
		t.Fatal(err)
	}
	if got := getBytes(t, c, "default", "copied", 0, 0); !bytes.Equal(got, data) {
		t.Fatal("copy reads back different")
	}
	if err := c.Delete(ctx, "default", "copied"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, "default", "copied"); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("stat after rm: %v", err)
	}
	st, err := c.Stats(ctx)
	if err != nil || st.Items != 3 || st.LogicalBytes != 3*int64(len(data)) {
		t.Fatalf("stats: %+v, %v", st, err)
	}
	tr := f.srv.Traffic()
	if tr.PutsLow != 2 || tr.PutsHigh != 1 || tr.Gets != 7 || tr.BytesIn < int64(len(data)) {
		t.Fatalf("traffic: %+v", tr)
	}
}

// newChunkBytes chunks data as the store does and returns the s2 size of
// the chunks that old does not have.
func newChunkBytes(t testing.TB, st *client.Store, old, data []byte) (int64, int) {
	t.Helper()
	fps := func(b []byte) (map[[32]byte][]byte, [][32]byte) {
		ch, _ := chunker.New(bytes.NewReader(b), st.Chunker)
		m := map[[32]byte][]byte{}
		var order [][32]byte
		for {
			c, err := ch.Next()
			if err == io.EOF {
				return m, order
			}
			h, _ := blake3.NewKeyed(st.Key)
			h.Write(c)
			var fp [32]byte
			h.Sum(fp[:0])
			m[fp] = append([]byte(nil), c...)
			order = append(order, fp)
		}
	}
	have, _ := fps(old)
	now, order := fps(data)
	var n int64
	var count int
	seen := map[[32]byte]bool{}
	for _, fp := range order {
		if _, ok := have[fp]; ok || seen[fp] {
			continue
		}
		seen[fp] = true
		n += int64(len(s2.Encode(nil, now[fp])))
		count++
	}
	return n, count
}

func TestSecondBackupSendsOnlyChanges(t *testing.T) {
	f := setup(t)
	c := f.client(t, "op", "")
	data := testData(2, 4<<20)
	first := putBytes(t, c, "default", "mon", data, client.PutOptions{})
	changed := append([]byte(nil), data...)
	r := rand.New(rand.NewPCG(3, 3))
	for k := 0; k < 10; k++ { // 10 edits of 4 KiB: 1% of the data
		off := r.IntN(len(changed) - 4096)
		for i := off; i < off+4096; i++ {
			changed[i] = byte(r.Uint32())
		}
	}
	second := putBytes(t, c, "default", "tue", changed, client.PutOptions{})
	st, err := c.Store(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	want, count := newChunkBytes(t, st, data, changed)
	t.Logf("first backup sent %d bytes; second %d bytes, %d chunks; the changed chunks are %d (%d bytes s2)",
		first.Sent, second.Sent, second.ChunksSent, count, want)
	if second.ChunksSent != int64(count) {
		t.Fatalf("second backup sent %d chunks, %d changed", second.ChunksSent, count)
	}
	// Besides the changed chunks: 36 bytes of recipe per chunk and framing.
	overhead := 40*second.Chunks + 4096
	if second.Sent < want || second.Sent > want+overhead {
		t.Fatalf("second backup sent %d bytes, changed chunks are %d compressed (+%d overhead allowed)", second.Sent, want, overhead)
	}
	if got := getBytes(t, c, "default", "tue", 0, 0); !bytes.Equal(got, changed) {
		t.Fatal("second backup reads back different")
	}
}

// rawPut opens a put stream without the client library, to lie.
func rawPut(t *testing.T, f *fixture, user string) catalystpb.Catalyst_PutClient {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true}
	conn, err := grpc.NewClient("passthrough:///"+f.addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)),
		grpc.WithPerRPCCredentials(catalystpb.BasicAuth{User: user, Password: password}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	stream, err := catalystpb.NewCatalystClient(conn).Put(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return stream
}

func TestLyingClientIsRefused(t *testing.T) {
	f := setup(t)
	c := f.client(t, "op", "")
	st, err := c.Store(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	good, bad := testData(4, 20000), testData(5, 20000)
	h, _ := blake3.NewKeyed(st.Key)
	h.Write(good)
	fp := h.Sum(nil)
	stream := rawPut(t, f, "op")
	msgs := []*catalystpb.PutRequest{
		{Msg: &catalystpb.PutRequest_Begin{Begin: &catalystpb.PutBegin{Store: "default", Name: "lie"}}},
		{Msg: &catalystpb.PutRequest_Entries{Entries: &catalystpb.Entries{Fps: fp, Lens: []uint32{uint32(len(good))}}}},
		{Msg: &catalystpb.PutRequest_Chunk{Chunk: &catalystpb.Chunk{Fp: fp, RawLen: uint32(len(bad)), Data: bad}}},
		{Msg: &catalystpb.PutRequest_Commit{Commit: &catalystpb.PutCommit{Size: int64(len(good))}}},
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break
		}
	}
	stream.CloseSend()
	var last error
	for {
		_, err := stream.Recv()
		if err != nil {
			last = err
			break
		}
	}
	if err := catalystpb.FromStatus(last); !errors.Is(err, chunkstore.ErrFingerprint) {
		t.Fatalf("lying put: %v", err)
	}
	if _, err := c.Stat(context.Background(), "default", "lie"); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("lying put stored an item: %v", err)
	}
	if s := f.eng.Stats(); s.Containers != 0 || s.StoredBytes != 0 {
		t.Fatalf("lying put stored %d containers", s.Containers)
	}
	if tr := f.srv.Traffic(); tr.PutsFailed != 1 || tr.Puts != 0 {
		t.Fatalf("traffic: %+v", tr)
	}
	// A commit naming a chunk never sent stores nothing either.
	stream = rawPut(t, f, "op")
	stream.Send(msgs[0])
	stream.Send(msgs[1])
	stream.Send(msgs[3])
	stream.CloseSend()
	for {
		if _, err := stream.Recv(); err != nil {
			last = err
			break
		}
	}
	if err := catalystpb.FromStatus(last); !errors.Is(err, chunkstore.ErrMissingChunk) {
		t.Fatalf("commit of a chunk never sent: %v", err)
	}
	if _, err := c.Stat(context.Background(), "default", "lie"); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("commit of a chunk never sent stored an item: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.eng.CreateStore("secret", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.SetStoreOptions("secret", chunkstore.StoreOptions{Clients: []string{"op", "ro"}}); err != nil {
		t.Fatal(err)
	}
	op, eve, ro := f.client(t, "op", ""), f.client(t, "eve", ""), f.client(t, "ro", "")
	data := testData(6, 1<<20)
	putBytes(t, op, "secret", "x", data, client.PutOptions{})
	checks := []struct {
		name string
		err  error
	}{
		{"eve put", func() error {
			_, err := eve.Put(ctx, "secret", "y", bytes.NewReader(data), client.PutOptions{})
			return err
		}()},
		{"eve get", func() error { _, _, err := eve.Get(ctx, "secret", "x", io.Discard, 0, 0); return err }()},
		{"eve ls", func() error { _, err := eve.List(ctx, "secret", chunkstore.ListOptions{}); return err }()},
		{"eve rm", eve.Delete(ctx, "secret", "x")},
		{"eve copy out", func() error { _, err := eve.Copy(ctx, "secret", "x", "default", "x", false); return err }()},
		{"ro put", func() error {
			_, err := ro.Put(ctx, "secret", "y", bytes.NewReader(data), client.PutOptions{})
			return err
		}()},
		{"ro rm", ro.Delete(ctx, "secret", "x")},
	}
	for _, c := range checks {
		if !errors.Is(c.err, catalyst.ErrPermission) {
			t.Errorf("%s: %v, want permission denied", c.name, c.err)
		}
	}
	if got := getBytes(t, ro, "secret", "x", 0, 0); !bytes.Equal(got, data) {
		t.Fatal("read-only user cannot read")
	}
	stores, err := eve.Stores(ctx)
	if err != nil || len(stores) != 1 || stores[0].Name != "default" {
		t.Fatalf("eve sees stores %+v, %v", stores, err)
	}
	if st, err := eve.Stats(ctx); err != nil || len(st.Stores) != 1 || st.Items != 0 {
		t.Fatalf("eve sees stats %+v, %v", st, err)
	}
	bad, err := client.Dial(client.Options{Addr: f.addr, User: "op", Password: "wrong", CAFile: f.ca})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := bad.Stat(ctx, "secret", "x"); !errors.Is(err, catalyst.ErrAuth) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestImmutableItemSurvivesAdmin(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.eng.CreateStore("vault", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.SetStoreOptions("vault", chunkstore.StoreOptions{ImmutableDays: 7}); err != nil {
		t.Fatal(err)
	}
	admin := f.client(t, "admin", "")
	data := testData(7, 1<<20)
	putBytes(t, admin, "vault", "x", data, client.PutOptions{})
	if err := admin.Delete(ctx, "vault", "x"); !errors.Is(err, chunkstore.ErrImmutable) {
		t.Fatalf("admin rm of an immutable item: %v", err)
	}
	if _, err := admin.Put(ctx, "vault", "x", bytes.NewReader(data[:1000]), client.PutOptions{Replace: true}); !errors.Is(err, chunkstore.ErrImmutable) {
		t.Fatalf("admin replace of an immutable item: %v", err)
	}
	if _, err := admin.Copy(ctx, "vault", "x", "vault", "x", true); !errors.Is(err, chunkstore.ErrImmutable) {
		t.Fatalf("admin copy over an immutable item: %v", err)
	}
	if err := f.eng.DeleteStore("vault"); err == nil {
		t.Fatal("store with an immutable item deleted")
	}
	if got := getBytes(t, admin, "vault", "x", 0, 0); !bytes.Equal(got, data) {
		t.Fatal("immutable item changed")
	}
}

// cutProxy forwards one connection to addr and cuts it once limit bytes
// went from the client to the server.
func cutProxy(t *testing.T, addr string, limit int64) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var passed atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", addr)
			if err != nil {
				in.Close()
				return
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				io.Copy(in, out)
				in.Close()
			}()
			go func() {
				defer wg.Done()
				buf := make([]byte, 32<<10)
				for {
					n, err := in.Read(buf)
					if n > 0 {
						if passed.Add(int64(n)) > limit {
							break
						}
						if _, werr := out.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				in.Close()
				out.Close()
			}()
		}
	}()
	return ln.Addr().String(), &passed
}

func TestCutConnectionThenRetryResumes(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	data := testData(8, 8<<20)
	proxy, passed := cutProxy(t, f.addr, 3<<20)
	cut := f.client(t, "op", proxy)
	res, err := cut.Put(ctx, "default", "big", bytes.NewReader(data), client.PutOptions{})
	if err == nil {
		t.Fatal("put through a cut connection succeeded")
	}
	if !client.Retryable(err) {
		t.Fatalf("cut connection error not retryable: %v", err)
	}
	t.Logf("first try: %v after %d bytes on the wire (%d sent by the put)", err, passed.Load(), res.Sent)
	if _, err := cut.Stat(ctx, "default", "big"); err == nil {
		t.Fatal("item exists after a cut put")
	}
	c := f.client(t, "op", "")
	full, err := c.Store(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	_, total := newChunkBytes(t, full, nil, data)
	res2, err := c.PutRetry(ctx, "default", "big", bytes.NewReader(data), client.PutOptions{}, 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("retry sent %d of %d chunks, %d bytes", res2.ChunksSent, total, res2.Sent)
	if res2.ChunksSent >= int64(total)*3/4 || res2.ChunksSent == 0 {
		t.Fatalf("retry sent %d of %d chunks: it did not resume", res2.ChunksSent, total)
	}
	if got := getBytes(t, c, "default", "big", 0, 0); !bytes.Equal(got, data) {
		t.Fatal("resumed item reads back different")
	}
}

func TestConcurrentPutsOfTheSameData(t *testing.T) {
	f := setup(t)
	data := testData(9, 2<<20)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		c := f.client(t, "op", "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Put(context.Background(), "default", string(rune('a'+i)), bytes.NewReader(data), client.PutOptions{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	c := f.client(t, "op", "")
	for i := range n {
		if got := getBytes(t, c, "default", string(rune('a'+i)), 0, 0); !bytes.Equal(got, data) {
			t.Fatalf("item %d reads back different", i)
		}
	}
	st, _ := c.Store(context.Background(), "default")
	one, _ := newChunkBytes(t, st, nil, data)
	// A stream stores a second copy only of chunks another stream still
	// held in its unflushed container when it ended: at most one
	// container (1 MiB here) per other stream.
	s := f.eng.Stats()
	t.Logf("%d concurrent puts of the same data stored %d bytes; one copy is %d", n, s.StoredBytes, one)
	if s.StoredBytes > one+n*(1<<20)+n*(64<<10) {
		t.Fatalf("%d concurrent puts of the same data stored %d bytes; one copy is %d", n, s.StoredBytes, one)
	}
}

// Client pipeline settings of the tests' clients.
var benchBatch, benchWindow = 64, 4

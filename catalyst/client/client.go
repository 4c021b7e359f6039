package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/dedup"
)

// Options configure a Client.
type Options struct {
	// Addr is the appliance's host:port (the Catalyst service listens on
	// port 9387 unless told otherwise).
	Addr           string
	User, Password string
	// CAFile is a PEM file of the certificate(s) to trust, such as the
	// appliance's self-signed one; empty trusts the system's roots.
	CAFile string
	// Insecure skips verifying the appliance's certificate.
	Insecure bool
	// Plaintext speaks without TLS (tests of the protocol only).
	Plaintext bool
	// Workers hash chunks in parallel (default: GOMAXPROCS).
	Workers int
	// Compression of the chunks sent in low bandwidth mode: CompressAuto
	// (the default: zstd while the put waits for its source most of the
	// time, else s2; see policy.go), CompressS2, CompressZstd or
	// CompressNone (the appliance compresses them).
	Compression string
	// Now is the clock of the auto policy (default time.Now).
	Now func() time.Time
	// Batch is how many recipe entries one message carries (default 128)
	// and Window how many such messages may await their answer (default 8).
	Batch, Window int
}

// Client talks to one appliance. It is safe for concurrent use: each call
// is its own stream on a shared connection.
type Client struct {
	opts Options
	comp *compression
	conn *grpc.ClientConn
	api  catalystpb.CatalystClient

	sent, recv atomic.Int64 // bytes on the TCP connections, TLS included

	mu     sync.Mutex
	stores map[string]*Store
	// batches are the buffers of low bandwidth puts, kept for the next.
	batches sync.Pool
}

// Store is a store as a client sees it.
type Store struct {
	dedup.StoreInfo
	Chunker dedup.ChunkerParams
	Key     []byte // the domain's fingerprint key
}

// Dial connects to an appliance. The connection is made lazily: a wrong
// address or password shows at the first call.
func Dial(opts Options) (*Client, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	comp, err := parseCompression(opts.Compression)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Batch <= 0 {
		opts.Batch = 128
	}
	if opts.Window <= 0 {
		opts.Window = 8
	}
	c := &Client{opts: opts, comp: comp, stores: map[string]*Store{}}
	var creds credentials.TransportCredentials
	if opts.Plaintext {
		creds = insecure.NewCredentials()
	} else {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.Insecure}
		if opts.CAFile != "" {
			pem, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, fmt.Errorf("catalyst client: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("catalyst client: no certificate in %s", opts.CAFile)
			}
			cfg.RootCAs = pool
		}
		creds = credentials.NewTLS(cfg)
	}
	// catalystpb.DialOptions: message buffers sized to chunks.
	dopts := append(catalystpb.DialOptions(),
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(catalystpb.BasicAuth{User: opts.User, Password: opts.Password, Insecure: opts.Plaintext}),
		grpc.WithContextDialer(c.dial),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(65<<20), grpc.MaxCallSendMsgSize(65<<20)),
	)
	conn, err := grpc.NewClient("passthrough:///"+opts.Addr, dopts...)
	if err != nil {
		return nil, fmt.Errorf("catalyst client: %w", err)
	}
	c.conn, c.api = conn, catalystpb.NewCatalystClient(conn)
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// WireBytes are the bytes sent and received on the client's TCP
// connections so far: TLS, HTTP/2 and gRPC framing included.
func (c *Client) WireBytes() (sent, received int64) { return c.sent.Load(), c.recv.Load() }

func (c *Client) dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &countConn{Conn: conn, c: c}, nil
}

type countConn struct {
	net.Conn
	c *Client
}

func (cc *countConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	cc.c.recv.Add(int64(n))
	return n, err
}

func (cc *countConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	cc.c.sent.Add(int64(n))
	return n, err
}

// Store fetches a store's settings and chunking parameters (cached).
func (c *Client) Store(ctx context.Context, name string) (*Store, error) {
	c.mu.Lock()
	st := c.stores[name]
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	pb, err := c.api.GetStore(ctx, &catalystpb.GetStoreRequest{Store: name})
	if err != nil {
		return nil, catalystpb.FromStatus(err)
	}
	st = &Store{StoreInfo: catalystpb.StoreInfoFromPB(pb), Chunker: catalystpb.ParamsFromPB(pb.GetChunker()), Key: pb.GetDomainKey()}
	if err := st.Chunker.Validate(); err != nil {
		return nil, fmt.Errorf("catalyst client: store %s: %w", name, err)
	}
	if len(st.Key) != 32 {
		return nil, fmt.Errorf("catalyst client: store %s: domain key of %d bytes", name, len(st.Key))
	}
	c.mu.Lock()
	c.stores[name] = st
	c.mu.Unlock()
	return st, nil
}

// Stores lists the stores the user may use.
func (c *Client) Stores(ctx context.Context) ([]dedup.StoreInfo, error) {
	resp, err := c.api.ListStores(ctx, &catalystpb.ListStoresRequest{})
	if err != nil {
		return nil, catalystpb.FromStatus(err)
	}
	out := make([]dedup.StoreInfo, 0, len(resp.GetStores()))
	for _, s := range resp.GetStores() {
		out = append(out, catalystpb.StoreInfoFromPB(s))
	}
	return out, nil
}

// Get writes item name (or length bytes of it from offset; length 0: to
// the end) to w. The server checks every chunk against its fingerprint.
func (c *Client) Get(ctx context.Context, store, name string, w io.Writer, offset, length int64) (dedup.Item, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.Get(ctx, &catalystpb.GetRequest{Store: store, Name: name, Offset: offset, Length: length})
	if err != nil {
		return dedup.Item{}, 0, catalystpb.FromStatus(err)
	}
	first, err := stream.Recv()
	if err != nil {
		return dedup.Item{}, 0, catalystpb.FromStatus(err)
	}
	it := catalystpb.ItemFromPB(first.GetItem())
	want := it.Size - offset
	if length > 0 {
		want = min(want, length)
	}
	var n int64
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return it, n, catalystpb.FromStatus(err)
		}
		k, err := w.Write(m.GetData())
		n += int64(k)
		if err != nil {
			return it, n, err
		}
	}
	if n != want {
		return it, n, fmt.Errorf("%w: got %d bytes of %s/%s, want %d", dedup.ErrCorrupt, n, store, name, want)
	}
	return it, n, nil
}

// List lists the items of a store that match opts.
func (c *Client) List(ctx context.Context, store string, opts dedup.ListOptions) ([]dedup.Item, error) {
	stream, err := c.api.List(ctx, &catalystpb.ListRequest{Store: store, Prefix: opts.Prefix, Meta: opts.Meta})
	if err != nil {
		return nil, catalystpb.FromStatus(err)
	}
	var out []dedup.Item
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, catalystpb.FromStatus(err)
		}
		for _, it := range m.GetItems() {
			out = append(out, catalystpb.ItemFromPB(it))
		}
	}
}

// Stat describes one item.
func (c *Client) Stat(ctx context.Context, store, name string) (dedup.Item, error) {
	it, err := c.api.Stat(ctx, &catalystpb.StatRequest{Store: store, Name: name})
	if err != nil {
		return dedup.Item{}, catalystpb.FromStatus(err)
	}
	return catalystpb.ItemFromPB(it), nil
}

// Delete removes an item.
func (c *Client) Delete(ctx context.Context, store, name string) error {
	_, err := c.api.Delete(ctx, &catalystpb.DeleteRequest{Store: store, Name: name})
	return catalystpb.FromStatus(err)
}

// Copy makes toStore/toName a copy of store/name without moving data.
func (c *Client) Copy(ctx context.Context, store, name, toStore, toName string, replace bool) (dedup.Item, error) {
	it, err := c.api.Copy(ctx, &catalystpb.CopyRequest{Store: store, Name: name, ToStore: toStore, ToName: toName, Replace: replace})
	if err != nil {
		return dedup.Item{}, catalystpb.FromStatus(err)
	}
	return catalystpb.ItemFromPB(it), nil
}

// Stats returns the figures of the stores the user may use.
func (c *Client) Stats(ctx context.Context) (dedup.Stats, error) {
	resp, err := c.api.Stats(ctx, &catalystpb.StatsRequest{})
	if err != nil {
		return dedup.Stats{}, catalystpb.FromStatus(err)
	}
	st := dedup.Stats{LogicalBytes: resp.GetLogicalBytes(), StoredBytes: resp.GetStoredBytes(), DedupRatio: resp.GetDedupRatio(), Items: resp.GetItems()}
	for _, s := range resp.GetStores() {
		st.Stores = append(st.Stores, dedup.StoreStats{Name: s.GetName(), Domain: s.GetDomain(), Items: s.GetItems(),
			LogicalBytes: s.GetLogicalBytes(), StoredBytes: s.GetStoredBytes(), DedupRatio: s.GetDedupRatio()})
	}
	return st, nil
}

// errStop ends the goroutines of a put after another one failed.
var errStop = errors.New("catalyst client: stopped")

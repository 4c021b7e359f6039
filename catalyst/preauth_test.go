package catalyst_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/backstop-appliance/backstop/catalyst"
	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/catalyst/client"
)

// rawCodec sends a message's bytes as they are, so that a test can send
// calls of many MiB from one shared buffer. Its name is proto's, so the
// server decodes them with its own codec.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// bigGetStore is a GetStoreRequest whose store name is n bytes long.
func bigGetStore(n int) []byte {
	b := []byte{0x0a} // field 1, length-delimited
	for v := uint64(n); ; v >>= 7 {
		if v < 0x80 {
			b = append(b, byte(v))
			break
		}
		b = append(b, byte(v)|0x80)
	}
	name := make([]byte, n)
	for i := range name {
		name[i] = 'a'
	}
	return append(b, name...)
}

// writeCounter counts the bytes a client writes on its connections.
type writeCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c writeCounter) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// rawAuth sends its value as the authorization header as is.
type rawAuth string

func (r rawAuth) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": string(r)}, nil
}
func (rawAuth) RequireTransportSecurity() bool { return false }

// strangerConn is a gRPC connection from local with the given Basic
// credentials (none when user is "", the header raw when user is
// "raw:..."), counting what it writes.
func strangerConn(t *testing.T, addr, local, user, pass string, written *atomic.Int64) *grpc.ClientConn {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			c, err := d.DialContext(ctx, "tcp", a)
			if err != nil {
				return nil, err
			}
			return writeCounter{Conn: c, n: written}, nil
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(128 << 20)),
	}
	if raw, ok := strings.CutPrefix(user, "raw:"); ok {
		opts = append(opts, grpc.WithPerRPCCredentials(rawAuth(raw)))
	} else if user != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(catalystpb.BasicAuth{User: user, Password: pass}))
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestUnauthenticatedCallsAreNotRead: a client with a wrong password, or
// none, that sends 16 MiB unary requests on concurrent streams is refused
// when the call's headers arrive: the server reads (and the client gets
// to write) none of those messages, only the flow-control window of a
// stream at most. Before, grpc-go read each whole message into memory
// before the interceptor checked the password.
func TestUnauthenticatedCallsAreNotRead(t *testing.T) {
	f := setup(t)
	msg := bigGetStore(16 << 20)
	const calls = 8
	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", "op", "wrong password"},
		{"no credentials", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var written atomic.Int64
			conn := strangerConn(t, f.addr, "127.0.0.3", tc.user, tc.pass, &written)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var reply []byte
					err := conn.Invoke(ctx, catalystpb.Catalyst_GetStore_FullMethodName, msg, &reply, grpc.ForceCodec(rawCodec{}))
					if c := status.Code(err); c != codes.Unauthenticated {
						t.Errorf("stranger's call: %v, want Unauthenticated", err)
					}
					if !errors.Is(catalystpb.FromStatus(err), catalyst.ErrAuth) {
						t.Errorf("stranger's call: %v is not ErrAuth for the client library", err)
					}
				}()
			}
			wg.Wait()
			// Each stream's window is 64 KiB until the server reads from
			// it; the connection's may grow, but no message is taken.
			const bound = 4 << 20
			if n := written.Load(); n > bound {
				t.Fatalf("the stranger wrote %d MiB of %d calls of 16 MiB; want at most %d MiB (nothing read before authentication)",
					n>>20, calls, bound>>20)
			}
			t.Logf("%d calls of 16 MiB: %d KiB on the wire", calls, written.Load()>>10)
		})
	}
	// The right password still works, and reads its message.
	good, err := client.Dial(client.Options{Addr: f.addr, User: "op", Password: password, CAFile: f.ca})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := good.Stores(ctx); err != nil {
		t.Fatalf("right password: %v", err)
	}
}

// TestConnLimitPerAddr: the connection over MaxConnsPerAddr from one
// address is closed before its TLS handshake; another address is served.
func TestConnLimitPerAddr(t *testing.T) {
	f := setup(t)
	srv := catalyst.New(f.eng, f.state, catalyst.Options{Addr: "127.0.0.1:0", Certificate: certOf(t, f), MaxConnsPerAddr: 2})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	dial := func(local string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
		c, err := d.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	held := []net.Conn{dial("127.0.0.4"), dial("127.0.0.4")}
	for _, c := range held {
		if closedWithin(c, 300*time.Millisecond) {
			t.Fatal("a connection within the limit was closed")
		}
	}
	if !closedWithin(dial("127.0.0.4"), 10*time.Second) {
		t.Fatal("the third connection from one address is open")
	}
	c, err := client.Dial(client.Options{Addr: srv.Addr(), User: "op", Password: password, CAFile: f.ca})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Stores(ctx); err != nil {
		t.Fatalf("a client from another address: %v", err)
	}
}

// closedWithin reports whether the server closed c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && (errors.Is(err, io.EOF) || !(errors.As(err, &ne) && ne.Timeout()))
}

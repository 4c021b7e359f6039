package catalyst_test

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
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
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// countingUsers counts password checks; each takes a while, as argon2id
// does, so that concurrent calls overlap.
type countingUsers struct {
	*appliance.State
	checks atomic.Int64
}

func (u *countingUsers) Authenticate(name, password string) (appliance.User, error) {
	u.checks.Add(1)
	time.Sleep(20 * time.Millisecond)
	return u.State.Authenticate(name, password)
}

// TestWrongPasswordsAreThrottled: 30 concurrent calls with a wrong
// password from one address check at most the limiter's budget, are in
// the audit log once, and the right password from another address still
// works at once.
func TestWrongPasswordsAreThrottled(t *testing.T) {
	f := setup(t)
	users := &countingUsers{State: f.state}
	srv := catalyst.New(f.eng, users, catalyst.Options{Addr: "127.0.0.1:0", Certificate: certOf(t, f), Audit: f.state})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	// The attacker's connection comes from 127.0.0.2 (all of 127/8 is
	// loopback on Linux); the client library dials from 127.0.0.1.
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	conn, err := grpc.NewClient("passthrough:///"+srv.Addr(),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})),
		grpc.WithPerRPCCredentials(catalystpb.BasicAuth{User: "op", Password: "wrong password"}),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return d.DialContext(ctx, "tcp", a) }))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	bad := catalystpb.NewCatalystClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := bad.ListStores(ctx, &catalystpb.ListStoresRequest{}); status.Code(err) != codes.Unauthenticated {
				t.Errorf("wrong password: %v", err)
			}
		}()
	}
	wg.Wait()
	budget := int64(appliance.DefaultLimiterOptions().PairFailures)
	if n := users.checks.Load(); n > budget {
		t.Fatalf("%d of 30 concurrent wrong passwords were checked, want at most %d", n, budget)
	}
	good, err := client.Dial(client.Options{Addr: srv.Addr(), User: "op", Password: password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if _, err := good.Stores(ctx); err != nil {
		t.Fatalf("right password from another address: %v", err)
	}
	n := 0
	for _, ev := range f.state.Events(0, 1000, appliance.KindAudit) {
		if ev.Action == "login.failed" {
			n++
		}
	}
	if n == 0 || n > 2 {
		t.Fatalf("%d login.failed events for one flood", n)
	}
}

func certOf(t *testing.T, f *fixture) *tls.Certificate {
	t.Helper()
	c, err := appliance.Certificate("", "", filepath.Dir(f.ca))
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestHugeMetadataIsRefused: credentials of 1 MiB are refused by the
// transport before any password check.
func TestHugeMetadataIsRefused(t *testing.T) {
	f := setup(t)
	users := &countingUsers{State: f.state}
	srv := catalyst.New(f.eng, users, catalyst.Options{Addr: "127.0.0.1:0", Certificate: certOf(t, f)})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	c, err := client.Dial(client.Options{Addr: srv.Addr(), User: strings.Repeat("u", 1<<20), Password: password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Stores(ctx); err == nil {
		t.Fatal("1 MiB user name accepted")
	}
	if n := users.checks.Load(); n != 0 {
		t.Fatalf("%d password checks for a 1 MiB header", n)
	}
}

package smb2

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmb2 "github.com/hirochachacha/go-smb2"

	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// countingUsers counts NT hash look-ups: one per password check.
type countingUsers struct {
	testUsers
	checks atomic.Int64
}

func (u *countingUsers) NTHash(user string) ([]byte, error) {
	u.checks.Add(1)
	time.Sleep(10 * time.Millisecond) // concurrent attempts overlap
	return u.testUsers.NTHash(user)
}

type auditLog struct {
	mu  sync.Mutex
	evs []appliance.Event
}

func (l *auditLog) Record(e appliance.Event) appliance.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
	return e
}

// dialFrom opens a session from the loopback address local.
func dialFrom(addr, local, user, pass string) (*gosmb2.Session, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	s, err := (&gosmb2.Dialer{Initiator: &gosmb2.NTLMInitiator{User: user, Password: pass}}).Dial(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return s, nil
}

func TestWrongNTLMLogonsAreThrottled(t *testing.T) {
	users := &countingUsers{testUsers: testUsers{testUser: testPass}}
	audit := &auditLog{}
	lim := appliance.NewLimiter(appliance.LimiterOptions{Audit: audit})
	shares := testShares{"data": {Name: "data", FS: vfs.NewMemFS(1 << 30), Access: nas.AccessReadWrite}}
	srv := New(shares, users, Options{Addr: "127.0.0.1:0", Logins: lim, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, srv) })

	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := dialFrom(srv.Addr(), "127.0.0.2", testUser, "wrong password")
			if err == nil {
				s.Logoff()
				t.Error("wrong password accepted")
			} else if !strings.Contains(err.Error(), "logon is invalid") {
				t.Errorf("wrong password: %v", err)
			}
		}()
	}
	wg.Wait()
	budget := int64(appliance.DefaultLimiterOptions().PairFailures)
	if n := users.checks.Load(); n > budget {
		t.Fatalf("%d of 30 wrong NTLM logons were checked, want at most %d", n, budget)
	}
	// The right password from another address works at once.
	s, err := dialFrom(srv.Addr(), "127.0.0.3", testUser, testPass)
	if err != nil {
		t.Fatalf("right password from another address: %v", err)
	}
	s.Logoff()
	audit.mu.Lock()
	defer audit.mu.Unlock()
	if len(audit.evs) == 0 || len(audit.evs) > 2 {
		t.Fatalf("%d audit events for one flood: %+v", len(audit.evs), audit.evs)
	}
	if e := audit.evs[0]; e.Action != "login.failed" || !strings.Contains(e.Message, "smb") || !strings.Contains(e.Message, "127.0.0.2") {
		t.Fatalf("audit event %+v", e)
	}
}

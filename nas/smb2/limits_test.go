package smb2

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	gosmb2 "github.com/hirochachacha/go-smb2"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// limitWait is how long a limit test waits for something that must
// happen; a pass never depends on timing.
const limitWait = 10 * time.Second

// stripConn is a client's connection through which a man in the middle
// removes the signature of the requests whose command is in strip: the
// flag is cleared and the signature zeroed, the rest is passed as is.
type stripConn struct {
	net.Conn
	mu    sync.Mutex
	strip map[uint16]bool
	out   []byte // written bytes not yet forming a whole frame
}

func (s *stripConn) set(cmds ...uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strip = map[uint16]bool{}
	for _, c := range cmds {
		s.strip[c] = true
	}
}

func (s *stripConn) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = append(s.out, p...)
	for len(s.out) >= 4 {
		n := 4 + (int(s.out[1])<<16 | int(s.out[2])<<8 | int(s.out[3]))
		if len(s.out) < n {
			break
		}
		frame := s.out[:n]
		msg := frame[4:]
		if len(msg) >= headerSize && le.Uint32(msg) == protoSMB2 && s.strip[le.Uint16(msg[12:])] {
			le.PutUint32(msg[16:], le.Uint32(msg[16:])&^flagSigned)
			clear(msg[48:64])
		}
		if _, err := s.Conn.Write(frame); err != nil {
			return 0, err
		}
		s.out = s.out[n:]
	}
	return len(p), nil
}

// TestSigningPerRequest: on a share that requires signing, or a session
// that must sign, a request stripped of its signature after a signed
// TREE_CONNECT is refused with STATUS_ACCESS_DENIED and not executed
// ([MS-SMB2] 3.3.5.2.4). go-smb2 signs every request of its session
// without requiring signing, so only the share asks for it.
func TestSigningPerRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		share   nas.Share
		opts    Options
		dialect uint16
	}{
		{"share SignRequired 3.1.1", nas.Share{Name: "signed", SignRequired: true}, Options{}, 0x0311},
		{"share SignRequired 2.1", nas.Share{Name: "signed", SignRequired: true}, Options{}, 0x0210},
		{"server RequireSigning", nas.Share{Name: "signed"}, Options{RequireSigning: true}, 0x0311},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMemFS(1 << 30)
			tc.share.FS, tc.share.Access = mem, nas.AccessReadWrite
			tc.opts.Addr = "127.0.0.1:0"
			tc.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			srv := New(testShares{"signed": tc.share}, testUsers{testUser: testPass}, tc.opts)
			if err := srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { shutdown(t, srv) })
			nc, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			mitm := &stripConn{Conn: nc}
			_ = nc.SetDeadline(time.Now().Add(time.Minute)) // no step blocks forever
			d := &gosmb2.Dialer{Negotiator: gosmb2.Negotiator{SpecifiedDialect: tc.dialect},
				Initiator: &gosmb2.NTLMInitiator{User: testUser, Password: testPass}}
			sess, err := d.Dial(mitm)
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Logoff()
			fs, err := sess.Mount("signed")
			if err != nil {
				t.Fatalf("signed tree connect: %v", err)
			}
			defer fs.Umount()
			if err := fs.WriteFile("f.txt", []byte("original"), 0o644); err != nil {
				t.Fatalf("signed write: %v", err)
			}
			f, err := fs.OpenFile("f.txt", os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()

			mitm.set(cmdWrite)
			_, err = f.WriteAt([]byte("EVIL"), 0)
			wantDenied(t, "unsigned WRITE", err)
			mitm.set(cmdRead)
			buf := make([]byte, 8)
			n, err := f.ReadAt(buf, 0)
			wantDenied(t, "unsigned READ", err)
			if n != 0 {
				t.Errorf("unsigned READ returned %q", buf[:n])
			}
			mitm.set(cmdCreate)
			_, err = fs.Create("new.txt")
			wantDenied(t, "unsigned CREATE", err)

			mitm.set()
			got, err := fs.ReadFile("f.txt")
			if err != nil || !bytes.Equal(got, []byte("original")) {
				t.Fatalf("after the refused write the file holds %q (%v), want %q", got, err, "original")
			}
			if _, err := fs.Stat("new.txt"); err == nil {
				t.Fatal("the unsigned CREATE made new.txt")
			}
		})
	}
}

func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	// go-smb2 turns STATUS_ACCESS_DENIED into os.ErrPermission.
	var re *gosmb2.ResponseError
	if !errors.Is(err, os.ErrPermission) && !(errors.As(err, &re) && Status(re.Code) == StatusAccessDenied) {
		t.Errorf("%s: %v, want STATUS_ACCESS_DENIED", what, err)
	}
}

// startLimited serves the "data" share with the given limits.
func startLimited(t *testing.T, opts Options) *testEnv {
	t.Helper()
	return startServer(t, opts)
}

// closedWithin reports whether the server closes c (a read ends with
// EOF or a reset) within d, reading and dropping what it sends.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, limitWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPreauthFrameLimit: before a session exists a frame longer than
// MaxPreauthFrame drops the connection at its length, without reading
// (or allocating) its body; a client then still negotiates and works.
func TestPreauthFrameLimit(t *testing.T) {
	env := startLimited(t, Options{})
	c := dialRaw(t, env.addr)
	// An 8 MiB frame was accepted before any session by the old code.
	if _, err := c.Write([]byte{0, 0x80, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(c, limitWait) {
		t.Fatal("a pre-session 8 MiB frame length did not close the connection")
	}
	if got := env.srv.Stats().BigPreauthFrames; got != 1 {
		t.Fatalf("BigPreauthFrames = %d, want 1", got)
	}
	// One byte over the limit is refused too; a frame at the limit is
	// read (and, being garbage, drops the connection as garbage).
	c = dialRaw(t, env.addr)
	n := DefaultMaxPreauthFrame + 1
	if _, err := c.Write([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(c, limitWait) {
		t.Fatal("a frame one byte over the limit did not close the connection")
	}
	if got := env.srv.Stats().BigPreauthFrames; got != 2 {
		t.Fatalf("BigPreauthFrames = %d, want 2", got)
	}
	mount(t, env, gosmb2.Negotiator{}, "data")
}

// TestNegotiateTimeout: a connection that authenticates no session within
// NegotiateTimeout is closed, whether it sends nothing or only
// keep-alives.
func TestNegotiateTimeout(t *testing.T) {
	env := startLimited(t, Options{NegotiateTimeout: 300 * time.Millisecond})
	silent := dialRaw(t, env.addr)
	chatty := dialRaw(t, env.addr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			if _, err := chatty.Write([]byte{0x85, 0, 0, 0}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	if !closedWithin(silent, limitWait) {
		t.Fatal("a silent connection was not closed after the negotiate timeout")
	}
	if !closedWithin(chatty, limitWait) {
		t.Fatal("a connection sending keep-alives was not closed after the negotiate timeout")
	}
	if got := env.srv.Stats().NegotiateTimeouts; got != 2 {
		t.Fatalf("NegotiateTimeouts = %d, want 2", got)
	}
}

// TestIdleTimeouts: an authenticated session with nothing open is closed
// after SessionIdleTimeout; one holding an open file is not.
func TestIdleTimeouts(t *testing.T) {
	env := startLimited(t, Options{SessionIdleTimeout: 200 * time.Millisecond})
	fs := mount(t, env, gosmb2.Negotiator{}, "data")
	if err := fs.WriteFile("held.txt", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := fs.Open("held.txt")
	if err != nil {
		t.Fatal(err)
	}
	idle := mount(t, env, gosmb2.Negotiator{}, "data")
	deadline := time.Now().Add(limitWait)
	for env.srv.Stats().IdleTimeouts < 1 {
		if time.Now().After(deadline) {
			t.Fatal("an idle session was not closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := idle.Stat("held.txt"); err == nil {
		t.Fatal("the idle connection still serves")
	}
	time.Sleep(600 * time.Millisecond) // three idle timeouts
	if _, err := f.Stat(); err != nil {
		t.Fatalf("the connection holding an open file was closed: %v", err)
	}
	f.Close()
	if got := env.srv.Stats().IdleTimeouts; got != 1 {
		t.Fatalf("IdleTimeouts = %d, want 1", got)
	}
}

// TestConnsPerAddr: connections over MaxConnsPerAddr from one address
// are closed at accept.
func TestConnsPerAddr(t *testing.T) {
	env := startLimited(t, Options{MaxConnsPerAddr: 2})
	dialRaw(t, env.addr)
	dialRaw(t, env.addr)
	third := dialRaw(t, env.addr)
	if !closedWithin(third, limitWait) {
		t.Fatal("a third connection from one address was not closed")
	}
	if r := env.srv.Stats().Refused; r.PerAddr != 1 {
		t.Fatalf("refused %+v, want one per address", r)
	}
}

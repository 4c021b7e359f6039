package smb2

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	gosmb2 "github.com/hirochachacha/go-smb2"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// fakeClock is the server's clock in tests that watch file times.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// TestWriteTimesGoSMB2: through a real client over TCP, the last-write
// time is noted at the first write of an open and at its close, not at
// every write ([MS-FSA] 2.1.4.17); a time set with SetInfo sticks.
func TestWriteTimesGoSMB2(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	env := startServer(t, Options{Now: clock.now})
	sh := mount(t, env, gosmb2.Negotiator{}, "data")

	t1 := time.Date(2030, 1, 1, 1, 0, 0, 0, time.UTC)
	clock.set(t1)
	f, err := sh.Create("times.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mtime := func(what string, want time.Time) {
		t.Helper()
		info, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if !info.ModTime().Equal(want) {
			t.Errorf("%s: last write %v, want %v", what, info.ModTime().UTC(), want)
		}
	}
	if _, err := f.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	mtime("after the first write", t1)
	clock.set(t1.Add(time.Hour))
	if _, err := f.Write([]byte("second")); err != nil {
		t.Fatal(err)
	}
	mtime("after a later write", t1)
	t3 := t1.Add(2 * time.Hour)
	clock.set(t3)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := sh.Stat("times.bin")
	if err != nil {
		t.Fatal(err)
	}
	if !info.ModTime().Equal(t3) {
		t.Errorf("after close: last write %v, want %v", info.ModTime().UTC(), t3)
	}

	// Times restored by backup software: past 2038, and before 1970.
	for _, when := range []time.Time{
		time.Date(2040, 2, 29, 12, 0, 0, 100, time.UTC),
		time.Date(2200, 12, 31, 23, 59, 59, 999999900, time.UTC),
		time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if err := sh.Chtimes("times.bin", when, when); err != nil {
			t.Fatal(err)
		}
		info, err := sh.Stat("times.bin")
		if err != nil {
			t.Fatal(err)
		}
		if !info.ModTime().Equal(when) {
			t.Errorf("Chtimes %v: last write %v", when, info.ModTime().UTC())
		}
	}
}

// basicInfo is FILE_BASIC_INFORMATION's four times, as FILETIMEs.
type basicInfo struct{ birth, access, write, change uint64 }

func (rc *rawConn) queryBasic(t *testing.T, fid fileID) basicInfo {
	t.Helper()
	q := fileBody(41, 40, 24, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileBasicInformation
		le.PutUint32(w.b[4:], 40)
	})
	putFileID(q[24:], fid)
	st, body := rc.do(t, cmdQueryInfo, q)
	if st != StatusSuccess {
		t.Fatalf("query basic: %v", st)
	}
	d := body[le.Uint16(body[2:])-headerSize:]
	return basicInfo{le.Uint64(d), le.Uint64(d[8:]), le.Uint64(d[16:]), le.Uint64(d[24:])}
}

func (rc *rawConn) setBasic(t *testing.T, fid fileID, in basicInfo) Status {
	t.Helper()
	s := fileBody(33, 32, 16, func(w *buf) {
		w.b[2], w.b[3] = infoFile, fileBasicInformation
		le.PutUint32(w.b[4:], 40)
		le.PutUint16(w.b[8:], headerSize+32)
		w.u64(in.birth)
		w.u64(in.access)
		w.u64(in.write)
		w.u64(in.change)
		w.u32(0)
		w.u32(0)
	})
	putFileID(s[16:], fid)
	st, _ := rc.do(t, cmdSetInfo, s)
	return st
}

func (rc *rawConn) writeAt(t *testing.T, fid fileID, off uint64, p []byte) {
	t.Helper()
	w := fileBody(49, 48, 16, func(w *buf) {
		le.PutUint16(w.b[2:], headerSize+48)
		le.PutUint32(w.b[4:], uint32(len(p)))
		le.PutUint64(w.b[8:], off)
		w.bytes(p)
	})
	putFileID(w[16:], fid)
	if st, _ := rc.do(t, cmdWrite, w); st != StatusSuccess {
		t.Fatalf("write: %v", st)
	}
}

func (rc *rawConn) create(t *testing.T, name string) fileID {
	t.Helper()
	st, body := rc.do(t, cmdCreate, createBody(name, dispOpenIf, 0))
	if st != StatusSuccess {
		t.Fatalf("create %s: %v", name, st)
	}
	return getFileID(body[64:])
}

func (rc *rawConn) close(t *testing.T, fid fileID) {
	t.Helper()
	c := fileBody(24, 24, 8, nil)
	putFileID(c[8:], fid)
	if st, _ := rc.do(t, cmdClose, c); st != StatusSuccess {
		t.Fatalf("close: %v", st)
	}
}

// TestBasicInfoTimes drives FILE_BASIC_INFORMATION by hand: -1 suspends
// this open's updates of a time and -2 resumes them ([MS-FSCC] 2.4.7),
// a time set explicitly survives later writes and the close, times below
// -2 are refused, and times at the ends of the FILETIME range come back
// as set.
func TestBasicInfoTimes(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := New(testShares{}, testUsers{}, Options{Now: clock.now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer shutdown(t, srv)
	share := nas.Share{Name: "data", FS: vfs.NewMemFS(1 << 30), Access: nas.AccessReadWrite}
	rc := newRawConn(t, srv, 1, share)
	at := func(h int) time.Time { return time.Date(2030, 1, 1, h, 0, 0, 0, time.UTC) }
	ft := func(h int) uint64 { return filetime(at(h)) }

	t.Run("suspend and resume", func(t *testing.T) {
		fid := rc.create(t, "suspend.bin")
		before := rc.queryBasic(t, fid)
		if st := rc.setBasic(t, fid, basicInfo{write: timeSuspend}); st != StatusSuccess {
			t.Fatalf("set -1: %v", st)
		}
		clock.set(at(1))
		rc.writeAt(t, fid, 0, []byte("data"))
		got := rc.queryBasic(t, fid)
		if got.write != before.write {
			t.Errorf("suspended: last write moved from %d to %d", before.write, got.write)
		}
		if got.change != ft(1) {
			t.Errorf("change time %d, want %d (not suspended)", got.change, ft(1))
		}
		if st := rc.setBasic(t, fid, basicInfo{write: timeResume}); st != StatusSuccess {
			t.Fatalf("set -2: %v", st)
		}
		clock.set(at(2))
		rc.close(t, fid)
		fid = rc.create(t, "suspend.bin")
		if got := rc.queryBasic(t, fid); got.write != ft(2) {
			t.Errorf("resumed: last write %d after close, want %d", got.write, ft(2))
		}
		rc.close(t, fid)
	})

	t.Run("explicit time sticks", func(t *testing.T) {
		fid := rc.create(t, "sticky.bin")
		set := filetime(time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC))
		clock.set(at(3))
		rc.writeAt(t, fid, 0, []byte("one"))
		if st := rc.setBasic(t, fid, basicInfo{write: set}); st != StatusSuccess {
			t.Fatalf("set: %v", st)
		}
		clock.set(at(4))
		rc.writeAt(t, fid, 3, []byte("two"))
		clock.set(at(5))
		rc.close(t, fid)
		fid = rc.create(t, "sticky.bin")
		if got := rc.queryBasic(t, fid); got.write != set || got.change != ft(5) {
			t.Errorf("last write %d change %d, want %d and %d", got.write, got.change, set, ft(5))
		}
		rc.close(t, fid)
	})

	t.Run("limits", func(t *testing.T) {
		fid := rc.create(t, "limits.bin")
		defer rc.close(t, fid)
		for _, v := range []uint64{1, filetime(time.Date(2038, 1, 19, 3, 14, 8, 0, time.UTC)),
			filetime(time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)), 1<<63 - 1} {
			in := basicInfo{birth: v, access: v, write: v, change: v}
			if st := rc.setBasic(t, fid, in); st != StatusSuccess {
				t.Fatalf("set %#x: %v", v, st)
			}
			if got := rc.queryBasic(t, fid); got != in {
				t.Errorf("set %#x, got %+v", v, got)
			}
		}
		if st := rc.setBasic(t, fid, basicInfo{write: ^uint64(0) - 2}); st != StatusInvalidParameter {
			t.Errorf("time -3: %v, want STATUS_INVALID_PARAMETER", st)
		}
	})
}

func TestFiletimeRoundTrip(t *testing.T) {
	for _, v := range []uint64{1, 116444736000000000, 116444736000000001, 1<<63 - 1} {
		if got := filetime(fromFiletime(v)); got != v {
			t.Errorf("FILETIME %#x comes back as %#x", v, got)
		}
	}
	if filetime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)) != 0 {
		t.Error("a time before 1601 is not clamped to the start")
	}
	if filetime(time.Date(40000, 1, 1, 0, 0, 0, 0, time.UTC)) != 1<<63-1 {
		t.Error("a time after 30828 is not clamped to the end")
	}
}

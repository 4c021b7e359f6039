package sharefs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	gosmb2 "github.com/hirochachacha/go-smb2"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas/smb2"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// brokenManager is a manager whose share "broken" has damaged metadata
// and whose share "backup" holds the file "keep".
func brokenManager(t *testing.T) *managerEnv {
	t.Helper()
	e := newManagerEnv(t)
	ctx := context.Background()
	if _, err := e.m.Create(ctx, Share{Name: "broken"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"backup", "broken"} {
		sh, err := e.m.Share(ctx, name, smbUser)
		if err != nil {
			t.Fatal(err)
		}
		f, err := sh.FS.Open(ctx, "keep", vfs.OpenWrite|vfs.OpenCreate)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("kept"), 0); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	e.m = nil
	manifest := filepath.Join(e.eng.Dir(), "nas", "shares", "broken", "meta", "MANIFEST")
	if err := os.WriteFile(manifest, []byte("not a badger manifest"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.openManager() // fails the test if OpenManager fails
	return e
}

func TestDegradedShareDoesNotStopTheOthers(t *testing.T) {
	e := brokenManager(t)
	ctx := context.Background()
	deg := e.m.Degraded()
	if len(deg) != 1 || deg["broken"] == nil {
		t.Fatalf("degraded %v, want only broken", deg)
	}
	if _, err := e.m.Share(ctx, "broken", smbUser); !errors.Is(err, vfs.ErrUnavailable) || !errors.Is(err, ErrDegraded) {
		t.Fatalf("share broken: %v, want ErrDegraded", err)
	}
	sh, err := e.m.Share(ctx, "backup", smbUser)
	if err != nil {
		t.Fatalf("share backup: %v", err)
	}
	f, err := sh.FS.Open(ctx, "keep", vfs.OpenRead)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f); string(got) != "kept" {
		t.Fatalf("backup/keep: %q", got)
	}
	f.Close()
	list := e.m.List(ctx)
	if got := shareNames(list); len(got) != 2 {
		t.Fatalf("list %v", got)
	}
	for _, in := range list {
		if (in.Name == "broken") != (in.Degraded != "") {
			t.Fatalf("share %s: degraded %q", in.Name, in.Degraded)
		}
	}
	visible, err := e.m.Shares(ctx, smbUser)
	if err != nil || len(visible) != 1 || visible[0].Name != "backup" {
		t.Fatalf("shares served: %v %v", visible, err)
	}
	// A degraded share can still be changed and deleted.
	quota := int64(1 << 30)
	if _, err := e.m.Update(ctx, "broken", Patch{QuotaBytes: &quota}); err != nil {
		t.Fatalf("update broken: %v", err)
	}
	if err := e.m.Delete(ctx, "broken"); err != nil {
		t.Fatalf("delete broken: %v", err)
	}
	if len(e.m.Degraded()) != 0 {
		t.Fatalf("degraded after the delete: %v", e.m.Degraded())
	}
}

// serveSMB serves the manager's shares over the SMB server on 127.0.0.1
// and returns a go-smb2 session of smbUser.
func serveSMB(t *testing.T, m *Manager) *gosmb2.Session {
	t.Helper()
	opts := smb2.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Addr = "127.0.0.1:0"
	srv := smb2.New(m, smbUsers{smbUser: smbPass}, opts)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("smb shutdown: %v", err)
		}
	})
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	d := &gosmb2.Dialer{Initiator: &gosmb2.NTLMInitiator{User: smbUser, Password: smbPass}}
	s, err := d.Dial(nc)
	if err != nil {
		nc.Close()
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { s.Logoff() })
	return s
}

// wantStatus checks that err carries the NT status st. go-smb2 reports
// ACCESS_DENIED and CANNOT_DELETE both as os.ErrPermission (the status
// table's own test tells them apart).
func wantStatus(t *testing.T, what string, err error, st smb2.Status) {
	t.Helper()
	if st == smb2.StatusAccessDenied || st == smb2.StatusCannotDelete {
		if !errors.Is(err, os.ErrPermission) {
			t.Fatalf("%s: %v, want status %v (permission denied)", what, err, st)
		}
		return
	}
	var re *gosmb2.ResponseError
	if !errors.As(err, &re) || re.Code != uint32(st) {
		t.Fatalf("%s: %v, want status %v", what, err, st)
	}
}

func TestSMBDegradedShareRefused(t *testing.T) {
	e := brokenManager(t)
	s := serveSMB(t, e.m)
	_, err := s.Mount("broken")
	wantStatus(t, "mount broken", err, smb2.StatusDeviceNotReady)
	fs, err := s.Mount("backup")
	if err != nil {
		t.Fatalf("mount backup: %v", err)
	}
	defer fs.Umount()
	if b, err := fs.ReadFile("keep"); err != nil || string(b) != "kept" {
		t.Fatalf("read keep: %q %v", b, err)
	}
}

func TestSMBImmutableShare(t *testing.T) {
	e := newManagerEnv(t)
	if _, err := e.eng.SetStoreOptions(StorePrefix+"backup", chunkstore.StoreOptions{ImmutableDays: 1}); err != nil {
		t.Fatal(err)
	}
	s := serveSMB(t, e.m)
	fs, err := s.Mount("backup")
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	defer fs.Umount()
	if err := fs.WriteFile("a", []byte("first version"), 0o644); err != nil {
		t.Fatalf("write a: %v", err)
	}
	if err := fs.WriteFile("a", []byte("overwritten"), 0o644); err == nil {
		t.Fatal("overwrite of a: accepted")
	} else {
		wantStatus(t, "overwrite a", err, smb2.StatusAccessDenied)
	}
	f, err := fs.OpenFile("a", os.O_WRONLY|os.O_APPEND, 0)
	if f != nil {
		f.Close()
	}
	wantStatus(t, "open a to append", err, smb2.StatusAccessDenied)
	// The file shows as read-only, so the delete disposition is refused
	// up front, as for a read-only file ([MS-FSA] 2.1.5.14.3).
	wantStatus(t, "delete a", fs.Remove("a"), smb2.StatusCannotDelete)
	if b, err := fs.ReadFile("a"); err != nil || string(b) != "first version" {
		t.Fatalf("read a: %q %v", b, err)
	}
	if err := fs.WriteFile("b", []byte("a new file"), 0o644); err != nil {
		t.Fatalf("create b: %v", err)
	}
}

// TestShareNamingAnotherStore: a hand-edited shares.json whose share names
// a store that is not its own leaves the share degraded, and deleting it
// leaves that other store's items alone.
func TestShareNamingAnotherStore(t *testing.T) {
	e := newManagerEnv(t)
	ctx := context.Background()
	if _, err := e.eng.CreateStore("payroll", "default"); err != nil {
		t.Fatal(err)
	}
	w, err := e.eng.Create(ctx, "payroll", "salaries", chunkstore.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("not the share's")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Create(ctx, Share{Name: "edited"}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	e.m = nil
	path := filepath.Join(e.eng.Dir(), "nas", "shares.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(b, []byte(`"store": "nas.edited"`), []byte(`"store": "payroll"`), 1)
	if bytes.Equal(edited, b) {
		t.Fatalf("shares.json has no store line to edit:\n%s", b)
	}
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	e.openManager()
	if _, ok := e.m.Degraded()["edited"]; !ok {
		t.Fatalf("a share naming another store is not degraded: %v", e.m.Degraded())
	}
	if err := e.m.Delete(ctx, "edited"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := e.eng.Stat(ctx, "payroll", "salaries"); err != nil {
		t.Fatalf("deleting the share touched store payroll: %v", err)
	}
}

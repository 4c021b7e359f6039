package sharefs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

type managerEnv struct {
	*testEnv
	m *Manager
}

func newManagerEnv(t *testing.T) *managerEnv {
	e := &testEnv{t: t, dir: t.TempDir()}
	e.open()
	me := &managerEnv{testEnv: e}
	me.openManager()
	t.Cleanup(func() {
		if me.m != nil {
			me.m.Close()
		}
		e.close()
	})
	return me
}

func (e *managerEnv) openManager() {
	e.t.Helper()
	m, err := OpenManager(context.Background(), e.eng, e.eng.Dir(), ManagerOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.m = m
}

func (e *managerEnv) restartManager() {
	e.t.Helper()
	if err := e.m.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.m = nil
	e.close()
	e.open()
	e.openManager()
}

func shareNames(list []Info) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

func TestManagerDefaultShare(t *testing.T) {
	e := newManagerEnv(t)
	ctx := context.Background()
	list := e.m.List(ctx)
	if !slices.Equal(shareNames(list), []string{"backup"}) {
		t.Fatalf("shares %v", shareNames(list))
	}
	b := list[0]
	if b.Domain != chunkstore.DefaultDomain || b.Store != "nas.backup" || b.DefaultAccess != AccessReadWrite || b.DedupRatio != 1 {
		t.Fatalf("default share %+v", b)
	}
	// deleted, it is not made again on the next start
	if err := e.m.Delete(ctx, "backup"); err != nil {
		t.Fatal(err)
	}
	e.restartManager()
	if got := e.m.List(ctx); len(got) != 0 {
		t.Fatalf("shares after deleting the default: %v", shareNames(got))
	}
}

func TestManagerCreateValidation(t *testing.T) {
	e := newManagerEnv(t)
	ctx := context.Background()
	long := string(make([]byte, 61))
	tests := []struct {
		name  string
		share Share
		want  error
	}{
		{"ok", Share{Name: "docs"}, nil},
		{"own domain", Share{Name: "tenant1", Domain: "tenant1"}, nil},
		{"exists", Share{Name: "backup"}, ErrShareExists},
		{"exists other case", Share{Name: "BACKUP"}, ErrShareExists},
		{"empty name", Share{}, ErrInvalidShare},
		{"bad name", Share{Name: "a/b"}, ErrInvalidShare},
		{"dollar", Share{Name: "IPC$"}, ErrInvalidShare},
		{"too long", Share{Name: "a" + long}, ErrInvalidShare},
		{"bad domain", Share{Name: "x", Domain: "-x"}, ErrInvalidShare},
		{"bad access", Share{Name: "x", DefaultAccess: "all"}, ErrInvalidShare},
		{"bad user access", Share{Name: "x", Users: map[string]Access{"bob": "rw"}}, ErrInvalidShare},
		{"negative quota", Share{Name: "x", QuotaBytes: -1}, ErrInvalidShare},
		{"control in comment", Share{Name: "x", Comment: "a\nb"}, ErrInvalidShare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.m.Create(ctx, tt.share)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	// a store of the share's name that is not a share's
	if _, err := e.eng.CreateStore("nas.taken", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	w, _ := e.eng.Create(ctx, "nas.taken", "x", chunkstore.WriteOptions{})
	w.Write([]byte("x"))
	w.Commit(ctx)
	if _, err := e.m.Create(ctx, Share{Name: "taken"}); !errors.Is(err, ErrShareExists) {
		t.Fatalf("foreign store: %v", err)
	}
	var domain string
	for _, st := range e.eng.Stores() {
		if st.Name == "nas.tenant1" {
			domain = st.Domain
		}
	}
	if domain != "tenant1" {
		t.Fatalf("tenant1's store is in domain %q", domain)
	}
}

func TestManagerAccessAndPersistence(t *testing.T) {
	e := newManagerEnv(t)
	ctx := context.Background()
	_, err := e.m.Create(ctx, Share{Name: "Projects", Comment: "team files", DefaultAccess: AccessNone,
		Users: map[string]Access{"alice": AccessReadWrite, "bob": AccessReadOnly}, EncryptData: true, QuotaBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, round := range []string{"before restart", "after restart"} {
		tests := []struct {
			user string
			want nas.Access
		}{{"alice", nas.AccessReadWrite}, {"bob", nas.AccessRead}, {"Bob", nas.AccessRead}, {"carol", nas.AccessNone}}
		for _, tt := range tests {
			sh, err := e.m.Share(ctx, "projects", tt.user)
			if err != nil || sh.Access != tt.want || sh.Name != "Projects" || !sh.EncryptData || sh.SignRequired || sh.Comment != "team files" {
				t.Fatalf("%s: %s: %+v %v", round, tt.user, sh, err)
			}
		}
		list, _ := e.m.Shares(ctx, "carol")
		if len(list) != 1 || list[0].Name != "backup" {
			t.Fatalf("%s: carol sees %v", round, list)
		}
		list, _ = e.m.Shares(ctx, "bob")
		if len(list) != 2 {
			t.Fatalf("%s: bob sees %d shares", round, len(list))
		}
		if _, err := e.m.Share(ctx, "nope", "alice"); !errors.Is(err, nas.ErrNoShare) {
			t.Fatalf("missing share: %v", err)
		}
		e.restartManager()
	}
	// the quota holds through the share's filesystem
	sh, _ := e.m.Share(ctx, "Projects", "alice")
	f, err := sh.FS.Open(ctx, "f", vfs.OpenCreate|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, 2000), 0); !errors.Is(err, vfs.ErrNoSpace) {
		t.Fatalf("over quota: %v", err)
	}
	// patch: raise the quota, change access
	q := int64(1 << 20)
	ro := AccessReadOnly
	in, err := e.m.Update(ctx, "Projects", Patch{QuotaBytes: &q, DefaultAccess: &ro, Users: &map[string]Access{}})
	if err != nil || in.QuotaBytes != q || len(in.Users) != 0 {
		t.Fatalf("update: %+v %v", in, err)
	}
	if _, err := f.WriteAt(make([]byte, 2000), 0); err != nil {
		t.Fatalf("after raising the quota: %v", err)
	}
	if sh, _ := e.m.Share(ctx, "Projects", "alice"); sh.Access != nas.AccessRead {
		t.Fatalf("alice after patch: %v", sh.Access)
	}
	bad := Access("x")
	if _, err := e.m.Update(ctx, "Projects", Patch{DefaultAccess: &bad}); !errors.Is(err, ErrInvalidShare) {
		t.Fatalf("bad patch: %v", err)
	}
	if _, err := e.m.Update(ctx, "nope", Patch{}); !errors.Is(err, nas.ErrNoShare) {
		t.Fatalf("patch missing: %v", err)
	}
}

func TestManagerFiguresAndDelete(t *testing.T) {
	e := newManagerEnv(t)
	ctx := context.Background()
	if _, err := e.m.Create(ctx, Share{Name: "data"}); err != nil {
		t.Fatal(err)
	}
	sh, _ := e.m.Share(ctx, "data", "admin")
	data := randBytes(5, 1<<20)
	for _, name := range []string{"a", "b"} { // the same bytes twice
		f, err := sh.FS.Open(ctx, name, vfs.OpenCreate|vfs.OpenWrite)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt(data, 0)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	in, err := e.m.Get(ctx, "data")
	if err != nil {
		t.Fatal(err)
	}
	if in.Files != 2 || in.LogicalBytes != 2<<20 || in.StoredBytes <= 0 || in.StoredBytes > 3<<19 || in.DedupRatio < 1.5 {
		t.Fatalf("figures %+v", in.Figures)
	}
	if err := e.m.Delete(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.FS.Stat(ctx, "a"); err == nil {
		t.Fatal("deleted share's filesystem still answers")
	}
	for _, st := range e.eng.Stores() {
		if st.Name == "nas.data" {
			t.Fatal("store left behind")
		}
	}
	if _, err := os.Stat(filepath.Join(e.eng.Dir(), "nas", "shares", "data")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("metadata left behind: %v", err)
	}
	// the name can be used again, for an empty share
	if _, err := e.m.Create(ctx, Share{Name: "data"}); err != nil {
		t.Fatal(err)
	}
	if in, _ := e.m.Get(ctx, "data"); in.Files != 0 {
		t.Fatalf("recreated share holds %d files", in.Files)
	}
}

func TestManagerBadFile(t *testing.T) {
	e := newManagerEnv(t)
	e.m.Close()
	e.m = nil
	path := filepath.Join(e.eng.Dir(), "nas", "shares.json")
	for _, content := range []string{"{", `{"version":2,"shares":[]}`, `{"version":1,"shares":[{"name":"a/b"}]}`, `{"version":1,"x":1}`} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenManager(context.Background(), e.eng, e.eng.Dir(), ManagerOptions{}); err == nil {
			t.Fatalf("%s: opened", content)
		}
	}
}

package smb2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"sync"
	"testing"

	gosmb2 "github.com/hirochachacha/go-smb2"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// dial opens a go-smb2 session to the test server.
func dial(t testing.TB, env *testEnv, neg gosmb2.Negotiator, user, pass string) (*gosmb2.Session, error) {
	t.Helper()
	nc, err := net.Dial("tcp", env.addr)
	if err != nil {
		t.Fatal(err)
	}
	d := &gosmb2.Dialer{Negotiator: neg, Initiator: &gosmb2.NTLMInitiator{User: user, Password: pass}}
	s, err := d.Dial(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	t.Cleanup(func() { s.Logoff() })
	return s, nil
}

func mount(t testing.TB, env *testEnv, neg gosmb2.Negotiator, share string) *gosmb2.Share {
	t.Helper()
	s, err := dial(t, env, neg, testUser, testPass)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	fs, err := s.Mount(share)
	if err != nil {
		t.Fatalf("mount %s: %v", share, err)
	}
	t.Cleanup(func() { fs.Umount() })
	return fs
}

func TestGoSMB2Dialects(t *testing.T) {
	env := startServer(t, Options{})
	for _, tc := range []struct {
		name string
		neg  gosmb2.Negotiator
	}{
		{"2.0.2", gosmb2.Negotiator{SpecifiedDialect: 0x0202}},
		{"2.1", gosmb2.Negotiator{SpecifiedDialect: 0x0210}},
		{"3.0", gosmb2.Negotiator{SpecifiedDialect: 0x0300}},
		{"3.0.2", gosmb2.Negotiator{SpecifiedDialect: 0x0302}},
		{"3.1.1", gosmb2.Negotiator{SpecifiedDialect: 0x0311}},
		{"3.1.1-signed", gosmb2.Negotiator{SpecifiedDialect: 0x0311, RequireMessageSigning: true}},
		{"2.1-signed", gosmb2.Negotiator{SpecifiedDialect: 0x0210, RequireMessageSigning: true}},
		{"all", gosmb2.Negotiator{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := mount(t, env, tc.neg, "data")
			dir := "d-" + tc.name
			if err := fs.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			size := 3<<20 + 17
			if testing.Short() {
				size = 300<<10 + 17 // the race detector makes crypto slow
			}
			data := make([]byte, size)
			rand.New(rand.NewSource(1)).Read(data)
			if err := fs.WriteFile(dir+`\f.bin`, data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := fs.ReadFile(dir + `\f.bin`)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
			if err := fs.Rename(dir+`\f.bin`, dir+`\g.bin`); err != nil {
				t.Fatal(err)
			}
			fi, err := fs.Stat(dir + `\g.bin`)
			if err != nil || fi.Size() != int64(len(data)) {
				t.Fatalf("stat: %v %v", fi, err)
			}
			list, err := fs.ReadDir(dir)
			if err != nil || len(list) != 1 || list[0].Name() != "g.bin" {
				t.Fatalf("readdir: %v %v", list, err)
			}
			if err := fs.Truncate(dir+`\g.bin`, 10); err != nil {
				t.Fatal(err)
			}
			if fi, _ := fs.Stat(dir + `\g.bin`); fi.Size() != 10 {
				t.Fatalf("size after truncate %d", fi.Size())
			}
			if err := fs.Remove(dir + `\g.bin`); err != nil {
				t.Fatal(err)
			}
			if _, err := fs.Stat(dir + `\g.bin`); !os.IsNotExist(err) {
				t.Fatalf("stat after remove: %v", err)
			}
			if err := fs.Remove(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := env.fs.Stat(context.Background(), dir); !errors.Is(err, vfs.ErrNotExist) {
				t.Fatalf("directory still in the FS: %v", err)
			}
		})
	}
}

func TestGoSMB2Errors(t *testing.T) {
	env := startServer(t, Options{})
	if _, err := dial(t, env, gosmb2.Negotiator{}, testUser, "wrong-password"); err == nil {
		t.Fatal("logon with a wrong password succeeded")
	}
	if _, err := dial(t, env, gosmb2.Negotiator{}, "nobody", testPass); err == nil {
		t.Fatal("logon of an unknown user succeeded")
	}
	s, err := dial(t, env, gosmb2.Negotiator{}, testUser, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mount("nosuch"); err == nil {
		t.Fatal("mount of a missing share succeeded")
	}
	ro, err := s.Mount("ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Umount()
	if err := ro.WriteFile("x", []byte("x"), 0o644); err == nil {
		t.Fatal("write on a read-only share succeeded")
	}
	fs := mount(t, env, gosmb2.Negotiator{}, "data")
	for _, name := range []string{`..\escape`, `a\..\..\b`, `CON`, `lpt1.txt`, `a*b`, `a:b`, `a|b`, `a"b`, "a\x01b"} {
		if err := fs.WriteFile(name, []byte("x"), 0o644); err == nil {
			t.Errorf("create %q succeeded", name)
		}
	}
	if list, _ := env.fs.ReadDir(context.Background(), ""); len(list) != 0 {
		t.Errorf("the share has %d entries after refused creates: %v", len(list), list)
	}
	if _, err := fs.ReadFile(`missing\file`); !os.IsNotExist(err) {
		t.Errorf("read of a missing path: %v", err)
	}
}

func TestGoSMB2Encrypted(t *testing.T) {
	env := startServer(t, Options{})
	// go-smb2 encrypts when the share says it must.
	fs := mount(t, env, gosmb2.Negotiator{SpecifiedDialect: 0x0311}, "enc")
	if err := fs.WriteFile("secret.txt", []byte("over AES"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile("secret.txt")
	if err != nil || string(got) != "over AES" {
		t.Fatalf("read %q, %v", got, err)
	}
	// A 2.1 client cannot encrypt: refused at tree connect.
	s, err := dial(t, env, gosmb2.Negotiator{SpecifiedDialect: 0x0210}, testUser, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mount("enc"); err == nil {
		t.Fatal("an SMB 2.1 client mounted an encrypted share")
	}
}

// TestConcurrentClients: 20 clients write 20 files at once; every byte lands.
func TestConcurrentClients(t *testing.T) {
	env := startServer(t, Options{})
	const clients = 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	want := make([][]byte, clients)
	per := 100000
	if testing.Short() {
		per = 10000
	}
	for i := range clients {
		want[i] = bytes.Repeat([]byte(fmt.Sprintf("client %02d ", i)), per+i*1000)
	}
	shares := make([]*gosmb2.Share, clients)
	for i := range clients {
		shares[i] = mount(t, env, gosmb2.Negotiator{}, "data")
	}
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := shares[i].Create(fmt.Sprintf("c%02d.bin", i))
			if err != nil {
				errs <- err
				return
			}
			// Write in 64 KiB pieces so the clients interleave.
			for off := 0; off < len(want[i]); off += 65536 {
				end := min(off+65536, len(want[i]))
				if _, err := f.Write(want[i][off:end]); err != nil {
					errs <- err
					f.Close()
					return
				}
			}
			errs <- f.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range clients {
		f, err := env.fs.Open(context.Background(), fmt.Sprintf("c%02d.bin", i), vfs.OpenRead)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<40))
		f.Close()
		if err != nil || !bytes.Equal(got, want[i]) {
			t.Fatalf("client %d: %d bytes landed, want %d (%v)", i, len(got), len(want[i]), err)
		}
	}
}

package replication

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// TestServiceLifecycle: Start on a busy port says where it could not
// listen; Shutdown ends a source's connection that is still in its
// handshake, stops accepting, and returns.
func TestServiceLifecycle(t *testing.T) {
	dir := t.TempDir()
	eng, err := chunkstore.Open(context.Background(), filepath.Join(dir, "data"), engineOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	st, err := appliance.Open(filepath.Join(dir, "appliance"), appliance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	o := DefaultOptions()
	o.Dir, o.Certificate, o.State = filepath.Join(dir, "replication"), testCert(t, filepath.Join(dir, "tls")), st

	o.Addr = busy.Addr().String()
	svc, err := New(eng, o)
	if err != nil {
		t.Fatal(err)
	}
	err = svc.Start(context.Background())
	want := "replication: listen " + o.Addr + ": listen tcp " + o.Addr + ": bind: address already in use"
	if !errors.Is(err, syscall.EADDRINUSE) || err.Error() != want {
		t.Fatalf("Start on a busy port: %v, want %s", err, want)
	}
	if err := svc.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	o.Addr = "127.0.0.1:0"
	svc, err = New(eng, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", svc.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0x16}) // a handshake begun, never finished
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still open after Shutdown")
	}
	if c, err := net.DialTimeout("tcp", svc.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("still accepting after Shutdown")
	}
}

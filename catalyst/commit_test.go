package catalyst_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/backstop-appliance/backstop/catalyst"
	"github.com/backstop-appliance/backstop/catalyst/client"
	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// TestPutOnFullStore: a put, in either transfer mode, whose data does not
// fit returns the engine's full error to the client (errors.Is
// chunkstore.ErrFull through the gRPC status), no item of that name
// exists afterwards, and the failure is counted once per put.
func TestPutOnFullStore(t *testing.T) {
	dir := t.TempDir()
	opts := chunkstore.DefaultOptions()
	opts.ContainerSize = 1 << 20
	opts.Chunker = chunker.Params{Algorithm: chunker.Gear, Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}
	opts.Workers = 2
	opts.Capacity = 3 << 20
	eng, err := chunkstore.Open(context.Background(), filepath.Join(dir, "data"), opts)
	if err != nil {
		t.Fatal(err)
	}
	state, err := appliance.Open(filepath.Join(dir, "appliance"), appliance.Options{Hash: appliance.HashParams{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := state.CreateUser("op", appliance.RoleOperator, password); err != nil {
		t.Fatal(err)
	}
	cert, err := appliance.Certificate("", "", filepath.Join(dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	var failures dedup.CommitFailures
	srv := catalyst.New(eng, state, catalyst.Options{Addr: "127.0.0.1:0", Certificate: &cert, Audit: state, Failures: &failures})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		eng.Close()
		state.Close()
	})
	f := &fixture{eng: eng, state: state, srv: srv, ca: filepath.Join(dir, "tls", "cert.pem"), addr: srv.Addr()}
	if _, err := eng.CreateStore("fast", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SetStoreOptions("fast", chunkstore.StoreOptions{Transfer: chunkstore.TransferHigh}); err != nil {
		t.Fatal(err)
	}
	c := f.client(t, "op", "")
	ctx := context.Background()
	for i, store := range []string{"default", "fast"} {
		data := testData(uint64(40+i), 8<<20)
		_, err := c.Put(ctx, store, "too-big", bytes.NewReader(data), client.PutOptions{})
		if !errors.Is(err, chunkstore.ErrFull) {
			t.Fatalf("%s: put past capacity: %v, want ErrFull", store, err)
		}
		if _, err := eng.Stat(ctx, store, "too-big"); !errors.Is(err, chunkstore.ErrNotFound) {
			t.Fatalf("%s: the item that did not fit exists: %v", store, err)
		}
		if _, err := c.Stat(ctx, store, "too-big"); !errors.Is(err, chunkstore.ErrNotFound) {
			t.Fatalf("%s: the client sees the item that did not fit: %v", store, err)
		}
	}
	got := failures.Counts()
	if len(got) != 1 || got[0] != (dedup.FailureCount{FailureKey: dedup.FailureKey{Protocol: "catalyst", Reason: dedup.ReasonFull}, Count: 2}) {
		t.Fatalf("failures counted: %+v, want 2 catalyst/full", got)
	}
}

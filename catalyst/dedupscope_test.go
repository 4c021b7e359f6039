package catalyst_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/catalyst/client"
	"github.com/backstop-appliance/backstop/chunkstore"
)

// twoStores makes stores a (the victim's) and b (the prober's) in the
// default domain, as shares, libraries and new stores are by default.
func twoStores(t *testing.T) *fixture {
	t.Helper()
	f := setup(t)
	for _, s := range []string{"a", "b"} {
		if _, err := f.eng.CreateStore(s, chunkstore.DefaultDomain); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// recvTimeout receives the next put answer, failing after 30 s.
func recvTimeout(t *testing.T, stream catalystpb.Catalyst_PutClient) (*catalystpb.PutResponse, error) {
	t.Helper()
	type res struct {
		m   *catalystpb.PutResponse
		err error
	}
	ch := make(chan res, 1)
	go func() {
		m, err := stream.Recv()
		ch <- res{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("no answer from the put stream in 30 s")
		return nil, nil
	}
}

// probe asks store b, over a raw put stream, which of chunks it lacks,
// and returns the set of indexes it says are missing.
func probe(t *testing.T, f *fixture, user, name string, chunks [][]byte, key []byte) map[uint32]bool {
	t.Helper()
	stream := rawPut(t, f, user)
	t.Cleanup(func() { stream.CloseSend() })
	var fps []byte
	var lens []uint32
	for _, c := range chunks {
		h, _ := blake3.NewKeyed(key)
		h.Write(c)
		fps = h.Sum(fps)
		lens = append(lens, uint32(len(c)))
	}
	if err := stream.Send(&catalystpb.PutRequest{Msg: &catalystpb.PutRequest_Begin{Begin: &catalystpb.PutBegin{Store: "b", Name: name}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := recvTimeout(t, stream); err != nil {
		t.Fatalf("begin: %v", catalystpb.FromStatus(err))
	}
	if err := stream.Send(&catalystpb.PutRequest{Msg: &catalystpb.PutRequest_Entries{Entries: &catalystpb.Entries{Seq: 1, Fps: fps, Lens: lens}}}); err != nil {
		t.Fatal(err)
	}
	m, err := recvTimeout(t, stream)
	if err != nil {
		t.Fatalf("entries: %v", catalystpb.FromStatus(err))
	}
	out := map[uint32]bool{}
	for _, i := range m.GetMissing().GetIndex() {
		out[i] = true
	}
	return out
}

// TestProbeOtherStoreLearnsNothing: an operator of store b, holding the
// domain key, asks about hundreds of guesses of a file in store a (and as
// many random chunks): every answer is "missing", the same as for random
// data. A commit naming the right guess without sending it is refused.
func TestProbeOtherStoreLearnsNothing(t *testing.T) {
	f := twoStores(t)
	ctx := context.Background()
	victim := f.client(t, "op", "")
	// Small files, one chunk each: a letter whose amount the prober guesses.
	letter := func(amount int) []byte {
		return fmt.Appendf(nil, "Dear Eve,\nyour salary from next month is %d EUR.\n", amount)
	}
	const secret = 71250
	putBytes(t, victim, "a", "letter", letter(secret), client.PutOptions{})
	var held [][]byte
	for i := range 200 {
		d := letter(10000 + 100*i)
		held = append(held, d)
		putBytes(t, victim, "a", fmt.Sprint("other-", i), d, client.PutOptions{})
	}

	prober := f.client(t, "eve", "")
	st, err := prober.Store(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	var guesses [][]byte
	for amount := secret - 400; amount <= secret+400; amount += 50 {
		guesses = append(guesses, letter(amount))
	}
	guesses = append(guesses, held...) // all of them in store a
	random := make([][]byte, len(guesses))
	for i := range random {
		random[i] = make([]byte, len(guesses[i]))
		rand.Read(random[i])
	}
	for name, chunks := range map[string][][]byte{"guesses": guesses, "random": random} {
		missing := probe(t, f, "eve", "probe-"+name, chunks, st.Key)
		if len(missing) != len(chunks) {
			t.Fatalf("%s: %d of %d said missing; a prober learns which chunks store a holds", name, len(missing), len(chunks))
		}
	}

	// The steal: a recipe naming the right guess, never sent.
	h, _ := blake3.NewKeyed(st.Key)
	h.Write(letter(secret))
	stream := rawPut(t, f, "eve")
	msgs := []*catalystpb.PutRequest{
		{Msg: &catalystpb.PutRequest_Begin{Begin: &catalystpb.PutBegin{Store: "b", Name: "stolen"}}},
		{Msg: &catalystpb.PutRequest_Entries{Entries: &catalystpb.Entries{Seq: 1, Fps: h.Sum(nil), Lens: []uint32{uint32(len(letter(secret)))}}}},
		{Msg: &catalystpb.PutRequest_Commit{Commit: &catalystpb.PutCommit{Size: int64(len(letter(secret)))}}},
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break
		}
	}
	stream.CloseSend()
	var last error
	for last == nil {
		_, last = recvTimeout(t, stream)
	}
	if err := catalystpb.FromStatus(last); !errors.Is(err, chunkstore.ErrMissingChunk) {
		t.Fatalf("commit naming store a's chunk without sending it: %v", err)
	}
	if _, err := prober.Stat(ctx, "b", "stolen"); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("the stolen item exists: %v", err)
	}
	if got := getBytes(t, victim, "a", "letter", 0, 0); !bytes.Equal(got, letter(secret)) {
		t.Fatal("store a's file reads back different")
	}
}

// TestCrossStorePutFigures: data another store holds is sent in full,
// stored once, and counted in full by the store that put it; the second
// of two nearly identical backups into one store sends little more than
// it adds.
func TestCrossStorePutFigures(t *testing.T) {
	f := twoStores(t)
	ctx := context.Background()
	op, eve := f.client(t, "op", ""), f.client(t, "eve", "")
	data := testData(61, 4<<20)
	ra := putBytes(t, op, "a", "x", data, client.PutOptions{})
	before := f.eng.Stats().StoredBytes
	rb := putBytes(t, eve, "b", "x", data, client.PutOptions{})
	after := f.eng.Stats().StoredBytes
	t.Logf("store a: sent %d, new %d; store b: sent %d, new %d; stored bytes %d -> %d",
		ra.Sent, ra.Item.NewBytes, rb.Sent, rb.Item.NewBytes, before, after)
	if after-before > before/100 {
		t.Fatalf("the copy in store b grew the stored bytes from %d to %d", before, after)
	}
	if rb.Item.NewBytes != ra.Item.NewBytes || rb.Item.NewBytes < int64(len(data))/4 {
		t.Fatalf("new bytes in store b %d, in store a %d: b's must not depend on a's data", rb.Item.NewBytes, ra.Item.NewBytes)
	}
	if rb.ChunksSent != ra.ChunksSent || rb.Sent < ra.Sent*99/100 {
		t.Fatalf("store b sent %d chunks (%d bytes), store a %d (%d)", rb.ChunksSent, rb.Sent, ra.ChunksSent, ra.Sent)
	}
	stats, err := eve.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ss := range stats.Stores {
		if ss.Name == "b" && ss.StoredBytes != rb.Item.NewBytes {
			t.Fatalf("store b's stored bytes %d, its item's new bytes %d", ss.StoredBytes, rb.Item.NewBytes)
		}
	}

	// The honest path: a second backup, 1% changed, into store b.
	changed := append([]byte(nil), data...)
	for k := range 10 {
		off := (k*397 + 11) * 4096 % (len(changed) - 4096)
		rand.Read(changed[off : off+4096])
	}
	second := putBytes(t, eve, "b", "y", changed, client.PutOptions{})
	t.Logf("second backup: sent %d bytes, adds %d new bytes", second.Sent, second.Item.NewBytes)
	if second.Sent > second.Item.NewBytes*5/4 {
		t.Fatalf("second backup sent %d bytes for %d new bytes (more than 1.25x)", second.Sent, second.Item.NewBytes)
	}
	if got := getBytes(t, eve, "b", "y", 0, 0); !bytes.Equal(got, changed) {
		t.Fatal("second backup reads back different")
	}
}

// TestStatsShowNothingOfOtherStores: Catalyst Stats (and with it
// backstop stats --server) for a client of store a only does not move
// when an admin writes 8 MiB of new data into store b, nor when b takes a
// copy of a's data.
func TestStatsShowNothingOfOtherStores(t *testing.T) {
	f := twoStores(t)
	ctx := context.Background()
	for store, clients := range map[string][]string{"a": {"op"}, "b": {"admin"}} {
		if _, err := f.eng.SetStoreOptions(store, chunkstore.StoreOptions{Clients: clients}); err != nil {
			t.Fatal(err)
		}
	}
	op, admin := f.client(t, "op", ""), f.client(t, "admin", "")
	mine := testData(71, 2<<20)
	putBytes(t, op, "a", "mine", mine, client.PutOptions{})
	before, err := op.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, ss := range before.Stores {
		seen = append(seen, ss.Name)
	}
	if !slices.Contains(seen, "a") || slices.Contains(seen, "b") || before.LogicalBytes != int64(len(mine)) {
		t.Fatalf("op's stats %+v", before)
	}
	theirs := make([]byte, 8<<20)
	rand.Read(theirs)
	pool := f.eng.Stats().StoredBytes
	putBytes(t, admin, "b", "theirs", theirs, client.PutOptions{})
	putBytes(t, admin, "b", "copy", mine, client.PutOptions{})
	if grown := f.eng.Stats().StoredBytes - pool; grown < 8<<20 {
		t.Fatalf("the pool grew by %d bytes only", grown)
	}
	after, err := op.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", after) != fmt.Sprintf("%+v", before) {
		t.Fatalf("op's stats moved with writes to b:\nbefore %+v\nafter  %+v", before, after)
	}
}

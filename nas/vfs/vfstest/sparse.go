package vfstest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// testSparse: holes by NTFS's rules (vfs.Sparser), kept across a close
// and reopen. Every FS of this repository implements vfs.Sparser.
func testSparse(t *testing.T, fs vfs.FS) {
	const k = 1024
	data := bytes.Repeat([]byte("0123456789abcdef"), 4*k) // 64 KiB
	create(t, fs, "s", data)
	f, err := fs.Open(ctx, "s", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := f.(vfs.Sparser)
	if !ok {
		t.Fatalf("%T does not implement vfs.Sparser", f)
	}
	want := func(step string, sp vfs.Sparser, ranges ...vfs.Range) {
		t.Helper()
		got, err := sp.DataRanges(0, 1<<20)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if !slices.Equal(got, ranges) {
			t.Fatalf("%s: data ranges %v, want %v", step, got, ranges)
		}
	}
	// Not sparse: a punched range reads as zeros and stays allocated.
	if err := sp.PunchHole(0, 4*k); err != nil {
		t.Fatal(err)
	}
	clear(data[:4*k])
	want("punch, not sparse", sp, vfs.Range{Off: 0, Len: 64 * k})
	setSparse(t, f, true)
	want("set sparse", sp, vfs.Range{Off: 0, Len: 64 * k})
	// Sparse: punches, writes past the end and growing truncates are
	// holes; punches past the end change nothing.
	if err := sp.PunchHole(8*k, 8*k); err != nil {
		t.Fatal(err)
	}
	clear(data[8*k : 16*k])
	if err := sp.PunchHole(60*k, 100*k); err != nil {
		t.Fatal(err)
	}
	clear(data[60*k:])
	if _, err := f.WriteAt([]byte("tail"), 128*k); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(256 * k); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("mid"), 200*k); err != nil {
		t.Fatal(err)
	}
	data = append(data, make([]byte, 192*k)...)
	copy(data[128*k:], "tail")
	copy(data[200*k:], "mid")
	ranges := []vfs.Range{{Off: 0, Len: 8 * k}, {Off: 16 * k, Len: 44 * k}, {Off: 128 * k, Len: 4}, {Off: 200 * k, Len: 3}}
	want("sparse", sp, ranges...)
	if got, err := sp.DataRanges(2*k, 20*k); err != nil || !slices.Equal(got, []vfs.Range{{Off: 2 * k, Len: 6 * k}, {Off: 16 * k, Len: 6 * k}}) {
		t.Fatalf("clipped data ranges %v, %v", got, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fs, "s"); !bytes.Equal(got, data) {
		t.Fatal("sparse file reads back wrong")
	}

	f, err = fs.Open(ctx, "s", vfs.OpenRead|vfs.OpenWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sp = f.(vfs.Sparser)
	want("reopened", sp, ranges...)
	if err := f.Truncate(130 * k); err != nil {
		t.Fatal(err)
	}
	want("shrunk", sp, ranges[:3]...)
	setSparse(t, f, false)
	want("cleared sparse", sp, vfs.Range{Off: 0, Len: 130 * k})
}

func setSparse(t *testing.T, f vfs.File, on bool) {
	t.Helper()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	a := info.Attributes &^ vfs.AttrSparse
	if on {
		a |= vfs.AttrSparse
	}
	if err := f.SetAttr(vfs.SetAttr{Attributes: &a}); err != nil {
		t.Fatal(err)
	}
}

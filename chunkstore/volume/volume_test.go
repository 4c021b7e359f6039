package volume

import (
	"bytes"
	"errors"
	"testing"
)

func TestAppendRollsOverAndCaps(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MaxSize: 100, Capacity: 250, Reserve: 1})
	if err != nil {
		t.Fatal(err)
	}
	// 60 + 60 > 100: every container starts a new volume.
	for i := range 4 {
		vol, off, err := s.Append(bytes.Repeat([]byte{byte(i)}, 60))
		if err != nil || int(vol) != i || off != 0 {
			t.Fatalf("append %d: volume %d offset %d, %v", i, vol, off, err)
		}
	}
	if vol, off, err := s.Append(make([]byte, 5)); err != nil || vol != 3 || off != 60 {
		t.Fatalf("small append: volume %d offset %d, %v", vol, off, err)
	}
	if _, _, err := s.Append(make([]byte, 60)); !errors.Is(err, ErrFull) {
		t.Fatalf("append past capacity: %v", err)
	}
	if _, _, err := s.Append(make([]byte, 101)); err == nil {
		t.Fatal("container larger than a volume accepted")
	}
	p := make([]byte, 60)
	if err := s.ReadAt(0, p, 0); err != nil || p[0] != 0 {
		t.Fatalf("read back: %v", err)
	}
	s.Close()
	s, err = Open(dir, Options{MaxSize: 100, Capacity: 250, Reserve: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Used() != 245 || len(s.Sizes()) != 4 {
		t.Fatalf("after reopen: used %d, sizes %v", s.Used(), s.Sizes())
	}
	if err := s.Truncate(3, 10); err != nil || s.Used() != 190 {
		t.Fatalf("truncate: %v, used %d", err, s.Used())
	}
}

// TestCapacityFollowsFreeSpace checks that the capacity is recomputed from
// the file system's free space: an append refused as full succeeds once
// space is freed, and the figure shrinks when another program takes space.
func TestCapacityFollowsFreeSpace(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MaxSize: 1 << 20, Reserve: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	free := int64(400)
	s.free = func() (int64, error) { return free, nil }
	if c, err := s.Capacity(); err != nil || c != 300 {
		t.Fatalf("capacity with 400 bytes free and 100 reserved: %d, %v", c, err)
	}
	for range 3 {
		if _, _, err := s.Append(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		free -= 100 // what the append took from the file system
	}
	if _, _, err := s.Append(make([]byte, 100)); !errors.Is(err, ErrFull) {
		t.Fatalf("append into the reserve: %v, want ErrFull", err)
	}
	free += 1000 // the file system grew
	if c, _ := s.Capacity(); c != 1300 {
		t.Fatalf("capacity after the file system grew: %d, want 1300", c)
	}
	if _, _, err := s.Append(make([]byte, 100)); err != nil {
		t.Fatalf("append after the file system grew: %v", err)
	}
	free = 50 // another program took the rest
	if c, _ := s.Capacity(); c != 400 {
		t.Fatalf("capacity after another program filled the disk: %d, want the 400 used", c)
	}
	if _, _, err := s.Append(make([]byte, 1)); !errors.Is(err, ErrFull) {
		t.Fatalf("append with the disk taken: %v, want ErrFull", err)
	}
	s.free = func() (int64, error) { return 0, errors.New("statfs failed") }
	if c, err := s.Capacity(); err == nil || c != 400 {
		t.Fatalf("capacity when statfs fails: %d, %v; want the last figure and the error", c, err)
	}
}

// TestCapacityLimitCappedByFileSystem checks that a configured capacity
// larger than the file system reports what the file system gives, and a
// smaller one bounds appends.
func TestCapacityLimitCappedByFileSystem(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MaxSize: 1 << 20, Capacity: 1 << 62, Reserve: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.Capacity()
	if err != nil || c <= 0 || c >= 1<<62 {
		t.Fatalf("capacity limited to 4 EiB on a small file system: %d, %v", c, err)
	}
	free := int64(1000)
	s.free = func() (int64, error) { return free, nil }
	s.limit = 150
	if c, _ := s.Capacity(); c != 150 {
		t.Fatalf("capacity limited to 150 with 1000 free: %d", c)
	}
	if _, _, err := s.Append(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Append(make([]byte, 100)); !errors.Is(err, ErrFull) {
		t.Fatalf("append past the configured limit: %v, want ErrFull", err)
	}
}

// BenchmarkAppend measures one small append, which reads the file
// system's free space (statfs) to recompute the capacity; the write path
// appends one container of about 4 MiB at a time.
func BenchmarkAppend(b *testing.B) {
	s, err := Open(b.TempDir(), Options{MaxSize: 1 << 40, Reserve: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := make([]byte, 4096)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, _, err := s.Append(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCapacity measures reading the capacity: one statfs, which
// Append and Engine.Stats each make once.
func BenchmarkCapacity(b *testing.B) {
	s, err := Open(b.TempDir(), Options{Reserve: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if _, err := s.Capacity(); err != nil {
			b.Fatal(err)
		}
	}
}

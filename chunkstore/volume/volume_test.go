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

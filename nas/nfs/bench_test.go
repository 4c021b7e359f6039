package nfs

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkWriteUnstableCommit writes 64 MiB in 1 MiB UNSTABLE WRITEs
// over loopback TCP, then COMMITs: the Linux client's pattern for a
// large sequential file. Random data (no dedup).
//
//	go test -run '^$' -bench WriteUnstableCommit -benchtime 3x ./nas/nfs
func BenchmarkWriteUnstableCommit(b *testing.B) {
	a := newAppliance(b, everyone)
	rc := dial(b, a.srv.Addr())
	_, root := rc.mnt("/backup")
	const size = 64 << 20
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		fh := rc.create(root, "bench"+string(rune('a'+i%26)))
		for off := 0; off < size; off += maxIO {
			rc.write(fh, uint64(off), data[off:off+maxIO], unstable)
		}
		if st, _ := rc.commit(fh); st != nfs3OK {
			b.Fatalf("COMMIT: %d", st)
		}
	}
}

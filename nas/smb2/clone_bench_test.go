package smb2

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	gosmb2 "github.com/hirochachacha/go-smb2"
)

// cloneBenchSize is the size of the file BenchmarkServerSideCopy copies
// unless SMB_CLONE_BENCH_SIZE says otherwise: 1 GiB, so a run of the
// read-and-write copy stays within a minute on two cores. make bench-smb
// runs 4 GiB (scripts/bench-clone.sh).
const cloneBenchSize = 1 << 30

// benchSize reads a size such as "4G", "512M" or "1073741824" from the
// environment variable name; def when it is unset.
func benchSize(b *testing.B, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "G"):
		mult, v = 1<<30, strings.TrimSuffix(v, "G")
	case strings.HasSuffix(v, "M"):
		mult, v = 1<<20, strings.TrimSuffix(v, "M")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a size such as 4G, 512M or a byte count", name, os.Getenv(name))
	}
	size := n * mult
	if size%copyChunkMaxTotal != 0 {
		b.Fatalf("%s=%q: want a multiple of 16 MiB (one copychunk request)", name, os.Getenv(name))
	}
	return size
}

// BenchmarkServerSideCopy copies a file of the share filesystem (1 GiB;
// SMB_CLONE_BENCH_SIZE=4G for the 4 GiB) three ways over SMB on 127.0.0.1: FSCTL_DUPLICATE_EXTENTS_TO_FILE,
// FSCTL_SRV_COPYCHUNK (16 MiB requests of 1 MiB chunks), and a plain
// read-and-write copy through go-smb2. Each copy ends with the target's
// CLOSE, which commits it. stored-B/op is what the engine stored anew.
func BenchmarkServerSideCopy(b *testing.B) {
	size := benchSize(b, "SMB_CLONE_BENCH_SIZE", cloneBenchSize)
	env := startCloneEnv(b)
	writeFile(b, env.fs, "src", size, 9)
	c := dialTCP(b, env.addr, "data", testUser, testPass)
	src, st := c.create("src", accRead, dispOpen)
	if st != StatusSuccess {
		b.Fatal(st)
	}
	_, key := c.ioctl(src, fsctlSrvRequestResumeKey, nil, 32)
	share := mount(b, &testEnv{addr: env.addr}, gosmb2.Negotiator{}, "data")
	copies := []struct {
		name string
		copy func(b *testing.B, dst string)
	}{
		{"clone", func(b *testing.B, dst string) {
			fid := createTarget(b, c, dst)
			if st, _ := c.ioctl(fid, fsctlDuplicateExtentsToFile, duplicateExtents(src, 0, 0, size), 0); st != StatusSuccess {
				b.Fatal(st)
			}
			c.close(fid)
		}},
		{"copychunk", func(b *testing.B, dst string) {
			fid := createTarget(b, c, dst)
			for off := int64(0); off < size; off += copyChunkMaxTotal {
				var chunks [][3]int64
				for o := off; o < off+copyChunkMaxTotal; o += copyChunkMaxChunk {
					chunks = append(chunks, [3]int64{o, o, copyChunkMaxChunk})
				}
				if st, _ := c.ioctl(fid, fsctlSrvCopyChunk, copyChunks(key[:24], chunks...), 12); st != StatusSuccess {
					b.Fatal(st)
				}
			}
			c.close(fid)
		}},
		{"read-write", func(b *testing.B, dst string) {
			r, err := share.Open("src")
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			w, err := share.Create(dst)
			if err != nil {
				b.Fatal(err)
			}
			// Hide both files' ReadFrom/WriteTo: go-smb2 would use copychunk.
			if _, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, make([]byte, 1<<20)); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}},
	}
	var n int
	for _, cp := range copies {
		b.Run(cp.name, func(b *testing.B) {
			b.SetBytes(size)
			before := env.eng.Stats().StoredBytes
			start := time.Now()
			for i := 0; i < b.N; i++ {
				n++
				cp.copy(b, fmt.Sprintf("%s%d", cp.name, n))
			}
			b.ReportMetric(float64(env.eng.Stats().StoredBytes-before)/float64(b.N), "stored-B/op")
			b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/copy")
		})
	}
}

func createTarget(b *testing.B, c *tcpClient, name string) []byte {
	b.Helper()
	fid, st := c.create(name, accReadWrite, dispCreate)
	if st != StatusSuccess {
		b.Fatalf("create %s: %v", name, st)
	}
	return fid
}

package smb2

import (
	"fmt"
	"io"
	"testing"
	"time"

	gosmb2 "github.com/hirochachacha/go-smb2"
)

// cloneBenchSize is the file BenchmarkServerSideCopy copies: 1 GiB, so a
// run of the read-and-write copy stays within a minute on two cores
// (TestCloneWithoutData does 4 GiB).
const cloneBenchSize = 1 << 30

// BenchmarkServerSideCopy copies a 1 GiB file of the share filesystem
// three ways over SMB on 127.0.0.1: FSCTL_DUPLICATE_EXTENTS_TO_FILE,
// FSCTL_SRV_COPYCHUNK (16 MiB requests of 1 MiB chunks), and a plain
// read-and-write copy through go-smb2. Each copy ends with the target's
// CLOSE, which commits it. stored-B/op is what the engine stored anew.
func BenchmarkServerSideCopy(b *testing.B) {
	env := startCloneEnv(b)
	writeFile(b, env.fs, "src", cloneBenchSize, 9)
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
			if st, _ := c.ioctl(fid, fsctlDuplicateExtentsToFile, duplicateExtents(src, 0, 0, cloneBenchSize), 0); st != StatusSuccess {
				b.Fatal(st)
			}
			c.close(fid)
		}},
		{"copychunk", func(b *testing.B, dst string) {
			fid := createTarget(b, c, dst)
			for off := int64(0); off < cloneBenchSize; off += copyChunkMaxTotal {
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
			b.SetBytes(cloneBenchSize)
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

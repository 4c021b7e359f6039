package smb2

import (
	"fmt"
	"testing"

	gosmb2 "github.com/hirochachacha/go-smb2"
)

// BenchmarkWrite and BenchmarkRead move 64 MiB through go-smb2 (SMB
// 3.1.1, unsigned) against MemFS: the cost of the protocol layer alone.
func BenchmarkWrite(b *testing.B) {
	env := startServer(b, Options{})
	fs := mount(b, env, gosmb2.Negotiator{}, "data")
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := fs.WriteFile(fmt.Sprintf("w%d", i), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	env := startServer(b, Options{})
	fs := mount(b, env, gosmb2.Negotiator{}, "data")
	data := make([]byte, 64<<20)
	if err := fs.WriteFile("r", data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := fs.ReadFile("r"); err != nil {
			b.Fatal(err)
		}
	}
}

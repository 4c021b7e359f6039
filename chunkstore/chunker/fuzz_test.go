package chunker

import (
	"bytes"
	"slices"
	"testing"
	"testing/iotest"
)

// FuzzGear checks, for arbitrary input and small parameters, that the chunks
// concatenate to the input, respect [Min, Max], and do not depend on read
// sizes.
func FuzzGear(f *testing.F) {
	f.Add([]byte{}, uint64(0), uint8(0), uint16(0), uint16(0))
	f.Add([]byte("x"), uint64(1), uint8(1), uint16(500), uint16(9000))
	f.Add(make([]byte, 5000), uint64(0), uint8(0), uint16(0), uint16(0))
	f.Add(randomBytes(21, 20000), uint64(0), uint8(2), uint16(1000), uint16(100))
	f.Add(randomBytes(22, 3000), uint64(99), uint8(0), uint16(900), uint16(2))
	f.Add(repeatedText(7000), uint64(3), uint8(1), uint16(70), uint16(3000))
	f.Add(vocabularyText(23, 9000), uint64(0), uint8(0), uint16(63), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, avgShift uint8, minRaw, maxRaw uint16) {
		avg := 1 << (10 + avgShift%3) // 1, 2 or 4 KiB
		p := Params{
			Algorithm: Gear,
			Min:       minMin + int(minRaw)%(avg-minMin),
			Avg:       avg,
			Max:       avg + 1 + int(maxRaw)%(3*avg),
			Seed:      seed,
		}
		chunks := mustChunk(t, bytes.NewReader(data), p)
		checkChunks(t, data, chunks, p)
		if len(data) == 0 && len(chunks) != 0 {
			t.Fatalf("empty input gave %d chunks", len(chunks))
		}
		slow := mustChunk(t, iotest.OneByteReader(bytes.NewReader(data)), p)
		if got, want := lengths(slow), lengths(chunks); !slices.Equal(got, want) {
			t.Fatalf("one-byte reads give %v, one read gives %v", got, want)
		}
	})
}

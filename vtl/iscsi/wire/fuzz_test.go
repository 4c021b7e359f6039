package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadPDU feeds arbitrary bytes to the PDU parser with each digest
// setting: it must not panic, must not read past the data segment it
// announces, and what it accepts must encode back to the same bytes.
func FuzzReadPDU(f *testing.F) {
	p := &PDU{}
	p.SetOpcode(OpLoginReq, true)
	p.BHS[1] = FlagTransit | 1<<2 | 3
	p.Data = Text{{"InitiatorName", "iqn.x"}, {"HeaderDigest", "CRC32C,None"}}.Encode()
	f.Add(p.Append(nil, Digests{}), byte(0))
	f.Add(p.Append(nil, Digests{Header: true, Data: true}), byte(3))
	f.Add(make([]byte, BHSLen), byte(1))
	for _, d := range []Digests{{}, {Header: true, Data: true}} {
		for _, data := range [][]byte{nil, []byte("abc"), bytes.Repeat([]byte{7}, 300)} {
			q := &PDU{Data: data}
			q.SetOpcode(OpSCSICommand, false)
			q.AHS = []byte{0, 5, 1, 0, 1, 2, 3, 4}
			b := 0
			if d.Header {
				b = 3
			}
			f.Add(q.Append(nil, d), byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, dig byte) {
		d := Digests{Header: dig&1 != 0, Data: dig&2 != 0}
		r := bytes.NewReader(in)
		p, err := ReadPDU(r, d, 4096)
		if err != nil {
			if p != nil && !errors.Is(err, ErrDataDigest) && !errors.Is(err, ErrTooLong) {
				t.Fatalf("PDU with error %v", err)
			}
			return
		}
		if p.DataSegmentLength() > 4096 {
			t.Fatal("data longer than the limit accepted")
		}
		consumed := len(in) - r.Len()
		out := p.Append(nil, d)
		if !bytes.Equal(out, in[:consumed]) {
			// Padding bytes need not be zero on the wire; everything
			// else must round-trip.
			if len(out) != consumed || !bytes.Equal(out[:BHSLen], in[:BHSLen]) {
				t.Fatalf("re-encoding differs: %d vs %d bytes", len(out), consumed)
			}
		}
		if _, err := ReadPDU(bytes.NewReader(out), d, 4096); err != nil && err != io.EOF {
			t.Fatalf("re-encoded PDU does not parse: %v", err)
		}
	})
}

// FuzzParseText: the key=value parser never panics and what it accepts
// re-encodes to data that parses to the same pairs.
func FuzzParseText(f *testing.F) {
	f.Add([]byte("InitiatorName=iqn.1993-08.org.debian:01:abc\x00SessionType=Normal\x00"))
	f.Add([]byte("CHAP_C=0x0102030405\x00CHAP_I=7\x00\x00\x00"))
	f.Add([]byte("=x\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		kv, err := ParseText(in)
		if err != nil {
			return
		}
		again, err := ParseText(kv.Encode())
		if err != nil || len(again) != len(kv) {
			t.Fatalf("round trip: %v %d/%d", err, len(again), len(kv))
		}
		for i := range kv {
			if kv[i] != again[i] {
				t.Fatalf("pair %d: %q vs %q", i, kv[i], again[i])
			}
		}
		for _, x := range kv {
			ParseBinary(x.Value)
			ParseNumber(x.Value)
		}
	})
}

func TestLUNEncoding(t *testing.T) {
	for _, tc := range []struct {
		lun   uint64
		field uint64
	}{{0, 0}, {1, 0x0001000000000000}, {255, 0x00ff000000000000}, {256, 0x4100000000000000}, {16383, 0x7fff000000000000}} {
		if got := EncodeLUN(tc.lun); got != tc.field {
			t.Errorf("EncodeLUN(%d) = %#x, want %#x", tc.lun, got, tc.field)
		}
		if got := DecodeLUN(tc.field); got != tc.lun {
			t.Errorf("DecodeLUN(%#x) = %d", tc.field, got)
		}
	}
}

func TestDigest(t *testing.T) {
	// RFC 7143 B.4: 32 bytes of zeros have the CRC32C 0x8a9136aa.
	if got := CRC32C(make([]byte, 32)); got != 0x8a9136aa {
		t.Fatalf("CRC32C %#x", got)
	}
}

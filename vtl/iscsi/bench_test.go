package iscsi_test

import (
	"context"
	"testing"

	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/iscsi/initiator"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// nullTape takes writes and answers reads with a fixed buffer: what the
// transport alone costs.
type nullTape struct{ rec []byte }

func (d *nullTape) Reset(scsi.ResetKind, string) {}
func (d *nullTape) Execute(_ context.Context, cmd *scsi.Command) scsi.Response {
	if cmd.CDB[0] == 0x08 {
		return scsi.Response{Data: d.rec}
	}
	return scsi.Response{}
}

func benchTransport(b *testing.B, write, digests bool) {
	const size = 256 << 10
	dev := &nullTape{rec: make([]byte, size)}
	f := start(b, func(o *iscsi.Options, s *source) {
		s.targets = []iscsi.Target{{Name: tgtName, LUNs: lunSet{0: dev}}}
	})
	c := initiator.Config{InitiatorName: initName, TargetName: tgtName, ImmediateData: true,
		MaxRecvDataSegmentLength: 262144, MaxBurstLength: 1 << 20, FirstBurstLength: 262144,
		HeaderDigest: digests, DataDigest: digests}
	s, err := initiator.Dial(context.Background(), f.addr, c)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rec := make([]byte, size)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		var r *initiator.Result
		if write {
			r, err = s.Command(context.Background(), 0, write6(size), rec, 0)
		} else {
			r, err = s.Command(context.Background(), 0, read6(size), nil, size)
		}
		if err != nil || r.Status != 0 {
			b.Fatal(err, r)
		}
	}
}

// The iSCSI transport alone, 256 KiB records over loopback TCP.
func BenchmarkTransportWrite(b *testing.B)        { benchTransport(b, true, false) }
func BenchmarkTransportRead(b *testing.B)         { benchTransport(b, false, false) }
func BenchmarkTransportWriteDigests(b *testing.B) { benchTransport(b, true, true) }
func BenchmarkTransportReadDigests(b *testing.B)  { benchTransport(b, false, true) }

package tape

import (
	"context"
	"encoding/binary"

	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// Mode pages of the drive (SSC-4 8.3).
func (d *Drive) modeConfig() scsi.ModeConfig {
	return scsi.ModeConfig{
		Pages: []scsi.ModePage{
			{Code: 0x0f, Current: d.compressionPage,
				Changeable: []byte{0x0f, 0x0e, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
				Set: func(p []byte, off int) error {
					d.compress = p[2]&0x80 != 0
					return nil
				}},
			{Code: 0x10, Current: d.configurationPage,
				Changeable: []byte{0x10, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0},
				Set: func(p []byte, off int) error {
					if p[14] > 1 { // select data compression algorithm: 0 none, 1 default
						return scsi.InvalidParam(off+14, -1)
					}
					d.compress = p[14] == 1
					return nil
				}},
			{Code: 0x11, Current: d.partitionPage,
				Changeable: make([]byte, 10)},
			{Code: 0x1c, Current: informationalExceptions,
				Changeable: make([]byte, 12)},
		},
		DeviceSpecific: func(pc byte) byte {
			if pc == 1 {
				return 0x70 // buffered mode is changeable
			}
			v := d.buffered << 4
			if pc == 0 && d.medium != nil && d.medium.Options.WriteProtected {
				v |= 0x80
			}
			return v
		},
		SetDeviceSpecific: func(v byte, off int) error {
			bm := (v >> 4) & 0x07
			if bm > 1 {
				return scsi.InvalidParam(off, 6)
			}
			d.buffered = bm
			return nil
		},
		Block: func(pc byte) []byte {
			b := make([]byte, 8)
			if pc == 1 {
				b[5], b[6], b[7] = 0xff, 0xff, 0xff
				return b
			}
			if d.tape != nil {
				b[0] = d.gen.Density
			}
			b[5], b[6], b[7] = byte(d.blockSize>>16), byte(d.blockSize>>8), byte(d.blockSize)
			return b
		},
		SetBlock: func(desc []byte, off int) error {
			if den := desc[0]; den != 0 && den != 0x7f && !d.knownDensity(den) {
				return scsi.InvalidParam(off, -1)
			}
			bs := uint32(desc[5])<<16 | uint32(desc[6])<<8 | uint32(desc[7])
			if bs > maxBlock {
				return scsi.InvalidParam(off+5, -1)
			}
			d.blockSize = bs
			return nil
		},
	}
}

func (d *Drive) knownDensity(den byte) bool {
	for _, g := range generations() {
		if g.Density == den && g.N <= d.gen.N && g.N >= d.gen.N-2 {
			return true
		}
	}
	return false
}

func (d *Drive) compressionPage() []byte {
	p := []byte{0x0f, 0x0e, 0x40, 0x80, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0} // DCC, DDE, algorithm 1
	if d.compress {
		p[2] |= 0x80
	}
	return p
}

func (d *Drive) configurationPage() []byte {
	p := []byte{0x10, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0x18, 0, 0, 0, 0, 0} // EEG, SEW
	if d.compress {
		p[14] = 1
	}
	return p
}

// partitionPage is the medium partition page: one partition.
func (d *Drive) partitionPage() []byte {
	return []byte{0x11, 0x08, 0x00, 0x00, 0x18, 0x03, 0x09, 0x00, 0x00, 0x00} // max additional 0, FDP/SDP off, POFM off; PSUM MB
}

// informationalExceptions is the informational exceptions control page:
// TapeAlert by LOG SENSE only (MRIE 0).
func informationalExceptions() []byte {
	return []byte{0x1c, 0x0a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0} // DEXCPT
}

func (d *Drive) readBlockLimits(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfe); err != nil {
		return nil, err
	}
	if cdb[1]&0x01 != 0 { // MLOL: maximum logical object identifier
		b := make([]byte, 20)
		binary.BigEndian.PutUint16(b[0:], 18)
		binary.BigEndian.PutUint64(b[12:], 1<<40)
		return b, nil
	}
	m := uint32(maxBlock)
	return []byte{0x00, byte(m >> 16), byte(m >> 8), byte(m), 0x00, 0x01}, nil
}

func (d *Drive) reportDensity(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfc); err != nil {
		return nil, err
	}
	if cdb[1]&0x02 != 0 { // MEDIUM TYPE reports are not supported
		return nil, scsi.InvalidField(1, 1)
	}
	media := cdb[1]&0x01 != 0
	if media {
		if _, err := d.loaded(); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 4)
	gens := generations()
	for i := len(gens) - 1; i >= 0; i-- {
		g := gens[i]
		if g.N > d.gen.N || g.N < d.gen.N-2 || (media && g.N != d.gen.N) {
			continue
		}
		desc := make([]byte, 52)
		desc[0], desc[1] = g.Density, g.Density
		if g.N >= d.gen.N-1 {
			desc[2] |= 0x80 // WRTOK
		}
		if g.N == d.gen.N {
			desc[2] |= 0x20 // DEFLT
		}
		desc[5], desc[6], desc[7] = byte(g.BitsPerMM>>16), byte(g.BitsPerMM>>8), byte(g.BitsPerMM)
		binary.BigEndian.PutUint16(desc[8:], 127) // 12.7 mm
		binary.BigEndian.PutUint16(desc[10:], g.Tracks)
		binary.BigEndian.PutUint32(desc[12:], uint32(g.Capacity/1e6))
		copy(desc[16:24], scsi.PadASCII("LTO-CVE", 8))
		copy(desc[24:32], scsi.PadASCII(g.Name, 8))
		copy(desc[32:52], scsi.PadASCII("Ultrium "+string(rune('0'+g.N))+"/16T", 20))
		out = append(out, desc...)
	}
	binary.BigEndian.PutUint16(out[0:], uint16(len(out)-2))
	return scsi.Trim(out, cdb.U16(7)), nil
}

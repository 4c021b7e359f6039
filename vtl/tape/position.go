package tape

import (
	"context"
	"encoding/binary"

	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

func (d *Drive) space(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xf0); err != nil {
		return nil, err
	}
	t, err := d.loaded()
	if err != nil {
		return nil, err
	}
	count := int64(cdb.S24(2))
	switch cdb[1] & 0x0f {
	case 0: // logical blocks
		res, err := t.SpaceRecords(ctx, count)
		return nil, d.sense(err, res, true)
	case 1: // filemarks
		res, err := t.SpaceFilemarks(ctx, count)
		return nil, d.sense(err, res, true)
	case 3: // end of data
		return nil, d.sense(t.SpaceEOD(ctx), 0, false)
	}
	return nil, scsi.InvalidField(1, 3)
}

func (d *Drive) rewind(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfe); err != nil {
		return nil, err
	}
	t, err := d.loaded()
	if err != nil {
		return nil, err
	}
	return nil, d.sense(t.Rewind(ctx), 0, false)
}

func (d *Drive) loadUnload(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfe); err != nil {
		return nil, err
	}
	if err := cdb.Reserved(4, 0xf0); err != nil {
		return nil, err
	}
	if cdb[4]&0x04 != 0 { // EOT: position to end of tape before unloading
		return nil, scsi.InvalidField(4, 2)
	}
	load := cdb[4]&0x01 != 0
	if d.medium == nil {
		return nil, scsi.NewSense(scsi.KeyNotReady, scsi.CodeMediumNotPresent)
	}
	if load {
		if d.tape == nil {
			t, err := cartridge.Open(ctx, d.eng, d.medium.Store, d.medium.Barcode, d.medium.Options)
			if err != nil {
				return nil, err
			}
			d.tape, d.ready = t, true
			d.medium.LoadCount++
			return nil, nil
		}
		return nil, d.sense(d.tape.Rewind(ctx), 0, false)
	}
	if d.Prevented() {
		return nil, scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeMediumRemovalPrevented)
	}
	if d.tape != nil {
		if err := d.tape.Close(ctx); err != nil {
			return nil, d.sense(err, 0, false)
		}
	}
	d.tape, d.ready = nil, false
	return nil, nil
}

// READ POSITION service actions (SSC-4 6.8).
const (
	posShort         = 0x00
	posShortVendor   = 0x01
	posLong          = 0x06
	posExtended      = 0x08
	readPosShortLen  = 20
	readPosLongLen   = 32
	readPosExtLen    = 32
	flagBOP, flagEOP = 0x80, 0x40
	flagBPEW         = 0x01
)

func (d *Drive) readPosition(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	sa := cdb[1] & 0x1f
	if err := cdb.Reserved(1, 0xe0); err != nil {
		return nil, err
	}
	t, err := d.loaded()
	if err != nil {
		return nil, err
	}
	pos := t.Position()
	bufObjs, bufBytes := t.Buffered()
	flags := byte(0)
	if pos == 0 {
		flags |= flagBOP
	}
	if t.BeyondEarlyWarning() && pos == t.Map().Objects() {
		flags |= flagBPEW
	}
	switch sa {
	case posShort, posShortVendor:
		b := make([]byte, readPosShortLen)
		b[0] = flags
		if pos > 0xffffffff {
			b[0] |= 0x04 // LOLU: the position does not fit
		}
		binary.BigEndian.PutUint32(b[4:], uint32(pos))
		binary.BigEndian.PutUint32(b[8:], uint32(pos-bufObjs))
		b[13], b[14], b[15] = byte(bufObjs>>16), byte(bufObjs>>8), byte(bufObjs)
		binary.BigEndian.PutUint32(b[16:], uint32(min(bufBytes, 0xffffffff)))
		return b, nil
	case posLong:
		b := make([]byte, readPosLongLen)
		b[0] = flags
		binary.BigEndian.PutUint64(b[8:], pos)
		binary.BigEndian.PutUint64(b[16:], t.Map().FilemarksBefore(pos))
		return b, nil
	case posExtended:
		b := make([]byte, readPosExtLen)
		b[0] = flags
		binary.BigEndian.PutUint16(b[2:], readPosExtLen-4)
		b[5], b[6], b[7] = byte(bufObjs>>16), byte(bufObjs>>8), byte(bufObjs)
		binary.BigEndian.PutUint64(b[8:], pos)
		binary.BigEndian.PutUint64(b[16:], pos-bufObjs)
		binary.BigEndian.PutUint64(b[24:], uint64(bufBytes))
		return scsi.Trim(b, cdb.U16(7)), nil
	}
	return nil, scsi.InvalidField(1, 4)
}

func (d *Drive) locate(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	var dest uint64
	if cdb.Op() == scsi.OpLocate10 {
		if err := cdb.Reserved(1, 0xf8); err != nil {
			return nil, err
		}
		if cdb[1]&0x02 != 0 && cdb[8] != 0 { // CP to a partition other than 0
			return nil, scsi.InvalidField(8, -1)
		}
		dest = uint64(cdb.U32(3))
	} else {
		if err := cdb.Reserved(1, 0xc4); err != nil {
			return nil, err
		}
		if cdb[1]&0x02 != 0 && cdb[3] != 0 {
			return nil, scsi.InvalidField(3, -1)
		}
		dest = cdb.U64(4)
		switch (cdb[1] >> 3) & 0x07 {
		case 0:
		case 1: // logical file identifier: the object after the n-th filemark
			t, err := d.loaded()
			if err != nil {
				return nil, err
			}
			if err := t.Rewind(ctx); err != nil {
				return nil, d.sense(err, 0, false)
			}
			if dest == 0 {
				return nil, nil
			}
			_, err = t.SpaceFilemarks(ctx, int64(min(dest, 1<<40)))
			return nil, d.sense(err, 0, false)
		case 3: // end of data
			t, err := d.loaded()
			if err != nil {
				return nil, err
			}
			return nil, d.sense(t.SpaceEOD(ctx), 0, false)
		default:
			return nil, scsi.InvalidField(1, 5)
		}
	}
	t, err := d.loaded()
	if err != nil {
		return nil, err
	}
	return nil, d.sense(t.Locate(ctx, dest), 0, false)
}

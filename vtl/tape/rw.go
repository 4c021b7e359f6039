package tape

import (
	"context"
	"errors"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// sense turns a cartridge error into the sense a drive returns (senseOf);
// a failed commit is logged and counted first (commitFailed).
func (d *Drive) sense(err error, residual int64, infoValid bool) error {
	if errors.Is(err, cartridge.ErrCommit) {
		d.commitFailed(err)
	}
	return senseOf(err, residual, infoValid)
}

// senseOf turns a cartridge error into the sense a drive returns, with the
// residual in the information field when info is valid.
func senseOf(err error, residual int64, infoValid bool) error {
	var s *scsi.SenseError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &s):
		return s
	case errors.Is(err, cartridge.ErrFilemark):
		s = scsi.NewSense(scsi.KeyNoSense, scsi.CodeFilemark)
		s.Filemark = true
	case errors.Is(err, cartridge.ErrEndOfData):
		s = scsi.NewSense(scsi.KeyBlankCheck, scsi.CodeEndOfData)
	case errors.Is(err, cartridge.ErrBeginning):
		s = scsi.NewSense(scsi.KeyNoSense, scsi.CodeBeginningOfPartition)
		s.EOM = true
	case errors.Is(err, cartridge.ErrEarlyWarning):
		s = scsi.NewSense(scsi.KeyNoSense, scsi.CodeEndOfPartition)
		s.EOM = true
	case errors.Is(err, cartridge.ErrEndOfMedium):
		s = scsi.NewSense(scsi.KeyVolumeOverflow, scsi.CodeEndOfPartition)
		s.EOM = true
	case errors.Is(err, cartridge.ErrWriteProtected):
		return scsi.NewSense(scsi.KeyDataProtect, scsi.CodeWriteProtected)
	case errors.Is(err, cartridge.ErrWORM), errors.Is(err, cartridge.ErrRetained):
		// data under retention behaves as on WORM media: appends only
		return scsi.NewSense(scsi.KeyDataProtect, scsi.CodeWORMOverwrite)
	case errors.Is(err, cartridge.ErrFormat):
		return scsi.NewSense(scsi.KeyMediumError, scsi.CodeMediumFormatCorrupted)
	case errors.Is(err, chunkstore.ErrCorrupt):
		return scsi.NewSense(scsi.KeyMediumError, scsi.CodeUnrecoveredRead) // a chunk failed its check
	case errors.Is(err, chunkstore.ErrFull):
		s = scsi.NewSense(scsi.KeyVolumeOverflow, scsi.CodeEndOfPartition) // the appliance is full
		s.EOM = true
	case errors.Is(err, chunkstore.ErrImmutable):
		return scsi.NewSense(scsi.KeyDataProtect, scsi.CodeWORMOverwrite)
	case errors.Is(err, cartridge.ErrCommit):
		// SSC-4 4.2.16 (error conditions): an unrecovered error writing
		// to the medium is MEDIUM ERROR, WRITE ERROR (0C/00).
		return scsi.NewSense(scsi.KeyMediumError, scsi.CodeWriteError)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		return err // HARDWARE ERROR, INTERNAL TARGET FAILURE, logged by the unit
	}
	if infoValid {
		s.InfoValid, s.Info = true, uint32(int32(residual))
	}
	return s
}

func (d *Drive) read6(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfc); err != nil {
		return nil, err
	}
	sili, fixed := cdb[1]&0x02 != 0, cdb[1]&0x01 != 0
	n := cdb.U24(2)
	if fixed && sili {
		return nil, scsi.InvalidField(1, 1)
	}
	if fixed && d.blockSize == 0 {
		return nil, scsi.InvalidField(1, 0)
	}
	t, err := d.loaded()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	if !fixed {
		if n > maxBlock {
			return nil, scsi.InvalidField(2, -1)
		}
		buf := make([]byte, n)
		size, err := t.Read(ctx, buf)
		if err != nil {
			return nil, d.sense(err, int64(n), true)
		}
		d.stats.read += uint64(min(size, int(n)))
		d.stats.readM += uint64(size)
		if size == int(n) || (sili && size < int(n)) {
			return buf[:min(size, int(n))], nil
		}
		s := scsi.NewSense(scsi.KeyNoSense, scsi.CodeNoAdditional)
		s.ILI, s.InfoValid, s.Info = true, true, uint32(int32(int64(n)-int64(size)))
		return buf[:min(size, int(n))], s
	}
	bs := int(d.blockSize)
	if int64(n)*int64(bs) > 64<<20 {
		return nil, scsi.InvalidField(2, -1)
	}
	out := make([]byte, int(n)*bs)
	for i := 0; i < int(n); i++ {
		size, err := t.Read(ctx, out[i*bs:(i+1)*bs])
		if err != nil {
			return out[:i*bs], d.sense(err, int64(int(n)-i), true)
		}
		d.stats.read += uint64(bs)
		d.stats.readM += uint64(size)
		if size != bs {
			s := scsi.NewSense(scsi.KeyNoSense, scsi.CodeNoAdditional)
			s.ILI, s.InfoValid, s.Info = true, true, uint32(int(n)-i-1)
			return out[:(i+1)*bs], s
		}
	}
	return out, nil
}

func (d *Drive) write6(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfe); err != nil {
		return nil, err
	}
	fixed := cdb[1]&0x01 != 0
	n := cdb.U24(2)
	if fixed && d.blockSize == 0 {
		return nil, scsi.InvalidField(1, 0)
	}
	t, err := d.loaded()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	size, count := int(n), 1
	if fixed {
		size, count = int(d.blockSize), int(n)
	} else if n > maxBlock {
		return nil, scsi.InvalidField(2, -1)
	}
	if len(cmd.DataOut) < size*count {
		return nil, scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeParamListLength)
	}
	var early bool
	for i := 0; i < count; i++ {
		err := t.Write(ctx, cmd.DataOut[i*size:(i+1)*size])
		switch {
		case errors.Is(err, cartridge.ErrEarlyWarning):
			early = true
		case err != nil:
			if errors.Is(err, cartridge.ErrWriteProtected) {
				d.alerts |= 1 << (9 - 1) // TapeAlert 09h: write protect
			}
			residual := int64(count - i)
			if !fixed {
				residual = int64(n)
			}
			return nil, d.sense(err, residual, true)
		}
		d.stats.written += uint64(size)
		d.stats.wrote += uint64(size)
	}
	if d.buffered == 0 {
		if err := t.Flush(ctx); err != nil {
			return nil, d.sense(err, 0, false)
		}
	}
	if early {
		return nil, d.sense(cartridge.ErrEarlyWarning, 0, true)
	}
	return nil, nil
}

func (d *Drive) writeFilemarks(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfc); err != nil {
		return nil, err
	}
	if cdb[1]&0x02 != 0 { // WSMK: setmarks are not supported
		return nil, scsi.InvalidField(1, 1)
	}
	t, err := d.loaded()
	if err != nil {
		return nil, err
	}
	n := cdb.U24(2)
	if err := t.WriteFilemarks(ctx, uint64(n)); err != nil {
		if errors.Is(err, cartridge.ErrEarlyWarning) {
			return nil, d.sense(err, 0, true)
		}
		return nil, d.sense(err, int64(n), true)
	}
	return nil, nil
}

func (d *Drive) erase(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfc); err != nil {
		return nil, err
	}
	t, err := d.loaded()
	if err != nil {
		return nil, err
	}
	return nil, d.sense(t.Erase(ctx), 0, false)
}

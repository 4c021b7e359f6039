package changer

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/backstop-appliance/backstop/vtl/scsi"
	"github.com/backstop-appliance/backstop/vtl/tape"
)

// senseOf turns a move error into SMC sense data.
func senseOf(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrSourceEmpty):
		return scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeSourceEmpty)
	case errors.Is(err, ErrDestFull), errors.Is(err, tape.ErrFull):
		return scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeDestinationFull)
	case errors.Is(err, ErrPrevented):
		return scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeMediumRemovalPrevented)
	case errors.Is(err, ErrBadElement):
		return scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeInvalidElement)
	}
	return err
}

// element resolves the address in the CDB at byte i.
func (c *Changer) elementAt(cdb scsi.CDB, i int) (element, error) {
	e, ok := c.lookup(uint16(cdb.U16(i)))
	if !ok {
		s := scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeInvalidElement)
		s.Field = &scsi.FieldPointer{CDB: true, Byte: uint16(i), Bit: -1}
		return element{}, s
	}
	return e, nil
}

func (c *Changer) moveMedium(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if cdb[10]&0x01 != 0 { // INVERT: no two-sided media
		return nil, scsi.InvalidField(10, 0)
	}
	if t, err := c.elementAt(cdb, 2); err != nil {
		return nil, err
	} else if t.typ != TypeTransport {
		return nil, scsi.InvalidField(2, -1)
	}
	from, err := c.elementAt(cdb, 4)
	if err != nil {
		return nil, err
	}
	to, err := c.elementAt(cdb, 6)
	if err != nil {
		return nil, err
	}
	if from.typ == TypeTransport {
		return nil, scsi.InvalidField(4, -1)
	}
	if to.typ == TypeTransport {
		return nil, scsi.InvalidField(6, -1)
	}
	return nil, senseOf(c.move(ctx, from, to))
}

func (c *Changer) initElementStatus(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if cdb.Op() == scsi.OpInitElementRange && cdb[1]&0x01 != 0 {
		start, n := cdb.U16(2), cdb.U16(6)
		if _, ok := c.lookup(uint16(start)); !ok {
			s := scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeInvalidElement)
			s.Field = &scsi.FieldPointer{CDB: true, Byte: 2, Bit: -1}
			return nil, s
		}
		if n == 0 {
			return nil, scsi.InvalidField(6, -1)
		}
	}
	// The inventory is always known: nothing to scan.
	return nil, nil
}

func (c *Changer) positionToElement(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if cdb[8]&0x01 != 0 {
		return nil, scsi.InvalidField(8, 0)
	}
	if t, err := c.elementAt(cdb, 2); err != nil {
		return nil, err
	} else if t.typ != TypeTransport {
		return nil, scsi.InvalidField(2, -1)
	}
	_, err := c.elementAt(cdb, 4)
	return nil, err
}

func (c *Changer) openCloseIE(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	e, err := c.elementAt(cdb, 2)
	if err != nil {
		return nil, err
	}
	if e.typ != TypeMail {
		return nil, scsi.InvalidField(2, -1)
	}
	switch cdb[4] & 0x1f {
	case 0x00: // open
		if c.Prevented() {
			return nil, scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeMediumRemovalPrevented)
		}
		return nil, nil
	case 0x01: // close
		return nil, nil
	}
	return nil, scsi.InvalidField(4, 4)
}

// readElementStatus answers READ ELEMENT STATUS (SMC-3 6.11).
func (c *Changer) readElementStatus(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xe0); err != nil {
		return nil, err
	}
	typ := cdb[1] & 0x0f
	if typ > TypeDrive {
		return nil, scsi.InvalidField(1, 3)
	}
	voltag, dvcid := cdb[1]&0x10 != 0, cdb[6]&0x01 != 0
	if err := cdb.Reserved(6, 0xfc); err != nil {
		return nil, err
	}
	start, count := uint16(cdb.U16(2)), int(cdb.U16(4))
	alloc := cdb.U24(7)
	var pages []byte
	first, n := uint16(0), 0
	for _, t := range []byte{TypeTransport, TypeDrive, TypeMail, TypeStorage} {
		if typ != TypeAll && typ != t {
			continue
		}
		var descs [][]byte
		for _, e := range c.elements(t) {
			if e.addr < start || n >= count {
				continue
			}
			if n == 0 {
				first = e.addr
			}
			n++
			descs = append(descs, c.descriptor(e, voltag, dvcid && t == TypeDrive))
		}
		if len(descs) == 0 {
			continue
		}
		hdr := make([]byte, 8)
		hdr[0] = t
		if voltag {
			hdr[1] = 0x80
		}
		binary.BigEndian.PutUint16(hdr[2:], uint16(len(descs[0])))
		total := len(descs) * len(descs[0])
		hdr[5], hdr[6], hdr[7] = byte(total>>16), byte(total>>8), byte(total)
		pages = append(pages, hdr...)
		for _, d := range descs {
			pages = append(pages, d...)
		}
	}
	if n == 0 && count > 0 {
		if _, ok := c.lookup(start); !ok {
			s := scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeInvalidElement)
			s.Field = &scsi.FieldPointer{CDB: true, Byte: 2, Bit: -1}
			return nil, s
		}
	}
	out := make([]byte, 8, 8+len(pages))
	binary.BigEndian.PutUint16(out[0:], first)
	binary.BigEndian.PutUint16(out[2:], uint16(n))
	out[5], out[6], out[7] = byte(len(pages)>>16), byte(len(pages)>>8), byte(len(pages))
	return scsi.Trim(append(out, pages...), alloc), nil
}

// elements lists the elements of type t by address.
func (c *Changer) elements(t byte) []element {
	var out []element
	switch t {
	case TypeTransport:
		out = append(out, element{TypeTransport, BaseTransport, 0})
	case TypeDrive:
		for i := range c.drives {
			out = append(out, element{TypeDrive, uint16(BaseDrive + i), i})
		}
	case TypeMail:
		for i := range c.mail {
			out = append(out, element{TypeMail, uint16(BaseMail + i), i})
		}
	case TypeStorage:
		for i := range c.slots {
			out = append(out, element{TypeStorage, uint16(BaseStorage + i), i})
		}
	}
	return out
}

// descriptor is one element descriptor (SMC-3 6.11.3-7).
func (c *Changer) descriptor(e element, voltag, dvcid bool) []byte {
	bc := c.barcode(e)
	d := make([]byte, 12)
	binary.BigEndian.PutUint16(d, e.addr)
	if bc != "" {
		d[2] |= 0x01 // FULL
	}
	switch e.typ {
	case TypeStorage, TypeDrive:
		d[2] |= 0x08 // ACCESS
	case TypeMail:
		d[2] |= 0x38 // INENAB, EXENAB, ACCESS
		if c.imported[bc] {
			d[2] |= 0x02 // IMPEXP: placed by the operator
		}
	}
	if bc != "" {
		d[9] = 0x01 // data medium
		if src, ok := c.source[bc]; ok && e.typ != TypeStorage {
			d[9] |= 0x80 // SVALID
			binary.BigEndian.PutUint16(d[10:], src)
		}
	}
	if voltag {
		tag := make([]byte, 36)
		if bc != "" {
			copy(tag, scsi.PadASCII(bc, 32))
		}
		d = append(d, tag...)
	}
	if dvcid {
		serial := c.drives[e.idx].Identity().Serial
		id := scsi.PadASCII(serial, 32)
		d = append(d, 0x02, 0x00, 0x00, byte(len(id)))
		d = append(d, id...)
	}
	return d
}

// modePages are the SMC pages: element address assignment (1Dh),
// transport geometry (1Eh) and device capabilities (1Fh).
func (c *Changer) modePages() []scsi.ModePage {
	fixed := func(b []byte) scsi.ModePage {
		return scsi.ModePage{Code: b[0], Current: func() []byte { return b }, Changeable: make([]byte, len(b))}
	}
	eaa := func() []byte {
		b := make([]byte, 20)
		b[0], b[1] = 0x1d, 0x12
		put := func(i int, v int) { binary.BigEndian.PutUint16(b[i:], uint16(v)) }
		put(2, BaseTransport)
		put(4, 1)
		put(6, BaseStorage)
		put(8, len(c.slots))
		put(10, BaseMail)
		put(12, len(c.mail))
		put(14, BaseDrive)
		put(16, len(c.drives))
		return b
	}
	return []scsi.ModePage{
		{Code: 0x1d, Current: eaa, Changeable: make([]byte, 20)},
		fixed([]byte{0x1e, 0x02, 0x00, 0x00}),
		fixed([]byte{0x1f, 0x12, 0x0e, 0x00, 0x0e, 0x0e, 0x0e, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
	}
}

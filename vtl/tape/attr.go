package tape

import (
	"context"
	"encoding/binary"
	"sort"

	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// Medium auxiliary memory attribute formats (SPC-4 7.4.1).
const (
	attrBinary = 0x00
	attrASCII  = 0x01
	attrText   = 0x02
	attrRO     = 0x80
)

// hostAttrs are the host-writable attributes the drive keeps, with their
// format and length (SPC-4 table 335).
func hostAttrs() map[uint16][2]int {
	return map[uint16][2]int{
		0x0800: {attrASCII, 8},   // application vendor
		0x0801: {attrASCII, 32},  // application name
		0x0802: {attrASCII, 8},   // application version
		0x0803: {attrText, 160},  // user medium text label
		0x0804: {attrASCII, 12},  // date and time last written
		0x0805: {attrBinary, 1},  // text localization identifier
		0x0806: {attrASCII, 32},  // barcode
		0x0807: {attrText, 80},   // owning host textual name
		0x0808: {attrText, 160},  // media pool
		0x080b: {attrASCII, 16},  // application format version
		0x080c: {attrBinary, 50}, // volume coherency information (variable)
	}
}

// attribute is one encoded attribute.
type attribute struct {
	id     uint16
	format byte
	value  []byte
}

// attributes lists the device and host attributes of the loaded
// cartridge, ascending.
func (d *Drive) attributes() []attribute {
	m := d.medium
	u64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	var remaining, capMiB uint64
	if d.tape != nil {
		remaining = uint64(d.tape.Remaining() >> 20)
	}
	capMiB = uint64(m.Options.Capacity >> 20)
	mtype := byte(0x00)
	if m.Options.WORM {
		mtype = 0x80
	}
	as := []attribute{
		{0x0000, attrRO | attrBinary, u64(remaining)},
		{0x0001, attrRO | attrBinary, u64(capMiB)},
		{0x0003, attrRO | attrBinary, u64(m.LoadCount)},
		{0x0400, attrRO | attrASCII, scsi.PadASCII("BACKSTOP", 8)},
		{0x0401, attrRO | attrASCII, scsi.PadASCII(m.Barcode, 32)},
		{0x0405, attrRO | attrBinary, []byte{d.gen.Density}},
		{0x0408, attrRO | attrBinary, []byte{mtype}},
	}
	for id, v := range m.Attributes {
		f := hostAttrs()[id]
		as = append(as, attribute{id, byte(f[0]), v})
	}
	sort.Slice(as, func(i, j int) bool { return as[i].id < as[j].id })
	return as
}

func (d *Drive) readAttribute(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	sa := cdb[1] & 0x1f
	if err := cdb.Reserved(1, 0xe0); err != nil {
		return nil, err
	}
	if cdb[7] != 0 { // partition
		return nil, scsi.InvalidField(7, -1)
	}
	if d.medium == nil {
		return nil, scsi.NewSense(scsi.KeyNotReady, scsi.CodeMediumNotPresent)
	}
	first := uint16(cdb.U16(8))
	alloc := cdb.U32(10)
	var body []byte
	switch sa {
	case 0x00: // attribute values
		for _, a := range d.attributes() {
			if a.id < first {
				continue
			}
			body = binary.BigEndian.AppendUint16(body, a.id)
			body = append(body, a.format)
			body = binary.BigEndian.AppendUint16(body, uint16(len(a.value)))
			body = append(body, a.value...)
		}
	case 0x01, 0x05: // attribute list, supported attributes
		ids := map[uint16]bool{}
		for _, a := range d.attributes() {
			ids[a.id] = true
		}
		if sa == 0x05 {
			for id := range hostAttrs() {
				ids[id] = true
			}
		}
		sorted := make([]int, 0, len(ids))
		for id := range ids {
			sorted = append(sorted, int(id))
		}
		sort.Ints(sorted)
		for _, id := range sorted {
			if uint16(id) >= first {
				body = binary.BigEndian.AppendUint16(body, uint16(id))
			}
		}
	case 0x02: // logical volume list: volume 0
		return scsi.Trim([]byte{0, 2, 0, 0}, alloc), nil
	case 0x03: // partition list: partition 0 of 1
		return scsi.Trim([]byte{0, 2, 0, 1}, alloc), nil
	default:
		return nil, scsi.InvalidField(1, 4)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return scsi.Trim(append(out, body...), alloc), nil
}

func (d *Drive) writeAttribute(ctx context.Context, cmd *scsi.Command, cdb scsi.CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfe); err != nil {
		return nil, err
	}
	if cdb[7] != 0 {
		return nil, scsi.InvalidField(7, -1)
	}
	if d.medium == nil {
		return nil, scsi.NewSense(scsi.KeyNotReady, scsi.CodeMediumNotPresent)
	}
	if d.medium.Options.WriteProtected {
		return nil, scsi.NewSense(scsi.KeyDataProtect, scsi.CodeWriteProtected)
	}
	n := cdb.U32(10)
	if n == 0 {
		return nil, nil
	}
	if uint32(len(cmd.DataOut)) < n || n < 4 {
		return nil, scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeParamListLength)
	}
	p := cmd.DataOut[:n]
	if binary.BigEndian.Uint32(p) != n-4 {
		return nil, scsi.InvalidParam(0, -1)
	}
	updates := map[uint16][]byte{}
	for off := 4; off < len(p); {
		if len(p)-off < 5 {
			return nil, scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeParamListLength)
		}
		id := binary.BigEndian.Uint16(p[off:])
		l := int(binary.BigEndian.Uint16(p[off+3:]))
		f, ok := hostAttrs()[id]
		if !ok {
			return nil, scsi.InvalidParam(off, -1)
		}
		if l > f[1] {
			return nil, scsi.InvalidParam(off+3, -1)
		}
		if off+5+l > len(p) {
			return nil, scsi.NewSense(scsi.KeyIllegalRequest, scsi.CodeParamListLength)
		}
		updates[id] = append([]byte(nil), p[off+5:off+5+l]...)
		off += 5 + l
	}
	if d.medium.Attributes == nil {
		d.medium.Attributes = map[uint16][]byte{}
	}
	for id, v := range updates {
		if len(v) == 0 {
			delete(d.medium.Attributes, id)
		} else {
			d.medium.Attributes[id] = v
		}
	}
	if d.medium.SaveAttributes != nil {
		if err := d.medium.SaveAttributes(d.medium.Attributes); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

package scsi

import (
	"context"
	"encoding/binary"
	"sort"
)

// Standard INQUIRY data is 36 bytes, 96 with version descriptors.
const inquiryLen = 96

func (u *Unit) inquiry(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfe); err != nil { // CMDDT and reserved bits
		return nil, err
	}
	alloc := cdb.U16(3)
	if cdb[1]&0x01 == 0 {
		if cdb[2] != 0 {
			return nil, InvalidField(2, -1)
		}
		return Trim(u.standardInquiry(), alloc), nil
	}
	page, ok := u.vpdPage(cdb[2])
	if !ok {
		return nil, InvalidField(2, -1)
	}
	return Trim(page, alloc), nil
}

func (u *Unit) standardInquiry() []byte {
	b := make([]byte, inquiryLen)
	b[0] = u.id.DeviceType & 0x1f
	if u.id.Removable {
		b[1] = 0x80
	}
	b[2] = u.id.Version
	b[3] = 0x02 // response data format 2
	b[4] = inquiryLen - 5
	b[7] = 0x02 // CMDQUE
	copy(b[8:16], PadASCII(u.id.Vendor, 8))
	copy(b[16:32], PadASCII(u.id.Product, 16))
	copy(b[32:36], PadASCII(u.id.Revision, 4))
	copy(b[36:56], u.id.VendorSpecific)
	for i, d := range u.id.Descriptors {
		if i == 8 {
			break
		}
		binary.BigEndian.PutUint16(b[58+2*i:], d)
	}
	return b
}

// vpdPages lists the VPD page codes the unit answers, ascending.
func (u *Unit) vpdPages() []byte {
	codes := []byte{0x00, 0x80, 0x83}
	for c := range u.vpd {
		if c != 0x00 && c != 0x80 && c != 0x83 {
			codes = append(codes, c)
		}
	}
	sort.Slice(codes, func(i, j int) bool { return codes[i] < codes[j] })
	return codes
}

func (u *Unit) vpdPage(code byte) ([]byte, bool) {
	hdr := func(body []byte) []byte {
		b := make([]byte, 4, 4+len(body))
		b[0] = u.id.DeviceType & 0x1f
		b[1] = code
		binary.BigEndian.PutUint16(b[2:], uint16(len(body)))
		return append(b, body...)
	}
	switch code {
	case 0x00:
		return hdr(u.vpdPages()), true
	case 0x80:
		return hdr([]byte(u.id.Serial)), true
	case 0x83:
		return hdr(u.deviceIdentification()), true
	}
	if f, ok := u.vpd[code]; ok {
		return f(), true
	}
	return nil, false
}

// deviceIdentification is the body of VPD page 83h: an NAA IEEE
// Registered designator and a T10 vendor ID designator (vendor, product,
// serial), both of the logical unit.
func (u *Unit) deviceIdentification() []byte {
	var b []byte
	if u.id.NAA != 0 {
		d := []byte{0x01, 0x03, 0x00, 0x08} // binary, LU association, NAA, length 8
		d = binary.BigEndian.AppendUint64(d, u.id.NAA)
		b = append(b, d...)
	}
	t10 := append(PadASCII(u.id.Vendor, 8), PadASCII(u.id.Product, 16)...)
	t10 = append(t10, u.id.Serial...)
	b = append(b, 0x02, 0x01, 0x00, byte(len(t10))) // ASCII, LU, T10 vendor ID
	return append(b, t10...)
}

package scsi

import (
	"context"
	"encoding/binary"
)

// ModePage is one mode page a device offers (SPC-4 7.5). Current returns
// the page with its header (page code byte, page length); Changeable is
// the mask of bits MODE SELECT may change, same length; Set applies a
// page that passed the mask check (off is the page's offset in the
// parameter list, for field pointers).
type ModePage struct {
	Code, Subpage byte
	Current       func() []byte
	Default       func() []byte
	Changeable    []byte
	Set           func(page []byte, off int) error
}

// ModeConfig is a device's mode parameters: pages, the header's
// device-specific parameter and the block descriptor.
type ModeConfig struct {
	Pages []ModePage
	// DeviceSpecific is the header byte for page control pc (0 current,
	// 1 changeable, 2 default).
	DeviceSpecific    func(pc byte) byte
	SetDeviceSpecific func(v byte, off int) error // off: the byte's offset in the parameter list
	// Block is the 8-byte block descriptor for pc, nil for none.
	Block    func(pc byte) []byte
	SetBlock func(desc []byte, off int) error
}

func (u *Unit) modeSense(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	ten := cdb.Op() == OpModeSense10
	mask := byte(0xf7)
	if ten {
		mask = 0xe7
	}
	if err := cdb.Reserved(1, mask); err != nil {
		return nil, err
	}
	dbd := cdb[1]&0x08 != 0
	pc, code, sub := cdb[2]>>6, cdb[2]&0x3f, cdb[3]
	if pc == 3 {
		e := NewSense(KeyIllegalRequest, CodeSavingNotSupported)
		e.Field = &FieldPointer{CDB: true, Byte: 2, Bit: 7}
		return nil, e
	}
	var pages []byte
	found := code == 0 && sub == 0 // page 0: header and block descriptor only
	for _, p := range u.mode.Pages {
		all := code == 0x3f && (sub == 0xff || (sub == 0 && p.Subpage == 0))
		if !all && (p.Code != code || (p.Subpage != sub && sub != 0xff)) {
			continue
		}
		found = true
		switch pc {
		case 0:
			pages = append(pages, p.Current()...)
		case 1:
			pages = append(pages, p.Changeable...)
		case 2:
			if p.Default != nil {
				pages = append(pages, p.Default()...)
			} else {
				pages = append(pages, p.Current()...)
			}
		}
	}
	if !found && !(code == 0x3f && len(u.mode.Pages) == 0) {
		if code == 0x3f || sub == 0xff || pagesHaveCode(u.mode.Pages, code) {
			return nil, InvalidField(3, -1)
		}
		return nil, InvalidField(2, 5)
	}
	var dev byte
	if u.mode.DeviceSpecific != nil {
		dev = u.mode.DeviceSpecific(pc)
	}
	var bd []byte
	if !dbd && u.mode.Block != nil {
		bd = u.mode.Block(pc)
	}
	var out []byte
	if ten {
		out = make([]byte, 8, 8+len(bd)+len(pages))
		out[3] = dev
		binary.BigEndian.PutUint16(out[6:], uint16(len(bd)))
		out = append(append(out, bd...), pages...)
		binary.BigEndian.PutUint16(out[0:], uint16(len(out)-2))
		return Trim(out, cdb.U16(7)), nil
	}
	out = make([]byte, 4, 4+len(bd)+len(pages))
	out[2], out[3] = dev, byte(len(bd))
	out = append(append(out, bd...), pages...)
	if len(out) > 256 {
		out = out[:256]
	}
	out[0] = byte(len(out) - 1)
	return Trim(out, uint32(cdb[4])), nil
}

func pagesHaveCode(pages []ModePage, code byte) bool {
	for _, p := range pages {
		if p.Code == code {
			return true
		}
	}
	return false
}

func (u *Unit) modeSelect(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	ten := cdb.Op() == OpModeSelect10
	if err := cdb.Reserved(1, 0xee); err != nil {
		return nil, err
	}
	if cdb[1]&0x01 != 0 { // SP: nothing is saved
		return nil, InvalidField(1, 0)
	}
	n, hdr := uint32(cdb[4]), 4
	if ten {
		n, hdr = cdb.U16(7), 8
	}
	if n == 0 {
		return nil, nil
	}
	if uint32(len(cmd.DataOut)) < n || n < uint32(hdr) {
		return nil, NewSense(KeyIllegalRequest, CodeParamListLength)
	}
	data := cmd.DataOut[:n]
	dev := data[2]
	bdl := int(data[3])
	bdlOff := 3
	if ten {
		dev, bdl, bdlOff = data[3], int(binary.BigEndian.Uint16(data[6:])), 6
	}
	if bdl%8 != 0 || hdr+bdl > len(data) {
		return nil, InvalidParam(bdlOff, -1)
	}
	if u.mode.SetDeviceSpecific != nil {
		devOff := 2
		if ten {
			devOff = 3
		}
		if err := u.mode.SetDeviceSpecific(dev, devOff); err != nil {
			return nil, err
		}
	}
	if bdl > 0 {
		if u.mode.SetBlock == nil {
			return nil, InvalidParam(bdlOff, -1)
		}
		if err := u.mode.SetBlock(data[hdr:hdr+8], hdr); err != nil {
			return nil, err
		}
	}
	for off := hdr + bdl; off < len(data); {
		if err := u.selectPage(data, off, &off); err != nil {
			return nil, err
		}
	}
	u.st.Lock()
	for n := range u.seen {
		if n != cmd.Nexus {
			u.addUA(n, CodeModeParamsChanged)
		}
	}
	u.st.Unlock()
	return nil, nil
}

// selectPage applies the page at data[off:], advancing *next past it.
func (u *Unit) selectPage(data []byte, off int, next *int) error {
	if len(data)-off < 2 {
		return NewSense(KeyIllegalRequest, CodeParamListLength)
	}
	code, sub := data[off]&0x3f, byte(0)
	size := int(data[off+1]) + 2
	if data[off]&0x40 != 0 {
		if len(data)-off < 4 {
			return NewSense(KeyIllegalRequest, CodeParamListLength)
		}
		sub = data[off+1]
		size = int(binary.BigEndian.Uint16(data[off+2:])) + 4
	}
	var page *ModePage
	for i := range u.mode.Pages {
		if p := &u.mode.Pages[i]; p.Code == code && p.Subpage == sub {
			page = p
		}
	}
	if page == nil {
		return InvalidParam(off, 5)
	}
	cur := page.Current()
	if size != len(cur) || off+size > len(data) {
		return InvalidParam(off+1, -1)
	}
	nw := data[off : off+size]
	hdr := 2
	if data[off]&0x40 != 0 {
		hdr = 4
	}
	for i := hdr; i < size; i++ {
		if diff := (nw[i] ^ cur[i]) &^ page.Changeable[i]; diff != 0 {
			bit := 7
			for diff&(1<<bit) == 0 {
				bit--
			}
			return InvalidParam(off+i, bit)
		}
	}
	*next = off + size
	if page.Set == nil {
		return nil
	}
	return page.Set(nw, off)
}

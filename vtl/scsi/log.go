package scsi

import (
	"context"
	"encoding/binary"
)

// LogParam is one log parameter (SPC-4 7.3.2.2): its code, the control
// byte (format and linking, ...) and its value.
type LogParam struct {
	Code    uint16
	Control byte
	Value   []byte
}

// Counter is a log parameter holding an 8-byte binary counter.
func Counter(code uint16, v uint64) LogParam {
	return LogParam{Code: code, Control: 0x02, Value: binary.BigEndian.AppendUint64(nil, v)}
}

// LogPage is one log page a device keeps. Params returns the current
// parameters in ascending code order; Reset, if set, clears them (LOG
// SELECT with PCR).
type LogPage struct {
	Code, Subpage byte
	Params        func() []LogParam
	Reset         func()
}

func (u *Unit) logSense(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfe); err != nil { // PPC is not supported, nor the obsolete bits
		return nil, err
	}
	if cdb[1]&0x01 != 0 { // SP
		return nil, InvalidField(1, 0)
	}
	code, sub := cdb[2]&0x3f, cdb[3]
	ptr := cdb.U16(5)
	var params []LogParam
	switch {
	case code == 0 && sub == 0:
		params = nil
	default:
		var page *LogPage
		for i := range u.logs {
			if u.logs[i].Code == code && u.logs[i].Subpage == sub {
				page = &u.logs[i]
			}
		}
		if page == nil {
			if sub != 0 {
				return nil, InvalidField(3, -1)
			}
			return nil, InvalidField(2, 5)
		}
		params = page.Params()
	}
	out := []byte{code, sub, 0, 0}
	if sub != 0 {
		out[0] |= 0x40 // SPF
	}
	if code == 0 {
		out = append(out, 0x00)
		for _, p := range u.logs {
			if p.Subpage == 0 {
				out = append(out, p.Code)
			}
		}
	}
	for _, p := range params {
		if uint32(p.Code) < ptr {
			continue
		}
		out = binary.BigEndian.AppendUint16(out, p.Code)
		out = append(out, p.Control, byte(len(p.Value)))
		out = append(out, p.Value...)
	}
	if ptr > 0 && code != 0 && len(out) == 4 && len(params) > 0 && uint32(params[len(params)-1].Code) < ptr {
		return nil, InvalidField(5, -1)
	}
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)-4))
	return Trim(out, cdb.U16(7)), nil
}

func (u *Unit) logSelect(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	if err := cdb.Reserved(1, 0xfc); err != nil {
		return nil, err
	}
	if cdb[1]&0x01 != 0 { // SP
		return nil, InvalidField(1, 0)
	}
	if cdb.U16(7) != 0 { // setting parameters is not supported
		return nil, InvalidField(7, -1)
	}
	if cdb[1]&0x02 == 0 {
		return nil, nil
	}
	code := cdb[2] & 0x3f
	for _, p := range u.logs {
		if p.Reset != nil && (code == 0 || p.Code == code) {
			p.Reset()
		}
	}
	return nil, nil
}

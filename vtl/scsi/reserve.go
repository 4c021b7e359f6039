package scsi

import (
	"context"
	"encoding/binary"
	"sort"
)

// Persistent reservation types (SPC-4 table 170).
const (
	PRWriteExclusive       = 0x1
	PRExclusiveAccess      = 0x3
	PRWriteExclusiveRO     = 0x5
	PRExclusiveAccessRO    = 0x6
	PRWriteExclusiveAllReg = 0x7
	PRExclusiveAccessAll   = 0x8
)

// reservations hold the SPC-2 RESERVE holder and the persistent
// reservation state (SPC-4 5.13). Persistent ones are kept in memory:
// APTPL (persist through power loss) is not supported.
type reservations struct {
	holder6    string            // RESERVE(6/10) holder nexus, "" when none
	keys       map[string]uint64 // registered nexus -> key
	holder     string            // persistent reservation holder nexus
	prType     byte              // 0: none
	generation uint32
}

func (r *reservations) init() { r.keys = map[string]uint64{} }

func (r *reservations) allRegistrants() bool {
	return r.prType == PRWriteExclusiveAllReg || r.prType == PRExclusiveAccessAll
}

// conflict applies the reservation rules to a command of class a from
// nexus.
func (u *Unit) conflict(nexus string, a Access) bool {
	r := &u.res
	if a == AccessAlways {
		return false
	}
	if r.holder6 != "" && r.holder6 != nexus {
		return true
	}
	if r.prType == 0 {
		return false
	}
	if r.holder == nexus || (r.allRegistrants() && r.keys[nexus] != 0) {
		return false
	}
	_, registered := r.keys[nexus]
	switch r.prType {
	case PRWriteExclusive:
		return a == AccessWrite
	case PRExclusiveAccess:
		return true
	case PRWriteExclusiveRO, PRWriteExclusiveAllReg:
		return a == AccessWrite && !registered
	case PRExclusiveAccessRO, PRExclusiveAccessAll:
		return !registered
	}
	return false
}

func (u *Unit) reserve(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	u.st.Lock()
	defer u.st.Unlock()
	if cdb[1]&0x01 != 0 { // third-party / extent reservations are obsolete
		return nil, InvalidField(1, 0)
	}
	if u.res.prType != 0 || (u.res.holder6 != "" && u.res.holder6 != cmd.Nexus) {
		return nil, ErrConflict
	}
	u.res.holder6 = cmd.Nexus
	return nil, nil
}

func (u *Unit) release(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	u.st.Lock()
	defer u.st.Unlock()
	if cdb[1]&0x01 != 0 {
		return nil, InvalidField(1, 0)
	}
	if u.res.prType != 0 && u.res.holder != cmd.Nexus {
		return nil, ErrConflict
	}
	if u.res.holder6 == cmd.Nexus {
		u.res.holder6 = ""
	}
	return nil, nil
}

// PERSISTENT RESERVE IN service actions.
const (
	prReadKeys        = 0x00
	prReadReservation = 0x01
	prReportCaps      = 0x02
)

func (u *Unit) prIn(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	u.st.Lock()
	defer u.st.Unlock()
	r := &u.res
	out := binary.BigEndian.AppendUint32(nil, r.generation)
	switch cdb[1] & 0x1f {
	case prReadKeys:
		keys := make([]uint64, 0, len(r.keys))
		for _, k := range r.keys {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		out = binary.BigEndian.AppendUint32(out, uint32(8*len(keys)))
		for _, k := range keys {
			out = binary.BigEndian.AppendUint64(out, k)
		}
	case prReadReservation:
		if r.prType == 0 {
			out = binary.BigEndian.AppendUint32(out, 0)
			break
		}
		out = binary.BigEndian.AppendUint32(out, 16)
		key := r.keys[r.holder]
		if r.allRegistrants() {
			key = 0
		}
		out = binary.BigEndian.AppendUint64(out, key)
		out = append(out, 0, 0, 0, 0, 0, r.prType&0x0f, 0, 0) // obsolete, reserved, scope/type, obsolete
	case prReportCaps:
		// length 8; TMV; type mask: WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX, EX_AC_AR
		out = []byte{0, 8, 0x00, 0x80, 0xea, 0x01, 0, 0}
	default:
		return nil, InvalidField(1, 4)
	}
	return Trim(out, cdb.U16(7)), nil
}

// PERSISTENT RESERVE OUT service actions.
const (
	prRegister       = 0x00
	prReserve        = 0x01
	prRelease        = 0x02
	prClear          = 0x03
	prPreempt        = 0x04
	prPreemptAbort   = 0x05
	prRegisterIgnore = 0x06
)

func (u *Unit) prOut(ctx context.Context, cmd *Command, cdb CDB) ([]byte, error) {
	u.st.Lock()
	defer u.st.Unlock()
	sa, scope, typ := cdb[1]&0x1f, cdb[2]>>4, cdb[2]&0x0f
	if sa > prRegisterIgnore {
		return nil, InvalidField(1, 4)
	}
	if scope != 0 {
		return nil, InvalidField(2, 7)
	}
	if n := cdb.U32(5); n != 24 {
		return nil, NewSense(KeyIllegalRequest, CodeParamListLength)
	}
	if len(cmd.DataOut) < 24 {
		return nil, NewSense(KeyIllegalRequest, CodeParamListLength)
	}
	p := cmd.DataOut
	key, saKey := binary.BigEndian.Uint64(p[0:]), binary.BigEndian.Uint64(p[8:])
	if p[20]&0x0e != 0 { // SPEC_I_PT, ALL_TG_PT: not supported
		return nil, InvalidParam(20, 3)
	}
	if p[20]&0x01 != 0 { // APTPL: not supported
		return nil, InvalidParam(20, 0)
	}
	r := &u.res
	have, registered := r.keys[cmd.Nexus]
	if sa == prRegister || sa == prRegisterIgnore {
		if sa == prRegister && ((registered && key != have) || (!registered && key != 0)) {
			return nil, ErrConflict
		}
		if saKey == 0 {
			if registered {
				u.unregister(cmd.Nexus)
				r.generation++
			}
			return nil, nil
		}
		r.keys[cmd.Nexus] = saKey
		r.generation++
		return nil, nil
	}
	if !registered || key != have {
		return nil, ErrConflict
	}
	validType := func() error {
		switch typ {
		case PRWriteExclusive, PRExclusiveAccess, PRWriteExclusiveRO, PRExclusiveAccessRO,
			PRWriteExclusiveAllReg, PRExclusiveAccessAll:
			return nil
		}
		return InvalidField(2, 3)
	}
	switch sa {
	case prReserve:
		if err := validType(); err != nil {
			return nil, err
		}
		if r.prType != 0 {
			if r.holder != cmd.Nexus && !(r.allRegistrants() && r.keys[cmd.Nexus] != 0) || r.prType != typ {
				return nil, ErrConflict
			}
			return nil, nil
		}
		if r.holder6 != "" && r.holder6 != cmd.Nexus {
			return nil, ErrConflict
		}
		r.holder, r.prType = cmd.Nexus, typ
	case prRelease:
		if r.prType == 0 || (r.holder != cmd.Nexus && !r.allRegistrants()) {
			return nil, nil
		}
		if r.prType != typ {
			return nil, NewSense(KeyIllegalRequest, CodeInvalidReleasePR)
		}
		r.holder, r.prType = "", 0
		for n := range r.keys {
			if n != cmd.Nexus && typ != PRWriteExclusive && typ != PRExclusiveAccess {
				u.addUA(n, CodeReservationsReleased)
			}
		}
	case prClear:
		for n := range r.keys {
			if n != cmd.Nexus {
				u.addUA(n, CodeReservationsPreempted)
			}
		}
		r.keys = map[string]uint64{}
		r.holder, r.prType = "", 0
		r.generation++
	case prPreempt, prPreemptAbort:
		return nil, u.preempt(cmd.Nexus, typ, saKey, validType)
	}
	return nil, nil
}

// unregister drops nexus's registration, and the reservation it holds.
func (u *Unit) unregister(nexus string) {
	r := &u.res
	delete(r.keys, nexus)
	if r.holder == nexus && !r.allRegistrants() {
		r.holder, r.prType = "", 0
	}
	if r.allRegistrants() && len(r.keys) == 0 {
		r.holder, r.prType = "", 0
	}
}

func (u *Unit) preempt(nexus string, typ byte, saKey uint64, validType func() error) error {
	r := &u.res
	holderKey, hasHolder := r.keys[r.holder]
	if r.prType != 0 && !r.allRegistrants() && hasHolder && saKey == holderKey {
		if err := validType(); err != nil {
			return err
		}
		for n, k := range r.keys {
			if k == saKey && n != nexus {
				delete(r.keys, n)
				u.addUA(n, CodeRegistrationsPreempted)
			}
		}
		r.holder, r.prType = nexus, typ
		r.generation++
		return nil
	}
	if saKey == 0 {
		if r.prType != 0 && r.allRegistrants() {
			if err := validType(); err != nil {
				return err
			}
			for n := range r.keys {
				if n != nexus {
					delete(r.keys, n)
					u.addUA(n, CodeRegistrationsPreempted)
				}
			}
			r.holder, r.prType = nexus, typ
			r.generation++
			return nil
		}
		return InvalidParam(8, -1)
	}
	found := false
	for n, k := range r.keys {
		if k == saKey {
			found = true
			if n != nexus {
				delete(r.keys, n)
				u.addUA(n, CodeRegistrationsPreempted)
			}
		}
	}
	if !found {
		return ErrConflict
	}
	r.generation++
	return nil
}

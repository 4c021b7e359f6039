package iscsi_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// memTape is a small sequential device for the transport's tests: WRITE(6)
// appends a variable-length record, READ(6) returns the next one (with
// ILI and the residual in the sense information when the lengths differ),
// REWIND goes back. Opcode 0xF0 blocks until its context ends (to test
// aborts); 0xF1 returns 100 bytes whatever the allocation length.
type memTape struct {
	typ byte

	mu      sync.Mutex
	records [][]byte
	pos     int
	resets  []reset
	nexuses map[string]bool
	started chan struct{} // closed by the first 0xF0
}

type reset struct {
	kind  scsi.ResetKind
	nexus string
}

func newMemTape(typ byte) *memTape {
	return &memTape{typ: typ, nexuses: map[string]bool{}, started: make(chan struct{}, 16)}
}

func sense(key, asc, ascq byte) []byte {
	s := make([]byte, 18)
	s[0], s[2], s[7], s[12], s[13] = 0x70, key, 10, asc, ascq
	return s
}

func (d *memTape) Reset(kind scsi.ResetKind, nexus string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resets = append(d.resets, reset{kind, nexus})
}

func (d *memTape) resetKinds() []scsi.ResetKind {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []scsi.ResetKind
	for _, r := range d.resets {
		out = append(out, r.kind)
	}
	return out
}

func (d *memTape) Execute(ctx context.Context, cmd *scsi.Command) scsi.Response {
	cdb := cmd.CDB
	switch cdb[0] {
	case 0x00: // TEST UNIT READY
		return scsi.Response{}
	case 0x12: // INQUIRY
		if cdb[1]&1 != 0 {
			return d.vpd(cdb)
		}
		data := make([]byte, 36)
		data[0] = d.typ
		data[1] = 0x80
		data[2], data[3], data[4] = 6, 2, 31
		copy(data[8:], "BACKSTOP")
		copy(data[16:], "MEMTAPE         ")
		copy(data[32:], "0001")
		n := int(binary.BigEndian.Uint16(cdb[3:5]))
		return scsi.Response{Data: data[:min(n, len(data))]}
	case 0x01: // REWIND
		d.mu.Lock()
		d.pos = 0
		d.mu.Unlock()
		return scsi.Response{}
	case 0x0a: // WRITE(6), variable block
		d.mu.Lock()
		d.records = append(d.records[:d.pos], append([]byte(nil), cmd.DataOut...))
		d.pos++
		d.mu.Unlock()
		return scsi.Response{}
	case 0x08: // READ(6), variable block
		want := int(cdb[2])<<16 | int(cdb[3])<<8 | int(cdb[4])
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.pos >= len(d.records) {
			return scsi.Response{Status: scsi.StatusCheckCondition, Sense: sense(0x08, 0x00, 0x05)} // blank check, end of data
		}
		rec := d.records[d.pos]
		d.pos++
		if len(rec) == want {
			return scsi.Response{Data: rec}
		}
		s := sense(0x00, 0x00, 0x00)
		s[0] |= 0x80 // VALID
		s[2] |= 0x20 // ILI
		binary.BigEndian.PutUint32(s[3:], uint32(want-len(rec)))
		return scsi.Response{Status: scsi.StatusCheckCondition, Data: rec[:min(len(rec), want)], Sense: s}
	case 0xf0:
		d.started <- struct{}{}
		<-ctx.Done()
		return scsi.Response{Status: scsi.StatusTaskAborted}
	case 0xf1:
		return scsi.Response{Data: make([]byte, 100)}
	}
	return scsi.Response{Status: scsi.StatusCheckCondition, Sense: sense(0x05, 0x20, 0x00)}
}

// lunSet is a fixed LUN set.
type lunSet map[uint64]scsi.Device

func (l lunSet) LUNs() map[uint64]scsi.Device { return l }

// vpd answers the VPD pages hosts ask for: supported pages, unit serial
// number, device identification (a T10 vendor ID designator).
func (d *memTape) vpd(cdb []byte) scsi.Response {
	var page []byte
	switch cdb[2] {
	case 0x00:
		page = []byte{0x00, 0x80, 0x83}
	case 0x80:
		page = []byte(fmt.Sprintf("MEMTAPE%04d", d.typ))
	case 0x83:
		id := []byte(fmt.Sprintf("BACKSTOPMEMTAPE %04d", d.typ))
		page = append([]byte{0x02, 0x01, 0x00, byte(len(id))}, id...)
	default:
		return scsi.Response{Status: scsi.StatusCheckCondition, Sense: sense(0x05, 0x24, 0x00)}
	}
	data := append([]byte{d.typ, cdb[2], 0, byte(len(page))}, page...)
	n := int(binary.BigEndian.Uint16(cdb[3:5]))
	return scsi.Response{Data: data[:min(n, len(data))]}
}

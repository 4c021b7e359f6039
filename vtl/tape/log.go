package tape

import (
	"encoding/binary"

	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// Log pages of the drive: error counters, sequential access, TapeAlert
// and HP's tape capacity page.
func (d *Drive) logPages() []scsi.LogPage {
	reset := func() { d.stats = counters{} }
	return []scsi.LogPage{
		{Code: 0x02, Params: func() []scsi.LogParam { return errorCounters(d.stats.wrote) }, Reset: reset},
		{Code: 0x03, Params: func() []scsi.LogParam { return errorCounters(d.stats.readM) }, Reset: reset},
		{Code: 0x0c, Params: d.sequentialAccess, Reset: reset},
		{Code: 0x2e, Params: d.tapeAlert, Reset: func() { d.alerts = 0 }},
		{Code: 0x31, Params: d.tapeCapacity},
	}
}

// errorCounters is a write or read error counter page: no errors, and
// the bytes processed (parameter 0005h).
func errorCounters(bytes uint64) []scsi.LogParam {
	var ps []scsi.LogParam
	for code := uint16(0); code <= 6; code++ {
		v := uint64(0)
		if code == 5 {
			v = bytes
		}
		ps = append(ps, scsi.Counter(code, v))
	}
	return ps
}

func (d *Drive) sequentialAccess() []scsi.LogParam {
	return []scsi.LogParam{
		scsi.Counter(0x0000, d.stats.written),
		scsi.Counter(0x0001, d.stats.wrote),
		scsi.Counter(0x0002, d.stats.readM),
		scsi.Counter(0x0003, d.stats.read),
		scsi.Counter(0x0100, 0), // cleaning required: never
	}
}

// tapeAlert returns the 64 TapeAlert flags and clears them, as reading
// the page does (SSC-4 8.2.3).
func (d *Drive) tapeAlert() []scsi.LogParam {
	ps := make([]scsi.LogParam, 64)
	for i := range ps {
		v := byte(0)
		if d.alerts&(1<<i) != 0 {
			v = 1
		}
		ps[i] = scsi.LogParam{Code: uint16(i + 1), Control: 0x03, Value: []byte{v}}
	}
	d.alerts = 0
	return ps
}

// tapeCapacity is HP's tape capacity page (31h): remaining and maximum
// capacity of partition 0 in MB.
func (d *Drive) tapeCapacity() []scsi.LogParam {
	var remaining, max uint32
	if d.tape != nil {
		remaining = uint32(d.tape.Remaining() >> 20)
		max = uint32(d.tape.Options().Capacity >> 20)
	}
	val := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	return []scsi.LogParam{
		{Code: 1, Control: 0x60, Value: val(remaining)},
		{Code: 2, Control: 0x60, Value: val(0)},
		{Code: 3, Control: 0x60, Value: val(max)},
		{Code: 4, Control: 0x60, Value: val(0)},
	}
}

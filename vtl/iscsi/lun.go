package iscsi

import (
	"encoding/binary"
	"slices"

	"github.com/backstop-appliance/backstop/vtl/iscsi/wire"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

const (
	opInquiry      = 0x12
	opRequestSense = 0x03
	opReportLUNs   = 0xa0
)

// Sense keys and codes the transport itself uses.
const (
	senseIllegalRequest = 0x05
	ascInvalidField     = 0x24
	ascLUNNotSupported  = 0x25
)

// senseBytes builds fixed-format sense data (SPC-4 4.5.3).
func senseBytes(key, asc, ascq byte) []byte {
	s := make([]byte, 18)
	s[0] = 0x70
	s[2] = key
	s[7] = 10
	s[12], s[13] = asc, ascq
	return s
}

func checkCondition(key, asc, ascq byte) scsi.Response {
	return scsi.Response{Status: scsi.StatusCheckCondition, Sense: senseBytes(key, asc, ascq)}
}

// invalidFieldInCDB is ILLEGAL REQUEST, INVALID FIELD IN CDB with the
// sense-key specific bytes pointing at byte b of the CDB.
func invalidFieldInCDB(b int) scsi.Response {
	r := checkCondition(senseIllegalRequest, ascInvalidField, 0)
	r.Sense[15] = 0xc0 // SKSV, C/D = CDB
	binary.BigEndian.PutUint16(r.Sense[16:], uint16(b))
	return r
}

// reportLUNs answers REPORT LUNS (SPC-4 6.33) from the target's LUNs.
func reportLUNs(cdb []byte, luns map[uint64]scsi.Device) scsi.Response {
	if len(cdb) < 12 {
		return invalidFieldInCDB(0)
	}
	switch cdb[2] { // SELECT REPORT
	case 0x00, 0x01, 0x02:
	default:
		return invalidFieldInCDB(2)
	}
	alloc := binary.BigEndian.Uint32(cdb[6:10])
	if alloc < 16 {
		return invalidFieldInCDB(6)
	}
	nums := make([]uint64, 0, len(luns))
	for n := range luns {
		nums = append(nums, n)
	}
	if cdb[2] == 0x01 { // well-known LUNs only: we have none
		nums = nums[:0]
	}
	slices.Sort(nums)
	data := make([]byte, 8+8*len(nums))
	binary.BigEndian.PutUint32(data, uint32(8*len(nums)))
	for i, n := range nums {
		binary.BigEndian.PutUint64(data[8+8*i:], wire.EncodeLUN(n))
	}
	if int(alloc) < len(data) {
		data = data[:alloc]
	}
	return scsi.Response{Status: scsi.StatusGood, Data: data}
}

// unknownLUN answers a command to a LUN the target does not have:
// INQUIRY with peripheral qualifier 011b and type 1Fh, REQUEST SENSE with
// the LOGICAL UNIT NOT SUPPORTED sense as data, anything else with CHECK
// CONDITION, LOGICAL UNIT NOT SUPPORTED.
func unknownLUN(cdb []byte) scsi.Response {
	if len(cdb) == 0 {
		return checkCondition(senseIllegalRequest, ascLUNNotSupported, 0)
	}
	switch cdb[0] {
	case opInquiry:
		if len(cdb) < 6 {
			return invalidFieldInCDB(0)
		}
		alloc := int(binary.BigEndian.Uint16(cdb[3:5]))
		var data []byte
		if cdb[1]&1 != 0 { // EVPD: the page header alone
			data = []byte{0x7f, cdb[2], 0, 0}
		} else {
			data = make([]byte, 36)
			data[0] = 0x7f
			data[2] = 0x06 // SPC-4
			data[3] = 0x02 // response data format
			data[4] = 31
		}
		return scsi.Response{Status: scsi.StatusGood, Data: data[:min(alloc, len(data))]}
	case opRequestSense:
		if len(cdb) < 6 {
			return invalidFieldInCDB(0)
		}
		s := senseBytes(senseIllegalRequest, ascLUNNotSupported, 0)
		return scsi.Response{Status: scsi.StatusGood, Data: s[:min(int(cdb[4]), len(s))]}
	}
	return checkCondition(senseIllegalRequest, ascLUNNotSupported, 0)
}

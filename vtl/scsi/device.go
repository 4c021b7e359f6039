// Package scsi holds what the iSCSI transport and the SCSI devices behind
// it agree on: a command as the transport delivers it, the response a
// device gives, and the Device and LUN-set interfaces. The SPC commands
// every device answers, sense data and CDB decoding live here too.
package scsi

import "context"

// Status codes (SAM-5).
const (
	StatusGood                = 0x00
	StatusCheckCondition      = 0x02
	StatusBusy                = 0x08
	StatusReservationConflict = 0x18
	StatusTaskSetFull         = 0x28
	StatusTaskAborted         = 0x40
)

// Command is one SCSI command as the transport delivers it. For a
// command that writes (Data-Out), DataOut holds all the data the
// initiator sent, already gathered; the transport never calls Execute
// before it has it.
type Command struct {
	LUN uint64
	CDB []byte
	// Nexus names the I_T nexus (initiator port and target port, e.g.
	// "iqn.1993-08.org.debian:01:abc,i,0x23d000000001" + target portal
	// group): reservations and unit attentions are kept per nexus.
	Nexus string
	// ExpectedLen is the Expected Data Transfer Length the initiator
	// announced (the iSCSI header's, or the CDB's when the transport has
	// none); Data-In beyond it is cut by the transport, which reports the
	// residual.
	ExpectedLen uint32
	DataOut     []byte
}

// Response is a device's answer. Sense is fixed-format sense data (SPC-4
// 4.5.3) and is sent only with StatusCheckCondition.
type Response struct {
	Status byte
	Data   []byte // Data-In
	Sense  []byte
}

// ResetKind is the task-management event a transport reports.
type ResetKind int

const (
	// ResetNexusLoss: a new I_T nexus (login) or one that ended; the
	// device sets POWER ON, RESET, OR BUS DEVICE RESET OCCURRED for it.
	ResetNexusLoss ResetKind = iota
	// ResetLUN: LOGICAL UNIT RESET; unit attention for every nexus.
	ResetLUN
	// ResetTarget: TARGET WARM/COLD RESET; unit attention for every nexus.
	ResetTarget
)

// Device is one logical unit: a tape drive, a medium changer.
// Execute is called from one goroutine per session; a Device serializes
// what needs serializing. Execute must not block forever when ctx ends
// (abort task, connection loss).
type Device interface {
	Execute(ctx context.Context, cmd *Command) Response
	// Reset reports a task-management event or a nexus's arrival or loss.
	Reset(kind ResetKind, nexus string)
}

// LUNSet is what a transport exposes under one target name: its logical
// units by LUN. The transport answers REPORT LUNS from LUNs itself; to a
// LUN not in the set it answers INQUIRY with peripheral qualifier 011b
// and type 1Fh, and anything else with CHECK CONDITION, ILLEGAL REQUEST,
// LOGICAL UNIT NOT SUPPORTED (25h/00h).
type LUNSet interface {
	LUNs() map[uint64]Device
}

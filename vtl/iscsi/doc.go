// Package iscsi is Backstop's iSCSI target (RFC 7143): it exposes the
// logical units of vtl/scsi devices (tape drives, medium changers) under
// target names to initiators over TCP.
//
// # Architecture
//
// A Server (New, then Start(ctx) on Options.Addr, Addr, Shutdown(ctx))
// accepts TCP connections through internal/netsvc's loop and runs each
// one through login
// (security negotiation with CHAP or none, then operational negotiation)
// into either a discovery session, which answers SendTargets with the
// portal address the initiator connected to, or a normal session on one
// target. Targets come from a Source the caller implements (the VTL
// libraries); the server asks it at each login, so targets appear and
// disappear without a restart.
//
// A normal session has one connection (MaxConnections=1, error recovery
// level 0). Its reader goroutine reads PDUs, checks the CmdSN window,
// gathers write data (immediate, unsolicited and R2T-solicited Data-Out)
// and answers NOP-Out, task management, text and logout at once. SCSI
// commands are executed by one executor goroutine per session in CmdSN
// order (tape is a sequential device: order is what the initiator meant),
// with a context each that an ABORT TASK, a reset or the connection's end
// cancels. All writes to the socket go through one mutex that also
// assigns StatSN, so status PDUs leave in StatSN order.
//
// REPORT LUNS and commands to LUNs the target does not have are answered
// here, as vtl/scsi's LUNSet contract says; everything else goes to the
// device. A device's Reset hears of nexus arrival and loss (login, the end
// of a session, session reinstatement), LOGICAL UNIT RESET and TARGET
// WARM/COLD RESET. Shutdown closes every connection and returns when each
// session has ended that way, so the devices may be closed after it.
//
// # Wire format
//
// PDUs, digests and text data are in package wire (vtl/iscsi/wire). The
// negotiated defaults and why are in docs/iscsi.md.
package iscsi

// Package initiator is a small iSCSI initiator (RFC 7143) for end-to-end
// tests of the target in vtl/iscsi, and of the devices behind it, over
// real TCP: login with CHAP and mutual CHAP and operational negotiation,
// SendTargets discovery, SCSI commands with Data-In, Data-Out, immediate
// and unsolicited data and R2T, CRC32C digests, NOP-Out, task management,
// logout, and raw PDUs for protocol tests.
//
// A Session is safe for concurrent use: commands from several goroutines
// are numbered (CmdSN) in the order they are sent and wait for the
// target's window (MaxCmdSN). One reader goroutine per session routes
// the target's PDUs to the waiting calls by Initiator Task Tag, answers
// R2Ts with Data-Out and the target's NOP-In pings with NOP-Out.
//
// The wire format is package wire's.
package initiator

// Package netsvc is the accept loop the appliance's raw-TCP front ends
// (SMB, iSCSI, replication) share: the single place where their
// connections are accepted. Its connection limits also come as a
// listener wrapper (LimitListener) for the front ends whose accept loop
// is another library's (Catalyst's gRPC, the HTTPS server).
//
// # Lifecycle
//
// New makes a Server around a Handler. Start binds the listener on
// Options.Addr and returns once it accepts (a bind error is returned).
// Each connection runs the Handler in its own goroutine with a context
// that is cancelled at Shutdown. Go starts other goroutines a service
// needs (oplock breaks, lock waits, background loops) under the same
// tracking. Shutdown closes the listener, cancels every context, closes
// every connection (the protocols served here have no graceful end: a
// client reconnects and recovers), and returns when every goroutine the
// Server started has returned, or returns ctx.Err() when ctx expires
// first. A second Shutdown waits again.
//
// # Connection limits
//
// Options.MaxConns bounds the connections served at once (default 1024)
// and Options.MaxConnsPerAddr those from one source IP address (default
// 64); each service sets its own. A connection over either limit is
// closed as soon as it is accepted, before the Handler sees a byte, and
// counted (Refused). Refusals are logged at most once per
// Options.RefusedLogInterval (default 1 min), each line with the count
// since the last, so that a flood cannot fill the log.
//
// LimitListener applies the same limits, counted the same way, to a
// net.Listener: Accept closes a connection over a limit and waits for
// the next, and a connection it returns is counted out at its first
// Close.
//
// # Accept errors
//
// A temporary accept error (a timeout, or the process or system out of
// file descriptors, buffers or memory) is retried after a pause that
// doubles from 5 ms to 1 s, as net/http does; any other error ends the
// accept loop and is logged, while the open connections go on.
package netsvc

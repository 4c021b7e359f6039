// Package servetest runs the real `backstop serve` for the tests that load
// it from outside: the hostile-load tests of the SMB, iSCSI and Catalyst
// front ends, which measure the process's resident memory while they attack
// its listeners.
//
// It builds the binary (Binary), starts it and stops it when the test ends
// (Start), waits for the lines serve prints about its listeners (Addr,
// Line), and reads and samples the process's VmRSS from /proc (VmRSS,
// SamplePeak). It is imported only by _test.go files.
package servetest

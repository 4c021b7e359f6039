// Package testwait bounds a test's waits on channels: a receive that would
// block until the test binary's -timeout (ten minutes by default) fails the
// test at the line that waited instead, with the time it waited.
//
// Use it on the goroutine running the test (or in its Cleanup functions),
// like t.Fatal: a goroutine the test started must report back over a channel
// rather than call Recv.
package testwait

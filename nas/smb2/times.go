package smb2

import (
	"time"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// File times by MS-FSA's rules. An open notes a modification of the file
// (a WRITE, a change of its size) at its first one, setting the
// last-write and change times to now ([MS-FSA] 2.1.4.17), and again when
// it is closed ([MS-FSA] 2.1.5.4): not at every write, so a file being
// written keeps the time of its first write until it is closed. A time
// the client set through this open with FILE_BASIC_INFORMATION sticks:
// the open no longer updates it (Open.UserSetModificationTime and its
// siblings, [MS-FSA] 2.1.5.14.2); -1 suspends the updates without
// setting a time and -2 resumes them ([MS-FSCC] 2.4.7).

// Times of FILE_BASIC_INFORMATION an open can stop updating.
const (
	timeAccess uint8 = 1 << iota
	timeWrite
	timeChange
)

// Special values of a FILE_BASIC_INFORMATION time.
const (
	timeKeep    = 0              // leave the time as it is
	timeSuspend = ^uint64(0)     // -1: this open stops updating the time
	timeResume  = ^uint64(0) - 1 // -2: this open updates the time again
)

// openTimes is an open's part in the file's times.
type openTimes struct {
	userSet  uint8            // times this open does not update (set or suspended)
	kept     bool             // the FS leaves the times to this open (vfs.TimeKeeper)
	noted    bool             // the first modification was noted
	modified bool             // the file was modified through this open
	now      func() time.Time // the server's clock, for the stamp at close
}

// beforeModify runs before a WRITE or size change through o: the FS is
// told to leave the times to the server.
func (o *open) beforeModify() {
	if o.times.kept {
		return
	}
	if k, ok := o.f.(vfs.TimeKeeper); ok {
		k.KeepTimes()
		o.times.kept = true
	}
}

// modified notes a modification through o: the times are stamped at
// the first one.
func (o *open) modified(now func() time.Time) {
	o.times.modified, o.times.now = true, now
	if o.times.noted {
		return
	}
	o.times.noted = true
	o.stampTimes(now())
}

// closing stamps the times of a file modified through o as o closes (a
// durable open may close without a connection: the clock was kept).
func (o *open) closing() {
	if o.times.modified && o.f != nil {
		o.stampTimes(o.times.now())
	}
}

// stampTimes sets the last-write and change times to now, except those
// o does not update. Errors are not the client's: the data is written.
func (o *open) stampTimes(now time.Time) {
	if !o.times.kept {
		return // the FS updates the times itself
	}
	var set vfs.SetAttr
	if o.times.userSet&timeWrite == 0 {
		set.Write = &now
	}
	if o.times.userSet&timeChange == 0 {
		set.Change = &now
	}
	if set.Write != nil || set.Change != nil {
		_ = o.f.SetAttr(set)
	}
}

// basicTimes reads the four times of FILE_BASIC_INFORMATION into set and
// o's updating state. A time below -2 is refused ([MS-FSA] 2.1.5.14.2).
func basicTimes(o *open, d []byte, set *vfs.SetAttr) Status {
	dst := []**time.Time{&set.Birth, &set.Access, &set.Write, &set.Change}
	bits := []uint8{0, timeAccess, timeWrite, timeChange}
	userSet := o.times.userSet
	for i := range dst {
		v := le.Uint64(d[8*i:])
		switch {
		case v == timeKeep:
		case v == timeSuspend:
			userSet |= bits[i]
		case v == timeResume:
			userSet &^= bits[i]
		case int64(v) < 0:
			return StatusInvalidParameter
		default:
			t := fromFiletime(v)
			*dst[i] = &t
			userSet |= bits[i]
		}
	}
	o.times.userSet = userSet
	return StatusSuccess
}

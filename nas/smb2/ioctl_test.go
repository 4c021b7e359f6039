package smb2

import (
	"bytes"
	"testing"
)

// TestObjectID: FSCTL_CREATE_OR_GET_OBJECT_ID answers a 64-byte
// FILE_OBJECTID_BUFFER that is the same for every open of a file and
// differs between files ([MS-FSCC] 2.3.7; smbtorture smb2.compound
// related3 sends it in a create-ioctl-close chain); on a FileId that
// names no open, STATUS_FILE_CLOSED (related5).
func TestObjectID(t *testing.T) {
	env := startCloneEnv(t)
	writeFile(t, env.fs, "a", 10, 1)
	writeFile(t, env.fs, "b", 10, 2)
	c := dialTCP(t, env.addr, "data", testUser, testPass)
	get := func(name string) []byte {
		t.Helper()
		fid, st := c.create(name, accReadAttributes, dispOpen)
		if st != StatusSuccess {
			t.Fatal(st)
		}
		defer c.close(fid)
		st, out := c.ioctl(fid, fsctlCreateOrGetObjectID, nil, 64)
		if st != StatusSuccess || len(out) != 64 {
			t.Fatalf("object ID of %s: %v, %d bytes", name, st, len(out))
		}
		if !bytes.Equal(out[:16], out[32:48]) {
			t.Errorf("ObjectId %x, BirthObjectId %x", out[:16], out[32:48])
		}
		return out
	}
	a1, a2, b := get("a"), get("a"), get("b")
	if !bytes.Equal(a1, a2) {
		t.Errorf("two opens of a: %x and %x", a1, a2)
	}
	if bytes.Equal(a1[:16], b[:16]) {
		t.Errorf("a and b share the object ID %x", a1[:16])
	}
	if st, _ := c.ioctl(bytes.Repeat([]byte{0xff}, 16), fsctlCreateOrGetObjectID, nil, 64); st != StatusFileClosed {
		t.Errorf("on no open: %v, want STATUS_FILE_CLOSED", st)
	}
}

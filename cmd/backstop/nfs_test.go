package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// mnt3 sends a MOUNTv3 MNT of path with AUTH_SYS and returns its status.
func mnt3(t *testing.T, addr, path string) uint32 {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	u32 := func(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
	str := func(b []byte, s string) []byte {
		b = u32(b, uint32(len(s)))
		b = append(b, s...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	cred := str(u32(nil, 0), "client")
	cred = u32(u32(u32(cred, 0), 0), 0)                             // uid, gid, no groups
	msg := u32(u32(u32(u32(u32(u32(nil, 1), 0), 2), 100005), 3), 1) // xid, CALL, v2, MOUNT, v3, MNT
	msg = u32(msg, 1)                                               // AUTH_SYS
	msg = u32(msg, uint32(len(cred)))
	msg = append(msg, cred...)
	msg = u32(u32(msg, 0), 0)
	msg = str(msg, path)
	if _, err := c.Write(append(u32(nil, 0x80000000|uint32(len(msg))), msg...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		t.Fatal(err)
	}
	rep := make([]byte, binary.BigEndian.Uint32(hdr[:])&0x7fffffff)
	if _, err := io.ReadFull(br, rep); err != nil {
		t.Fatal(err)
	}
	// xid, REPLY, MSG_ACCEPTED, verifier (flavor, length 0), SUCCESS, status
	if len(rep) < 28 || binary.BigEndian.Uint32(rep[20:]) != 0 {
		t.Fatalf("MNT reply %x", rep)
	}
	return binary.BigEndian.Uint32(rep[24:])
}

// serve --nfs exports the shares an admin enables over REST, to the
// client networks given.
func TestServeNFS(t *testing.T) {
	a := serveSideDoorIn(t, filepath.Join(t.TempDir(), "data"), "--nfs", "127.0.0.1:0")
	if st := mnt3(t, a.nfs, "/backup"); st != 2 && st != 13 {
		t.Fatalf("MNT of a share not exported: %d", st)
	}
	if code, body := a.do(t, "admin", "PATCH", "/api/v1/shares/backup",
		map[string]any{"nfs": map[string]any{"enabled": true}}); code != http.StatusBadRequest {
		t.Fatalf("export without clients: %d %s", code, body)
	}
	if code, body := a.do(t, "admin", "PATCH", "/api/v1/shares/backup",
		map[string]any{"nfs": map[string]any{"enabled": true, "clients": []string{"127.0.0.0/8"}}}); code != http.StatusOK {
		t.Fatalf("enable the export: %d %s", code, body)
	}
	if st := mnt3(t, a.nfs, "/backup"); st != 0 {
		t.Fatalf("MNT of the exported share: %d", st)
	}
}

// Command vtlbench measures write and read throughput to a virtual tape
// drive over iSCSI with Backstop's Go initiator (vtl/iscsi/initiator):
// it discovers the portal's first target, finds its medium changer and
// first tape drive, loads a cartridge when the drive is empty, writes
// -mib MiB of pseudo-random data in -block byte variable-length records,
// writes a filemark, rewinds and reads everything back, checking it.
//
//	vtlbench -portal 127.0.0.1:3260 [-target IQN] [-mib 256] [-block 262144]
//
// It prints one line per direction: "go-initiator-write N MiB in T s = R MiB/s".
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/backstop-appliance/backstop/vtl/iscsi/initiator"
)

func main() {
	portal := flag.String("portal", "127.0.0.1:3260", "iSCSI portal")
	target := flag.String("target", "", "target name (default: the first one SendTargets lists)")
	mib := flag.Int("mib", 256, "MiB to write and read")
	block := flag.Int("block", 256<<10, "record size in bytes")
	name := flag.String("initiator", "iqn.2026-11.org.backstop:vtlbench", "initiator name")
	flag.Parse()
	if err := run(*portal, *target, *name, *mib, *block); err != nil {
		fmt.Fprintln(os.Stderr, "vtlbench:", err)
		os.Exit(1)
	}
}

func run(portal, target, name string, mib, block int) error {
	ctx := context.Background()
	if target == "" {
		d, err := initiator.Dial(ctx, portal, initiator.Config{InitiatorName: name})
		if err != nil {
			return fmt.Errorf("discovery: %w", err)
		}
		ts, err := d.SendTargets(ctx, "All")
		_ = d.Logout(ctx) // discovery is over; the targets are what matter
		if err != nil {
			return err
		}
		for t := range ts {
			if target == "" || t < target {
				target = t
			}
		}
		if target == "" {
			return errors.New("no targets")
		}
	}
	s, err := initiator.Dial(ctx, portal, initiator.Config{InitiatorName: name, TargetName: target,
		ImmediateData: true, MaxRecvDataSegmentLength: 262144, MaxBurstLength: 1 << 20, FirstBurstLength: 262144})
	if err != nil {
		return fmt.Errorf("login to %s: %w", target, err)
	}
	defer func() { _ = s.Logout(ctx) }() // the benchmark's figures are in
	changer, drive, err := findDevices(ctx, s)
	if err != nil {
		return err
	}
	unload, err := ensureLoaded(ctx, s, changer, drive)
	if err != nil {
		return err
	}
	defer func() {
		if unload != nil {
			if err := unload(); err != nil {
				fmt.Fprintln(os.Stderr, "vtlbench: unload:", err)
			}
		}
	}()
	cmd := func(lun uint64, cdb, out []byte, in int) (*initiator.Result, error) {
		r, err := command(ctx, s, lun, cdb, out, in)
		if err == nil && r.Status != 0 {
			err = fmt.Errorf("CDB % x: status %#x sense % x", cdb[:1], r.Status, r.Sense)
		}
		return r, err
	}
	if _, err := cmd(drive, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0); err != nil { // REWIND
		return err
	}
	n := mib << 20 / block
	rng := rand.NewChaCha8([32]byte{1})
	rec := make([]byte, block)
	sum := func(i int) []byte { // record i: pseudo-random, distinct
		binary.LittleEndian.PutUint64(rec, uint64(i))
		_, _ = rng.Read(rec[8:]) // ChaCha8's Read never fails
		return rec
	}
	w6 := []byte{0x0a, 0, byte(block >> 16), byte(block >> 8), byte(block), 0}
	t0 := time.Now()
	for i := range n {
		if _, err := cmd(drive, w6, sum(i), 0); err != nil {
			return fmt.Errorf("write record %d: %w", i, err)
		}
	}
	if _, err := cmd(drive, []byte{0x10, 0, 0, 0, 1, 0}, nil, 0); err != nil { // WRITE FILEMARKS
		return err
	}
	report("go-initiator-write", n*block, time.Since(t0))
	if _, err := cmd(drive, []byte{0x01, 0, 0, 0, 0, 0}, nil, 0); err != nil {
		return err
	}
	rng = rand.NewChaCha8([32]byte{1})
	r6 := []byte{0x08, 0, byte(block >> 16), byte(block >> 8), byte(block), 0}
	t0 = time.Now()
	for i := range n {
		r, err := cmd(drive, r6, nil, block)
		if err != nil {
			return fmt.Errorf("read record %d: %w", i, err)
		}
		if !bytes.Equal(r.Data, sum(i)) {
			return fmt.Errorf("record %d differs", i)
		}
	}
	report("go-initiator-read", n*block, time.Since(t0))
	return nil
}

func report(what string, bytes int, d time.Duration) {
	fmt.Printf("MEASURE %s %.1f MiB in %.2f s = %.1f MiB/s\n", what, float64(bytes)/(1<<20), d.Seconds(),
		float64(bytes)/(1<<20)/d.Seconds())
}

// command runs a CDB, repeating it after UNIT ATTENTION (a fresh nexus
// gets one per device).
func command(ctx context.Context, s *initiator.Session, lun uint64, cdb, out []byte, in int) (*initiator.Result, error) {
	for range 4 {
		r, err := s.Command(ctx, lun, cdb, out, in)
		if err != nil || r.Status != 2 || len(r.Sense) < 3 || r.Sense[2]&0xf != 6 {
			return r, err
		}
	}
	return s.Command(ctx, lun, cdb, out, in)
}

// findDevices returns the LUNs of the changer and the first tape drive.
func findDevices(ctx context.Context, s *initiator.Session) (changer, drive uint64, err error) {
	r, err := command(ctx, s, 0, []byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, nil, 4096)
	if err != nil || r.Status != 0 {
		return 0, 0, fmt.Errorf("REPORT LUNS: %v", err)
	}
	changer, drive = ^uint64(0), ^uint64(0)
	n := int(binary.BigEndian.Uint32(r.Data)) / 8
	for i := 0; i < n && 8+8*i+8 <= len(r.Data); i++ {
		lun := uint64(r.Data[8+8*i]&0x3f)<<8 | uint64(r.Data[8+8*i+1])
		q, err := command(ctx, s, lun, []byte{0x12, 0, 0, 0, 36, 0}, nil, 36)
		if err != nil || q.Status != 0 || len(q.Data) < 1 {
			continue
		}
		switch q.Data[0] & 0x1f {
		case 0x08:
			if changer == ^uint64(0) {
				changer = lun
			}
		case 0x01:
			if drive == ^uint64(0) {
				drive = lun
			}
		}
	}
	if drive == ^uint64(0) {
		return 0, 0, errors.New("no tape drive")
	}
	return changer, drive, nil
}

// ensureLoaded moves a cartridge from the first full slot into the
// drive when TEST UNIT READY says it has none, and returns the function
// that puts it back (nil when nothing was moved).
func ensureLoaded(ctx context.Context, s *initiator.Session, changer, drive uint64) (func() error, error) {
	for range 3 { // a unit attention or two after login
		r, err := command(ctx, s, drive, []byte{0, 0, 0, 0, 0, 0}, nil, 0)
		if err != nil {
			return nil, err
		}
		if r.Status == 0 {
			return nil, nil
		}
		if len(r.Sense) > 2 && r.Sense[2]&0xf == 0x02 { // NOT READY: no medium
			break
		}
	}
	if changer == ^uint64(0) {
		return nil, errors.New("drive empty and no changer")
	}
	// READ ELEMENT STATUS, all element types, with volume tags.
	r, err := command(ctx, s, changer, []byte{0xb8, 0x10, 0, 0, 0xff, 0xff, 0, 0x01, 0, 0, 0}, nil, 65535)
	if err != nil || r.Status != 0 {
		return nil, fmt.Errorf("READ ELEMENT STATUS: %v %+v", err, r)
	}
	var transport, slot, dte uint16
	var haveSlot, haveDTE bool
	d := r.Data
	for off := 8; off+8 <= len(d); {
		typ, descLen := d[off]&0x0f, int(binary.BigEndian.Uint16(d[off+2:]))
		pageLen := int(binary.BigEndian.Uint32(d[off+4:]) & 0xffffff)
		for e := off + 8; e+descLen <= off+8+pageLen && e+descLen <= len(d) && descLen > 2; e += descLen {
			addr, full := binary.BigEndian.Uint16(d[e:]), d[e+2]&1 != 0
			switch {
			case typ == 1 && transport == 0:
				transport = addr
			case typ == 2 && full && !haveSlot:
				slot, haveSlot = addr, true
			case typ == 4 && !full && !haveDTE:
				dte, haveDTE = addr, true
			}
		}
		off += 8 + pageLen
	}
	if !haveSlot || !haveDTE {
		return nil, errors.New("no full slot or empty drive in the changer")
	}
	cdb := []byte{0xa5, 0, byte(transport >> 8), byte(transport), byte(slot >> 8), byte(slot), byte(dte >> 8), byte(dte), 0, 0, 0, 0}
	m, err := command(ctx, s, changer, cdb, nil, 0)
	if err != nil || m.Status != 0 {
		return nil, fmt.Errorf("MOVE MEDIUM %d -> %d: %v %+v", slot, dte, err, m)
	}
	for range 5 {
		if r, err := command(ctx, s, drive, []byte{0, 0, 0, 0, 0, 0}, nil, 0); err == nil && r.Status == 0 {
			return func() error {
				_, _ = command(ctx, s, drive, []byte{0x1b, 0, 0, 0, 0, 0}, nil, 0) // UNLOAD; the move below fails if it did not
				back := []byte{0xa5, 0, byte(transport >> 8), byte(transport), byte(dte >> 8), byte(dte), byte(slot >> 8), byte(slot), 0, 0, 0, 0}
				m, err := command(ctx, s, changer, back, nil, 0)
				if err == nil && m.Status != 0 {
					err = fmt.Errorf("status %#x sense % x", m.Status, m.Sense)
				}
				return err
			}, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, errors.New("drive not ready after MOVE MEDIUM")
}

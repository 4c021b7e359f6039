package tape

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/vtl/cartridge"
	"github.com/backstop-appliance/backstop/vtl/scsi"
)

// crashRecord is record i of the crash test: 32 KiB that say who they are.
func crashRecord(i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("record %08d ", i)), 32<<10/16)
}

// TestHelperCrashWriter is the process the crash test kills: it writes
// files of 8 records through a drive, each closed by a filemark, and
// prints "ack N" once WRITE FILEMARKS returned GOOD (records 0..N-1 are
// acknowledged), then keeps writing records that are not.
func TestHelperCrashWriter(t *testing.T) {
	dir := os.Getenv("BACKSTOP_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestKilledMidWrite")
	}
	ctx := context.Background()
	o := chunkstore.DefaultOptions()
	o.Workers = 2
	eng, err := chunkstore.Open(ctx, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(eng, Options{Serial: "HUCRASH001"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Insert(ctx, &Medium{Barcode: "CRASH1L6", Store: "vtl", Options: cartridge.Options{Capacity: 1 << 30}}); err != nil {
		t.Fatal(err)
	}
	run := func(c []byte, data []byte) {
		r := d.Execute(ctx, &scsi.Command{CDB: c, Nexus: "W", DataOut: data})
		if r.Status != scsi.StatusGood && !(r.Status == scsi.StatusCheckCondition && r.Sense[2]&0x0f == 6) {
			fmt.Printf("fail % x\n", r.Sense)
			os.Exit(3)
		}
	}
	run([]byte{0, 0, 0, 0, 0, 0}, nil)
	for i := 0; ; i++ {
		run([]byte{0x0a, 0, 0, 0x80, 0, 0}, crashRecord(i))
		if i%8 == 7 {
			run([]byte{0x10, 0, 0, 0, 1, 0}, nil)
			fmt.Printf("ack %d\n", i+1)
		}
	}
}

// TestKilledMidWrite kills a writing process (SIGKILL) and checks that
// the cartridge reads back every acknowledged record and filemark, byte
// for byte, and that writing can go on from its end.
func TestKilledMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("make test-vtldev runs it")
	}
	ctx := context.Background()
	dir := t.TempDir()
	o := chunkstore.DefaultOptions()
	o.Workers = 2
	eng, err := chunkstore.Open(ctx, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateStore("vtl", chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	eng.Close()

	cmd := osexec.Command(os.Args[0], "-test.run=^TestHelperCrashWriter$", "-test.v")
	cmd.Env = append(os.Environ(), "BACKSTOP_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() && acked < 40 {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			acked, _ = strconv.Atoi(n)
		} else if strings.HasPrefix(line, "fail") {
			t.Fatal(line)
		}
	}
	// kill it while it streams the records of the next file
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < 40 {
		t.Fatalf("writer acknowledged only %d records", acked)
	}

	eng, err = chunkstore.Open(ctx, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	tp, err := cartridge.Open(ctx, eng, "vtl", "CRASH1L6", cartridge.Options{Capacity: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close(ctx)
	objs := tp.Map().Objects()
	if objs < uint64(acked+acked/8) {
		t.Fatalf("cartridge holds %d objects, %d records and %d filemarks were acknowledged", objs, acked, acked/8)
	}
	buf := make([]byte, 64<<10)
	for i := 0; i < acked; i++ {
		n, err := tp.Read(ctx, buf)
		if err != nil || !bytes.Equal(buf[:n], crashRecord(i)) {
			t.Fatalf("record %d: %d bytes, %v", i, n, err)
		}
		if i%8 == 7 {
			if _, err := tp.Read(ctx, buf); err != cartridge.ErrFilemark {
				t.Fatalf("after record %d: %v, want a filemark", i, err)
			}
		}
	}
	if err := tp.SpaceEOD(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tp.Write(ctx, []byte("after the crash")); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records acknowledged before the kill; the cartridge held %d objects", acked, objs)
}

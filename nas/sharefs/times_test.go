package sharefs

import (
	"context"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// TestTimesPersist: times outside unix nanoseconds' range (before 1678,
// after 2262) are stored in the wide inode format and survive a restart;
// a file whose times fit goes back to format 1.
func TestTimesPersist(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.writeFile("old.bin", []byte("data"))
	for _, when := range []time.Time{
		time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC),
		time.Date(30828, 9, 14, 2, 48, 5, 477580700, time.UTC),
		time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		set := vfs.SetAttr{Birth: &when, Access: &when, Write: &when, Change: &when}
		if err := e.fs.SetAttr(ctx, "old.bin", set); err != nil {
			t.Fatal(err)
		}
		e.restart()
		info, err := e.fs.Stat(ctx, "old.bin")
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []time.Time{info.Birth, info.Access, info.Write, info.Change} {
			if !got.Equal(when) {
				t.Errorf("set %v, after restart %v", when, got)
			}
		}
	}
	e.checkFile("old.bin", []byte("data"))
}

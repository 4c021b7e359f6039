package catalyst_test

// Adversarial tests of the access policy over Catalyst (issue 13): a
// share's, a tape library's and a replica's store are not reached over
// Catalyst except as the policy allows, whatever their (empty) client
// lists say.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/catalyst"
	"github.com/backstop-appliance/backstop/catalyst/client"
	"github.com/backstop-appliance/backstop/chunkstore"
)

// engineItem writes an item straight into the engine, as a share, a
// library or replication would.
func engineItem(t *testing.T, eng *chunkstore.Engine, store, name string, data []byte) {
	t.Helper()
	ctx := context.Background()
	if _, err := eng.CreateStore(store, chunkstore.DefaultDomain); err != nil {
		t.Fatal(err)
	}
	w, err := eng.Create(ctx, store, name, chunkstore.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCatalystSideDoors(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	data := testData(13, 64<<10)
	engineItem(t, f.eng, "nas.secret", "1.1", data)
	engineItem(t, f.eng, "vtl-lib", "A00001L8", data)
	engineItem(t, f.eng, "copy", "x", data)
	if _, err := f.eng.SetReplica("copy", true); err != nil {
		t.Fatal(err)
	}
	admin, op, ro := f.client(t, "admin", ""), f.client(t, "op", ""), f.client(t, "ro", "")
	get := func(c *client.Client, store, name string) error {
		_, _, err := c.Get(ctx, store, name, io.Discard, 0, 0)
		return err
	}
	put := func(c *client.Client, store, name string) error {
		_, err := c.Put(ctx, store, name, bytes.NewReader([]byte("replaced")), client.PutOptions{Replace: true})
		return err
	}
	copyOut := func(c *client.Client, store, name string) error {
		_, err := c.Copy(ctx, store, name, "default", "stolen", true)
		return err
	}
	copyIn := func(c *client.Client, store string) error {
		putBytes(t, c, "default", "mine", []byte("mine"), client.PutOptions{Replace: true})
		_, err := c.Copy(ctx, "default", "mine", store, "planted", true)
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want string // in the message
	}{
		{"ro gets a share's file", get(ro, "nas.secret", "1.1"), "share secret"},
		{"admin gets a share's file (list unknown: nobody)", get(admin, "nas.secret", "1.1"), "share secret"},
		{"op replaces a share's file", put(op, "nas.secret", "1.1"), "share secret"},
		{"op deletes a share's file", op.Delete(ctx, "nas.secret", "1.1"), "store nas.secret belongs to share secret; use the share"},
		{"admin deletes a share's file", admin.Delete(ctx, "nas.secret", "1.1"), "use the share"},
		{"op copies a share's file out", copyOut(op, "nas.secret", "1.1"), "share secret"},
		{"op copies into a share", copyIn(op, "nas.secret"), "use the share"},
		{"op gets a cartridge", get(op, "vtl-lib", "A00001L8"), "store vtl-lib belongs to tape library lib; use the library"},
		{"admin deletes a cartridge", admin.Delete(ctx, "vtl-lib", "A00001L8"), "use the library"},
		{"admin overwrites a cartridge", put(admin, "vtl-lib", "A00001L8"), "use the library"},
		{"admin deletes from a replica", admin.Delete(ctx, "copy", "x"), "replica"},
		{"op writes a replica", put(op, "copy", "x"), "replica"},
	} {
		if !errors.Is(tc.err, catalyst.ErrPermission) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want permission denied naming %q", tc.name, tc.err, tc.want)
		}
	}
	// What the policy allows still works: an admin reads a cartridge, a
	// user reads a replica; and nothing was changed.
	if got := getBytes(t, admin, "vtl-lib", "A00001L8", 0, 0); !bytes.Equal(got, data) {
		t.Fatal("admin cannot read a cartridge's item")
	}
	if got := getBytes(t, ro, "copy", "x", 0, 0); !bytes.Equal(got, data) {
		t.Fatal("ro cannot read a replica")
	}
	for _, s := range []string{"nas.secret", "vtl-lib"} {
		items, err := f.eng.ListItems(ctx, s, chunkstore.ListOptions{})
		if err != nil || len(items) != 1 || items[0].Size != int64(len(data)) {
			t.Fatalf("%s now holds %+v, %v", s, items, err)
		}
	}
	// The stores op may not read are not listed to op, nor their figures.
	stores, err := op.Stores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		if s.Name == "nas.secret" || s.Name == "vtl-lib" {
			t.Errorf("op sees store %s", s.Name)
		}
	}
}

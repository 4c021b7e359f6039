package sharefs

import (
	"context"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// PathOf walks from inode id up to the root (vfs.IDResolver). A file
// with several names answers its first name.
func (f *FS) PathOf(ctx context.Context, id uint64) (string, error) {
	var names []string
	err := f.db.View(func(txn *badger.Txn) error {
		n, err := getInode(txn, id)
		if err != nil {
			return err
		}
		if _, oerr := txn.Get(orphanKey(id)); oerr == nil {
			return fmt.Errorf("inode %d: removed: %w", id, vfs.ErrNotExist)
		}
		for depth := 0; n.ID != rootID; depth++ {
			if depth > 4096 || ctx.Err() != nil {
				return fmt.Errorf("inode %d: %w", id, vfs.ErrNotExist)
			}
			names = append(names, n.Name)
			if n, err = getInode(txn, n.Parent); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", wrap("path of", fmt.Sprint(id), err)
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	return strings.Join(names, "/"), nil
}

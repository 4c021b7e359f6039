package sharefs

import (
	"context"
	"errors"
	"path"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// NameItem tells which share keeps its files in store and which file
// item holds: its path in the share, with " (an older version)" when the
// file has a newer version since. ok is false for a store no online share
// owns, or an item that is no file's. It lets the appliance name damage by
// what users know.
func (m *Manager) NameItem(ctx context.Context, store, item string) (share, file string, ok bool) {
	m.mu.RLock()
	var fs *FS
	for _, s := range m.shares {
		if s.cfg.Store == store && s.fs != nil {
			share, fs = s.cfg.Name, s.fs
		}
	}
	m.mu.RUnlock()
	if fs == nil {
		return "", "", false
	}
	file, err := fs.itemPath(ctx, item)
	if err != nil {
		return "", "", false
	}
	return share, file, true
}

// errNoFile: an item name that is no file's.
var errNoFile = errors.New("sharefs: no file holds the item")

// itemPath is the path of the file whose data item (ID.VERSION in hex)
// is.
func (f *FS) itemPath(ctx context.Context, item string) (string, error) {
	idHex, verHex, ok := strings.Cut(item, ".")
	if !ok {
		return "", errNoFile
	}
	id, err1 := strconv.ParseUint(idHex, 16, 64)
	ver, err2 := strconv.ParseUint(verHex, 16, 64)
	if err1 != nil || err2 != nil {
		return "", errNoFile
	}
	var names []string
	older := false
	err := f.db.View(func(txn *badger.Txn) error {
		n, err := getInode(txn, id)
		if err != nil {
			return err
		}
		if n.Dir {
			return errNoFile
		}
		older = n.Version != ver
		for depth := 0; n.ID != rootID; depth++ {
			if depth > 4096 || ctx.Err() != nil {
				return errNoFile // a loop in damaged metadata, or given up
			}
			names = append(names, n.Name)
			if n, err = getInode(txn, n.Parent); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	p := path.Join(append([]string{"/"}, names...)...)
	if older {
		p += " (an older version)"
	}
	return p, nil
}

package smb2

import (
	"errors"
	"strings"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// fileLinkInformation: SET_INFO class 11, a hard link ([MS-FSCC]
// 2.4.21.2, [MS-FSA] 2.1.5.14.6): the open's file gets another name in
// the same share. On sharefs the names share the file's item, so a link
// copies no data.
const fileLinkInformation = 11

// StatusNotSameDevice: a link to another share (another volume).
const StatusNotSameDevice Status = 0xC00000D4

func (c *conn) link(o *open, d []byte) Status {
	replace := d[0] != 0
	// Laid out as FILE_RENAME_INFORMATION: ReplaceIfExists(1),
	// Reserved(7), RootDirectory(8), FileNameLength(4), FileName.
	n := int(le.Uint32(d[16:]))
	if n == 0 || n%2 != 0 || 20+n > len(d) || le.Uint64(d[8:]) != 0 {
		return StatusInvalidParameter
	}
	if o.isDir {
		return StatusFileIsADirectory
	}
	name, st := c.linkTarget(o, fromUTF16le(d[20:20+n]))
	if st != StatusSuccess {
		return st
	}
	target, st := sharePath(name, false)
	if st != StatusSuccess {
		return st
	}
	if target == "" {
		return StatusAccessDenied
	}
	fs := o.tree.share.FS
	lk, ok := fs.(vfs.Linker)
	if !ok {
		return StatusNotSupported
	}
	t := c.srv.files
	from := o.path(t)
	if info, err := fs.Stat(c.ctx, target); err == nil {
		switch {
		case info.ID == o.state.key.id:
			return StatusSuccess // already a name of this file
		case !replace:
			return StatusObjectNameCollision
		case info.IsDir || t.lookupState(fileKey{o.tree.share.Name, info.ID}) != nil:
			return StatusAccessDenied
		}
		if err := fs.Remove(c.ctx, target); err != nil {
			return statusOf(err)
		}
	} else if !errors.Is(err, vfs.ErrNotExist) {
		return StatusObjectPathNotFound
	}
	if err := lk.Link(c.ctx, from, target); err != nil {
		if errors.Is(err, vfs.ErrNotExist) {
			return StatusObjectPathNotFound
		}
		return statusOf(err)
	}
	t.changed(o.tree.share.Name, target)
	return StatusSuccess
}

// linkTarget turns the link's name into a share-relative path: a
// leading backslash (smbclient sends `\dir\name`) is the share's root; a
// full path naming this share (\\server\share\path) is its path there;
// one naming another share is STATUS_NOT_SAME_DEVICE, as Windows answers
// a link across volumes.
func (c *conn) linkTarget(o *open, name string) (string, Status) {
	if !strings.HasPrefix(name, `\\`) {
		return strings.TrimPrefix(name, `\`), StatusSuccess
	}
	parts := strings.SplitN(name[2:], `\`, 3)
	if len(parts) < 3 {
		return "", StatusObjectNameInvalid
	}
	if !strings.EqualFold(parts[1], o.tree.share.Name) {
		return "", StatusNotSameDevice
	}
	return parts[2], StatusSuccess
}

// Package nas serves shares to network clients: the SMB server is in
// nas/smb2, the share filesystem over chunkstore in nas/sharefs. This
// file is the contract between them: the SMB server asks a ShareSource
// for the share a client names and the user's right on it.
package nas

import (
	"context"
	"errors"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// ErrNoShare: no share of that name (the SMB server answers
// STATUS_BAD_NETWORK_NAME).
var ErrNoShare = errors.New("nas: no such share")

// Access is a user's right on a share.
type Access int

const (
	AccessNone Access = iota
	AccessRead
	AccessReadWrite
)

// Share is one share as the SMB server sees it for one user.
type Share struct {
	Name    string
	Comment string
	FS      vfs.FS
	Access  Access
	// EncryptData: the share requires SMB3 encryption (clients that
	// cannot encrypt are refused at tree connect).
	EncryptData bool
	// SignRequired: the share requires signed messages.
	SignRequired bool
}

// ShareSource resolves share names. Safe for concurrent use.
type ShareSource interface {
	// Share returns the share name as user sees it, or ErrNoShare.
	Share(ctx context.Context, name, user string) (Share, error)
	// Shares lists the shares user may see (for share enumeration).
	Shares(ctx context.Context, user string) ([]Share, error)
}

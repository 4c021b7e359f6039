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

// NFSExport is how a share is exported over NFS, the /etc/exports
// options users know. The zero value is not exported.
type NFSExport struct {
	// Enabled exports the share (at "/NAME").
	Enabled bool `json:"enabled"`
	// Clients are the networks (CIDR, or a single address) whose
	// clients may mount it; an enabled export needs at least one
	// ("0.0.0.0/0" and "::/0" for every client).
	Clients []string `json:"clients"`
	// ReadOnly refuses every change (NFS3ERR_ROFS), like "ro".
	ReadOnly bool `json:"read_only"`
	// RootSquash maps uid 0 to AnonUID, like "root_squash" (the
	// /etc/exports default).
	RootSquash bool `json:"root_squash"`
	// AnonUID and AnonGID own every file as NFS clients see it (shares
	// keep no POSIX owners) and are what root is mapped to; 0 means
	// 65534 ("nobody"), like "anonuid"/"anongid".
	AnonUID uint32 `json:"anon_uid"`
	AnonGID uint32 `json:"anon_gid"`
}

// Export is one share as the NFS server sees it.
type Export struct {
	Name string
	// Gen tells apart shares that had the same name at different times
	// (their file handles must not alias): it changes when a share is
	// deleted and created again.
	Gen uint64
	FS  vfs.FS
	NFS NFSExport
}

// ExportSource lists the shares exported over NFS. Safe for concurrent
// use.
type ExportSource interface {
	Exports(ctx context.Context) ([]Export, error)
}

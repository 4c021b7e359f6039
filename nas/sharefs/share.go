package sharefs

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// Errors of the share manager.
var (
	ErrShareExists  = errors.New("sharefs: share already exists")
	ErrInvalidShare = errors.New("sharefs: invalid share")
	// ErrDegraded: the share could not open and is not served (it is
	// vfs.ErrUnavailable for the SMB layer).
	ErrDegraded = fmt.Errorf("sharefs: share degraded: %w", vfs.ErrUnavailable)
)

// Access is a user's right on a share, as configured.
type Access string

const (
	AccessReadWrite Access = "read-write"
	AccessReadOnly  Access = "read-only"
	AccessNone      Access = "none"
)

func (a Access) valid() bool {
	return a == AccessReadWrite || a == AccessReadOnly || a == AccessNone
}

func (a Access) nas() nas.Access {
	switch a {
	case AccessReadWrite:
		return nas.AccessReadWrite
	case AccessReadOnly:
		return nas.AccessRead
	}
	return nas.AccessNone
}

// DefaultShare is created on first start.
const DefaultShare = "backup"

// StorePrefix names the store of share S "nas.S".
const StorePrefix = "nas."

// MaxShareName leaves room for StorePrefix in a store name.
const MaxShareName = 64 - len(StorePrefix)

// Share is a share's configuration, as kept in shares.json.
type Share struct {
	Name    string `json:"name"`
	Comment string `json:"comment,omitempty"`
	// Domain is the dedup domain of its store (created if new).
	Domain string `json:"domain"`
	// Store is the chunkstore store holding its files ("nas.NAME").
	Store string `json:"store"`
	// QuotaBytes bounds the sum of its file sizes; 0: no quota.
	QuotaBytes   int64 `json:"quota_bytes"`
	EncryptData  bool  `json:"encrypt_data"`
	SignRequired bool  `json:"sign_required"`
	// DefaultAccess is the right of users that Users does not name.
	DefaultAccess Access            `json:"default_access"`
	Users         map[string]Access `json:"users"`
	Created       time.Time         `json:"created"`
	// NFS is its NFS export (not exported unless enabled).
	NFS nas.NFSExport `json:"nfs"`
}

// Figures are a share's usage.
type Figures struct {
	Files        int64   `json:"files"`
	LogicalBytes int64   `json:"logical_bytes"`
	StoredBytes  int64   `json:"stored_bytes"`
	DedupRatio   float64 `json:"dedup_ratio"`
}

// Info is a share with its figures.
type Info struct {
	Share
	Figures
	// Degraded says why the share could not open (it is not served and
	// its figures are zero); empty when it is online.
	Degraded string `json:"degraded,omitempty"`
}

// Patch changes a share; nil fields stay.
type Patch struct {
	Comment       *string            `json:"comment"`
	QuotaBytes    *int64             `json:"quota_bytes"`
	EncryptData   *bool              `json:"encrypt_data"`
	SignRequired  *bool              `json:"sign_required"`
	DefaultAccess *Access            `json:"default_access"`
	Users         *map[string]Access `json:"users"`
	NFS           *nas.NFSExport     `json:"nfs"`
}

// ValidShareName reports whether name can name a share: a store name
// (letter or digit, then letters, digits, '.', '_', '-') short enough
// for its store's prefix.
func ValidShareName(name string) bool {
	return len(name) <= MaxShareName && chunkstore.ValidName(name)
}

func (s *Share) clone() Share {
	c := *s
	c.Users = make(map[string]Access, len(s.Users))
	for k, v := range s.Users {
		c.Users[k] = v
	}
	c.NFS.Clients = append([]string(nil), s.NFS.Clients...)
	return c
}

// validate checks a share's fields.
func (s *Share) validate() error {
	if !ValidShareName(s.Name) {
		return fmt.Errorf("%w: name %q: a letter or digit, then letters, digits, '.', '_', '-'; at most %d", ErrInvalidShare, s.Name, MaxShareName)
	}
	if !chunkstore.ValidName(s.Domain) {
		return fmt.Errorf("%w: domain name %q: letters, digits, '.', '_', '-'; at most 64", ErrInvalidShare, s.Domain)
	}
	if len(s.Comment) > 256 || strings.IndexFunc(s.Comment, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: comment: at most 256 characters, no control characters", ErrInvalidShare)
	}
	if s.QuotaBytes < 0 {
		return fmt.Errorf("%w: quota_bytes must be 0 (none) or positive", ErrInvalidShare)
	}
	if !s.DefaultAccess.valid() {
		return fmt.Errorf("%w: default_access %q: read-write, read-only or none", ErrInvalidShare, s.DefaultAccess)
	}
	for u, a := range s.Users {
		if u == "" || len(u) > 64 || strings.IndexFunc(u, unicode.IsControl) >= 0 {
			return fmt.Errorf("%w: user name %q", ErrInvalidShare, u)
		}
		if !a.valid() {
			return fmt.Errorf("%w: access %q of user %q: read-write, read-only or none", ErrInvalidShare, a, u)
		}
	}
	return validateNFS(s.NFS)
}

// access is user's right on the share. User names match
// case-insensitively, as SMB sends them.
func (s *Share) access(user string) Access {
	if a, ok := s.Users[user]; ok {
		return a
	}
	for u, a := range s.Users {
		if strings.EqualFold(u, user) {
			return a
		}
	}
	return s.DefaultAccess
}

// apply changes s by p.
func (p Patch) apply(s *Share) {
	if p.Comment != nil {
		s.Comment = *p.Comment
	}
	if p.QuotaBytes != nil {
		s.QuotaBytes = *p.QuotaBytes
	}
	if p.EncryptData != nil {
		s.EncryptData = *p.EncryptData
	}
	if p.SignRequired != nil {
		s.SignRequired = *p.SignRequired
	}
	if p.DefaultAccess != nil {
		s.DefaultAccess = *p.DefaultAccess
	}
	if p.Users != nil {
		s.Users = map[string]Access{}
		for k, v := range *p.Users {
			s.Users[k] = v
		}
	}
	if p.NFS != nil {
		s.NFS = *p.NFS
		s.NFS.Clients = append([]string(nil), p.NFS.Clients...)
	}
}

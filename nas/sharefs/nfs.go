package sharefs

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/backstop-appliance/backstop/nas"
)

var _ nas.ExportSource = (*Manager)(nil)

// validateNFS checks a share's NFS export options.
func validateNFS(n nas.NFSExport) error {
	if n.Enabled && len(n.Clients) == 0 {
		return fmt.Errorf("%w: nfs: an enabled export needs clients (networks such as 192.168.1.0/24, or 0.0.0.0/0 for every client)", ErrInvalidShare)
	}
	if len(n.Clients) > 64 {
		return fmt.Errorf("%w: nfs: at most 64 client networks", ErrInvalidShare)
	}
	for _, c := range n.Clients {
		if _, err := netip.ParsePrefix(c); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(c); err != nil {
			return fmt.Errorf("%w: nfs: client %q: a network (CIDR) or an address", ErrInvalidShare, c)
		}
	}
	return nil
}

// Exports lists the shares that are online and whose NFS export is
// enabled (nas.ExportSource). Gen is the share's creation time, so a
// share deleted and created again gets new file handles.
func (m *Manager) Exports(ctx context.Context) ([]nas.Export, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []nas.Export
	for _, name := range sortedKeys(m.shares) {
		s := m.shares[name]
		if !s.cfg.NFS.Enabled || s.fs == nil {
			continue
		}
		out = append(out, nas.Export{Name: s.cfg.Name, Gen: uint64(s.cfg.Created.UnixNano()), FS: s.fs,
			NFS: s.cfg.clone().NFS})
	}
	return out, nil
}

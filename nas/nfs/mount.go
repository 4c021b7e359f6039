package nfs

import (
	"context"
	"strings"
)

// MOUNTv3 (RFC 1813 appendix I).
const (
	mnt3OK     = 0
	mnt3NoEnt  = 2
	mnt3Access = 13
)

func (s *Server) mount(ctx context.Context, cl *call) reply {
	rep := reply{accept: acceptSuccess}
	w := &rep.body
	switch cl.proc {
	case 0, 3, 4: // NULL, UMNT, UMNTALL: nothing is kept per client
		if cl.proc == 3 {
			cl.args.str(1024)
		}
	case 1: // MNT
		path := cl.args.str(1024)
		if cl.args.err != nil {
			return reply{accept: acceptGarbageArgs}
		}
		e, ok := s.findExport(ctx, cl.client, path, 0)
		if !ok || path == "" || path == "/" {
			w.u32(mnt3Access)
			if !s.exists(ctx, path) {
				rep.body.b = rep.body.b[:0]
				w.u32(mnt3NoEnt)
			}
			return rep
		}
		w.u32(mnt3OK)
		w.opaque(makeHandle(e.id, rootFileID(ctx, e)))
		w.u32(1)
		w.u32(authSysFlavor)
	case 2: // DUMP: no list of mounts is kept
		w.bool(false)
	case 5: // EXPORT
		list, _ := s.exports.Exports(ctx)
		for _, e := range list {
			if !e.NFS.Enabled || !allowed(e.NFS, cl.client) {
				continue
			}
			w.bool(true)
			w.str("/" + e.Name)
			w.bool(false) // no groups: the client is allowed
		}
		w.bool(false)
	default:
		return reply{accept: acceptProcUnavail}
	}
	return rep
}

// exists reports whether an enabled export of that name exists (ACCES:
// the client is not in its networks) or not (NOENT, also for a share
// whose export is not enabled: its name is not disclosed).
func (s *Server) exists(ctx context.Context, path string) bool {
	list, _ := s.exports.Exports(ctx)
	name := strings.Trim(path, "/")
	for _, e := range list {
		if e.NFS.Enabled && strings.EqualFold(e.Name, name) {
			return true
		}
	}
	return false
}

// rootFileID is the ID of the export's root directory.
func rootFileID(ctx context.Context, e export) uint64 {
	if info, err := e.FS.Stat(ctx, ""); err == nil {
		return info.ID
	}
	return 0
}

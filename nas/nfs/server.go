package nfs

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/internal/netsvc"
	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/vfs"
)

// maxIO is the largest READ and WRITE the server offers (FSINFO rtmax,
// wtmax): 1 MiB, what the Linux client uses when offered.
const maxIO = 1 << 20

// Options configure a Server.
type Options struct {
	// Addr is host:port of NFS and MOUNT (both programs on one port, so
	// no rpcbind is needed: mount with port=P,mountport=P,mountproto=tcp).
	Addr string
	// Logger (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxInFlight bounds the calls run at once per connection (default
	// 16).
	MaxInFlight int
	// MaxCalls bounds the calls read or run at once in the server
	// (default 64): with records of at most 1 MiB, what clients can
	// make it hold is about 64 MiB.
	MaxCalls int
	// RecordTimeout is the time a call's record may take to arrive once
	// its first header did (default 30 s).
	RecordTimeout time.Duration
	// MaxConns and MaxConnsPerAddr bound the connections (default 256
	// and 32; the Linux client uses one per mount, nconnect more).
	MaxConns, MaxConnsPerAddr int
	// IdleClose closes (and so commits) a file no call used for this long
	// (default 30 s): the Linux client sends COMMIT at close and on
	// fsync, but a client that dies leaves files open otherwise.
	IdleClose time.Duration
	// MaxOpen bounds the files kept open between calls (default 256);
	// opening one more closes (commits) the least recently used.
	MaxOpen int
	// Verifier is the write verifier (default: random at each New, so a
	// restarted appliance tells clients to resend UNSTABLE writes).
	Verifier [8]byte
}

// DefaultOptions returns the defaults for addr.
func DefaultOptions(addr string) Options {
	o := Options{Addr: addr, Logger: slog.New(slog.DiscardHandler), Now: time.Now, MaxInFlight: 16,
		MaxCalls: 64, RecordTimeout: 30 * time.Second, MaxConns: 256, MaxConnsPerAddr: 32,
		IdleClose: 30 * time.Second, MaxOpen: 256}
	_, _ = rand.Read(o.Verifier[:])
	return o
}

// Server is the NFSv3 and MOUNTv3 server of the exported shares.
type Server struct {
	opts    Options
	exports nas.ExportSource
	loop    *netsvc.Server

	mu    sync.Mutex
	calls chan struct{} // MaxCalls places
	open  map[fileKey]*openFile
	lost  map[fileKey]error // a close that failed, for the next COMMIT
	stop  chan struct{}
	swept sync.WaitGroup
}

type fileKey struct {
	export uint64
	id     uint64
}

// openFile is a vfs.File kept open across calls: WRITEs land in it (an
// UNSTABLE write stays in sharefs's staging file) until COMMIT syncs it
// or it is idle for IdleClose.
type openFile struct {
	mu     sync.Mutex // serialises Sync and Close against writes
	f      vfs.File
	closed bool
	used   time.Time // guarded by Server.mu
}

// New makes a server of the shares exports lists.
func New(exports nas.ExportSource, opts Options) *Server {
	d := DefaultOptions(opts.Addr)
	if opts.Logger == nil {
		opts.Logger = d.Logger
	}
	if opts.Now == nil {
		opts.Now = d.Now
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = d.MaxInFlight
	}
	if opts.MaxCalls <= 0 {
		opts.MaxCalls = d.MaxCalls
	}
	if opts.RecordTimeout <= 0 {
		opts.RecordTimeout = d.RecordTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = d.MaxConns
	}
	if opts.MaxConnsPerAddr <= 0 {
		opts.MaxConnsPerAddr = d.MaxConnsPerAddr
	}
	if opts.IdleClose <= 0 {
		opts.IdleClose = d.IdleClose
	}
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = d.MaxOpen
	}
	if opts.Verifier == ([8]byte{}) {
		opts.Verifier = d.Verifier
	}
	s := &Server{opts: opts, exports: exports, calls: make(chan struct{}, opts.MaxCalls), open: map[fileKey]*openFile{}, lost: map[fileKey]error{}, stop: make(chan struct{})}
	lo := netsvc.DefaultOptions(opts.Addr)
	lo.Logger, lo.MaxConns, lo.MaxConnsPerAddr = opts.Logger, opts.MaxConns, opts.MaxConnsPerAddr
	s.loop = netsvc.New(s.serveConn, lo)
	return s
}

// Start listens and serves.
func (s *Server) Start(ctx context.Context) error {
	if err := s.loop.Start(ctx); err != nil {
		return err
	}
	s.swept.Add(1)
	go s.sweep()
	return nil
}

// Addr is the address listened on.
func (s *Server) Addr() string { return s.loop.Addr() }

// Verifier is the write verifier of this run.
func (s *Server) Verifier() [8]byte { return s.opts.Verifier }

// Shutdown stops serving and closes (commits) every open file.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.loop.Shutdown(ctx)
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.swept.Wait()
	s.mu.Lock()
	files := s.open
	s.open = map[fileKey]*openFile{}
	s.mu.Unlock()
	for k, of := range files {
		if cerr := s.closeFile(k, of); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}

// sweep closes files idle for IdleClose.
func (s *Server) sweep() {
	defer s.swept.Done()
	t := time.NewTicker(s.opts.IdleClose / 2)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		cut := s.opts.Now().Add(-s.opts.IdleClose)
		s.mu.Lock()
		idle := map[fileKey]*openFile{}
		for k, of := range s.open {
			if of.used.Before(cut) {
				idle[k] = of
				delete(s.open, k)
			}
		}
		s.mu.Unlock()
		for k, of := range idle {
			if err := s.closeFile(k, of); err != nil {
				s.opts.Logger.Warn("nfs: close of an idle file", "id", k.id, "err", err)
			}
		}
	}
}

// export is one export resolved for a call.
type export struct {
	nas.Export
	id  uint64
	ids vfs.IDResolver
}

// exportID names an export in file handles: a hash of its name (case
// folded) and generation.
func exportID(e nas.Export) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(strings.ToLower(e.Name)))
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], e.Gen)
	_, _ = h.Write(g[:])
	return h.Sum64()
}

// allowed reports whether addr is in one of the export's client networks.
func allowed(n nas.NFSExport, addr netip.Addr) bool {
	for _, c := range n.Clients {
		if p, err := netip.ParsePrefix(c); err == nil {
			if p.Contains(addr) {
				return true
			}
		} else if a, err := netip.ParseAddr(c); err == nil && a.Unmap() == addr {
			return true
		}
	}
	return false
}

// findExport returns the export a client may use, by name (path
// "/NAME" or "NAME") or by ID.
func (s *Server) findExport(ctx context.Context, client netip.Addr, name string, id uint64) (export, bool) {
	list, err := s.exports.Exports(ctx)
	if err != nil {
		return export{}, false
	}
	name = strings.Trim(name, "/")
	for _, e := range list {
		eid := exportID(e)
		if name != "" && !strings.EqualFold(e.Name, name) || name == "" && eid != id {
			continue
		}
		ids, ok := e.FS.(vfs.IDResolver)
		if !e.NFS.Enabled || !ok || !allowed(e.NFS, client) {
			return export{}, false
		}
		return export{Export: e, id: eid, ids: ids}, true
	}
	return export{}, false
}

// Handles: version byte, export ID, file ID.
const (
	handleVersion = 1
	handleLen     = 17
)

func makeHandle(export, id uint64) []byte {
	h := make([]byte, handleLen)
	h[0] = handleVersion
	binary.BigEndian.PutUint64(h[1:], export)
	binary.BigEndian.PutUint64(h[9:], id)
	return h
}

func parseHandle(h []byte) (export, id uint64, ok bool) {
	if len(h) != handleLen || h[0] != handleVersion {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(h[1:]), binary.BigEndian.Uint64(h[9:]), true
}

package nfs

import (
	"context"
	"errors"
	"fmt"

	"github.com/backstop-appliance/backstop/nas/vfs"
)

// errLostWrite: a file closed by the idle sweep failed to commit, so
// writes a client was told were UNSTABLE are lost; its next COMMIT says
// so (NFS3ERR_IO) instead of answering the verifier.
var errLostWrite = errors.New("nfs: uncommitted writes lost")

// withFile runs fn on the file's open vfs.File, opening it if no call
// has it open.
func (s *Server) withFile(ctx context.Context, t target, fn func(vfs.File) error) error {
	key := fileKey{t.e.id, t.id}
	for {
		of, err := s.openFile(ctx, t, key)
		if err != nil {
			return err
		}
		of.mu.Lock()
		if of.closed {
			of.mu.Unlock()
			continue // the sweep closed it in between
		}
		err = fn(of.f)
		of.mu.Unlock()
		return err
	}
}

func (s *Server) openFile(ctx context.Context, t target, key fileKey) (*openFile, error) {
	s.mu.Lock()
	of := s.open[key]
	if of != nil {
		of.used = s.opts.Now()
	}
	s.mu.Unlock()
	if of != nil {
		return of, nil
	}
	flag := vfs.OpenRead | vfs.OpenFile
	f, err := t.e.FS.Open(ctx, t.path, flag|vfs.OpenWrite)
	if t.e.NFS.ReadOnly || err != nil && !errors.Is(err, vfs.ErrIsDir) && !errors.Is(err, vfs.ErrNotExist) {
		if f != nil {
			_ = f.Close()
		}
		f, err = t.e.FS.Open(ctx, t.path, flag)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if other := s.open[key]; other != nil { // another call opened it meanwhile
		other.used = s.opts.Now()
		s.mu.Unlock()
		_ = f.Close()
		return other, nil
	}
	of = &openFile{f: f, used: s.opts.Now()}
	s.open[key] = of
	var oldKey fileKey
	var old *openFile
	if len(s.open) > s.opts.MaxOpen {
		for k, o := range s.open {
			if k != key && (old == nil || o.used.Before(old.used)) {
				oldKey, old = k, o
			}
		}
		delete(s.open, oldKey)
	}
	s.mu.Unlock()
	if old != nil {
		if err := s.closeFile(oldKey, old); err != nil {
			s.opts.Logger.Warn("nfs: close of the least recently used file", "id", oldKey.id, "err", err)
		}
	}
	return of, nil
}

// syncOpen commits what was written to the file, if a call has it
// open; a file no call has open was committed when it was closed.
func (s *Server) syncOpen(t target) error {
	key := fileKey{t.e.id, t.id}
	s.mu.Lock()
	of := s.open[key]
	lost := s.lost[key]
	delete(s.lost, key)
	s.mu.Unlock()
	if lost != nil {
		return fmt.Errorf("%w: %w", errLostWrite, lost)
	}
	if of == nil {
		return nil
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	if of.closed {
		return nil
	}
	return of.f.Sync()
}

// closeFile closes of (which commits it), noting a failure for the
// file's next COMMIT.
func (s *Server) closeFile(key fileKey, of *openFile) error {
	of.mu.Lock()
	defer of.mu.Unlock()
	if of.closed {
		return nil
	}
	of.closed = true
	err := of.f.Close()
	if err != nil {
		s.mu.Lock()
		s.lost[key] = err
		s.mu.Unlock()
	}
	return err
}

// forget closes the file if open (before REMOVE and RENAME over it).
func (s *Server) forget(key fileKey) {
	s.mu.Lock()
	of := s.open[key]
	delete(s.open, key)
	s.mu.Unlock()
	if of != nil {
		_ = s.closeFile(key, of)
	}
}

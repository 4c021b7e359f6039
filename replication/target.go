package replication

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/zeebo/blake3"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// digester computes an item's digest: BLAKE3 of its recipe (fingerprint
// and u32 length of every entry) then its metadata (key, 0, value, 0,
// sorted by key). Equal digests mean equal items in the same domain.
type digester struct {
	h *blake3.Hasher
	b [36]byte
}

func newDigester() *digester { return &digester{h: blake3.New()} }

func (d *digester) add(entries []dedup.RecipeEntry) {
	for _, en := range entries {
		copy(d.b[:], en.FP[:])
		binary.LittleEndian.PutUint32(d.b[32:], en.Len)
		d.h.Write(d.b[:])
	}
}

func (d *digester) sum(meta map[string]string) string {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d.h.Write([]byte{0xff})
	for _, k := range keys {
		d.h.Write([]byte(k))
		d.h.Write([]byte{0})
		d.h.Write([]byte(meta[k]))
		d.h.Write([]byte{0})
	}
	return hex.EncodeToString(d.h.Sum(nil)[:16])
}

// itemDigest reads an item's recipe for its digest.
func itemDigest(ctx context.Context, eng *chunkstore.Engine, store, name string) (chunkstore.Item, string, error) {
	rr, err := eng.OpenRecipe(ctx, store, name)
	if err != nil {
		return chunkstore.Item{}, "", err
	}
	defer rr.Close()
	d := newDigester()
	if err := rr.Segments(ctx, func(entries []dedup.RecipeEntry) error { d.add(entries); return nil }); err != nil {
		return chunkstore.Item{}, "", err
	}
	return rr.Item(), d.sum(rr.Item().Meta), nil
}

type digestKey struct {
	store, name string
	modified    time.Time
	size        int64
}

// cachedDigest is itemDigest remembered by the item's version.
func (s *Service) cachedDigest(ctx context.Context, store string, it chunkstore.Item) (string, error) {
	k := digestKey{store, it.Name, it.Modified, it.Size}
	s.mu.Lock()
	d, ok := s.digests[k]
	s.mu.Unlock()
	if ok {
		return d, nil
	}
	got, d, err := itemDigest(ctx, s.eng, store, it.Name)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if len(s.digests) > 1<<20 {
		clear(s.digests)
	}
	s.digests[digestKey{store, got.Name, got.Modified, got.Size}] = d
	s.mu.Unlock()
	return d, nil
}

// session is one source's connection to this (target) appliance.
type session struct {
	s     *Service
	fc    *frameConn
	peer  string // certificate fingerprint of the source
	store string
	im    *chunkstore.Importer
	name  string
	dig   *digester
	ents  []dedup.RecipeEntry
	out   []byte
	conn  net.Conn
	done  chan struct{} // closed when the session has ended
}

// serveConn runs the target side of one connection: at most
// Limits.MaxConns at once, the handshake (which refuses an unpaired
// certificate) within HandshakeTimeout, the hello within HelloTimeout.
func (s *Service) serveConn(ctx context.Context, raw net.Conn) {
	defer raw.Close()
	s.gate.accepted.Add(1)
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	tc, peer, err := s.handshake(raw)
	if err != nil {
		s.log.Info("replication: handshake failed", "peer", raw.RemoteAddr(), "err", err)
		return
	}
	fc := newFrameConn(tc)
	fc.grown = func(n int) { s.gate.frames.Add(int64(n)) }
	ss := &session{s: s, fc: fc, peer: peer, conn: raw, done: make(chan struct{})}
	defer func() {
		if ss.im != nil {
			ss.im.Abort()
		}
		s.mu.Lock()
		if s.sessions[ss.store] == ss {
			delete(s.sessions, ss.store)
		}
		s.mu.Unlock()
		close(ss.done)
	}()
	if err := ss.run(ctx); ctx.Err() == nil { // run ends only with an error
		s.log.Info("replication: source session ended", "peer", raw.RemoteAddr(), "store", ss.store, "err", err)
	}
}

func (ss *session) fail(code string, err error) error {
	// Best effort: the connection may be what failed; err is what we return.
	_ = ss.fc.sendJSON(msgErr, RemoteError{Code: code, Message: err.Error()})
	ss.fc.flush()
	return err
}

// failErr answers an engine error with its code.
func (ss *session) failErr(err error) error {
	code := codeInternal
	switch {
	case errors.Is(err, chunkstore.ErrFull):
		code = codeFull
	case errors.Is(err, chunkstore.ErrFingerprint), errors.Is(err, chunkstore.ErrMissingChunk):
		code = codeData
	case errors.Is(err, chunkstore.ErrBusy):
		code = codeBusy
	case errors.Is(err, chunkstore.ErrReadOnly), errors.Is(err, chunkstore.ErrImmutable):
		code = codeReadOnly
	case errors.Is(err, chunkstore.ErrInvalid), errors.Is(err, chunkstore.ErrNotFound):
		code = codeInvalid
	}
	return ss.fail(code, err)
}

func (ss *session) ok(v any) error {
	var err error
	if v == nil {
		err = ss.fc.send(msgOK, nil)
	} else {
		err = ss.fc.sendJSON(msgOK, v)
	}
	if err == nil {
		err = ss.fc.flush()
	}
	return err
}

// recv reads a frame, answering one over its type's size with an err
// frame before the connection ends.
func (ss *session) recv() (byte, []byte, error) {
	typ, body, err := ss.fc.recv()
	if errors.Is(err, ErrFrameSize) {
		return 0, nil, ss.fail(codeInvalid, err)
	}
	if tap := ss.s.gate.tap.Load(); err == nil && tap != nil {
		(*tap)(typ, body)
	}
	return typ, body, err
}

// hello reads the first frame, small and within HelloTimeout, and opens
// the replica it names.
func (ss *session) hello() error {
	lim := ss.s.opts.Limits
	ss.fc.limit = lim.beforeHello
	ss.conn.SetReadDeadline(time.Now().Add(lim.HelloTimeout))
	typ, body, err := ss.recv()
	if err != nil {
		return err
	}
	ss.conn.SetReadDeadline(time.Time{})
	ss.s.gate.hellos.Add(1)
	if typ != msgHello {
		return ss.fail(codeInvalid, fmt.Errorf("frame type %d before hello", typ))
	}
	var h hello
	if err := json.Unmarshal(body, &h); err != nil {
		return ss.fail(codeInvalid, fmt.Errorf("hello: %w", err))
	}
	if h.Version != protocolVersion {
		return ss.fail(codeInvalid, fmt.Errorf("protocol version %d (this appliance speaks %d)", h.Version, protocolVersion))
	}
	// Checked at the handshake too; the source may have been removed since.
	if !ss.s.trusted(ss.peer) {
		return ss.fail(codeDenied, fmt.Errorf("this appliance does not trust certificate %s: pair it as a replication source first", ss.peer))
	}
	if err := ss.s.openReplica(ss.peer, h); err != nil {
		code := codeReadOnly
		if errors.Is(err, ErrInvalid) || errors.Is(err, chunkstore.ErrInvalid) {
			code = codeInvalid
		}
		return ss.fail(code, err)
	}
	dom, err := ss.s.eng.StoreDomain(h.Store)
	if err != nil {
		return ss.failErr(err)
	}
	ss.fc.limit = lim.session(dom.Chunker)
	ss.store = h.Store
	return nil
}

func (ss *session) run(ctx context.Context) error {
	if err := ss.hello(); err != nil {
		return err
	}
	ss.s.takeOver(ss)
	if err := ss.ok(nil); err != nil {
		return err
	}
	for {
		typ, body, err := ss.recv()
		if err != nil {
			return err
		}
		if err := ss.handle(ctx, typ, body); err != nil {
			return err
		}
	}
}

func (ss *session) handle(ctx context.Context, typ byte, body []byte) error {
	s := ss.s
	switch typ {
	case msgList:
		items, err := s.eng.List(ctx, ss.store, "")
		if err != nil {
			return ss.failErr(err)
		}
		out := make([]listedItem, 0, len(items))
		for _, it := range items {
			d, err := s.cachedDigest(ctx, ss.store, it)
			if errors.Is(err, chunkstore.ErrNotFound) {
				continue // deleted meanwhile
			}
			if err != nil {
				return ss.failErr(err)
			}
			out = append(out, listedItem{Name: it.Name, Size: it.Size, Digest: d})
		}
		if err := ss.fc.sendJSON(msgListed, out); err != nil {
			return err
		}
		return ss.fc.flush()
	case msgBegin:
		var b begin
		if err := json.Unmarshal(body, &b); err != nil {
			return ss.fail(codeInvalid, err)
		}
		if ss.im != nil {
			ss.im.Abort()
			ss.im = nil
		}
		im, err := s.eng.ImportReplica(ctx, ss.store, b.Name, chunkstore.WriteOptions{Replace: true, Meta: b.Meta})
		if err != nil {
			return ss.failErr(err)
		}
		ss.im, ss.name, ss.dig = im, b.Name, newDigester()
		return ss.ok(nil)
	case msgRecipe:
		if ss.im == nil {
			return ss.fail(codeInvalid, errors.New("recipe outside an item"))
		}
		ents, err := decodeRecipe(ss.ents, body)
		if err != nil {
			return ss.fail(codeInvalid, err)
		}
		ss.ents = ents
		missing, err := ss.im.Append(ents)
		if err != nil {
			return ss.failErr(err)
		}
		ss.dig.add(ents)
		ss.out = encodeIndexes(ss.out, missing)
		if err := ss.fc.send(msgMissing, ss.out); err != nil {
			return err
		}
		return ss.fc.flush()
	case msgChunks:
		if ss.im == nil {
			return ss.fail(codeInvalid, errors.New("chunks outside an item"))
		}
		// A failed Put fails the importer: the next recipe or commit
		// answers with the error.
		err := ss.putChunks(body)
		if err != nil && !isEngineErr(err) {
			return ss.fail(codeInvalid, err)
		}
		return nil
	case msgCommit:
		if ss.im == nil {
			return ss.fail(codeInvalid, errors.New("commit outside an item"))
		}
		var c struct {
			Digest string            `json:"digest"`
			Meta   map[string]string `json:"meta"`
		}
		if err := json.Unmarshal(body, &c); err != nil {
			return ss.fail(codeInvalid, err)
		}
		im := ss.im
		ss.im = nil
		if d := ss.dig.sum(c.Meta); d != c.Digest {
			im.Abort()
			return ss.fail(codeData, fmt.Errorf("item %q: recipe digest %s received, %s announced", ss.name, d, c.Digest))
		}
		it, err := im.Commit(ctx)
		if err != nil {
			s.commitFailed(ss, err)
			return ss.failErr(err)
		}
		s.received(ss.store, it, c.Digest)
		return ss.ok(committed{Size: it.Size})
	case msgDelete:
		var b begin
		if err := json.Unmarshal(body, &b); err != nil {
			return ss.fail(codeInvalid, err)
		}
		err := s.eng.DeleteReplica(ctx, ss.store, b.Name)
		if err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
			return ss.failErr(err)
		}
		return ss.ok(nil)
	}
	return ss.fail(codeInvalid, fmt.Errorf("unexpected frame type %d", typ))
}

// putChunks checks the chunks of a frame in parallel (decompress and
// fingerprint), then adds them in order.
func (ss *session) putChunks(body []byte) error {
	type job struct {
		fp    dedup.Fingerprint
		codec container.Codec
		data  []byte
		raw   int
		res   chunkstore.Checked
	}
	var jobs []job
	err := eachChunk(body, func(fp dedup.Fingerprint, codec container.Codec, data []byte, raw int) error {
		jobs = append(jobs, job{fp: fp, codec: codec, data: data, raw: raw})
		return nil
	})
	if err != nil {
		return err
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(jobs); i += workers {
				j := &jobs[i]
				j.res = ss.im.Check(j.fp, j.codec, j.data, j.raw)
			}
		}()
	}
	wg.Wait()
	for i := range jobs {
		if err := ss.im.PutChecked(jobs[i].res); err != nil {
			return err
		}
	}
	return nil
}

func isEngineErr(err error) bool {
	for _, e := range []error{chunkstore.ErrFingerprint, chunkstore.ErrFull, chunkstore.ErrInvalid,
		chunkstore.ErrCorrupt, chunkstore.ErrClosed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// commitFailed logs and counts an item of ss that the engine failed to
// commit; the source hears of it in the err frame failErr sends, keeps
// the item out of its journal and sends it again in a later pass.
func (s *Service) commitFailed(ss *session, err error) {
	reason := dedup.Reason(err)
	s.log.Error("replication: item not stored, the source is told", "store", ss.store, "item", ss.name,
		"reason", reason, "err", err)
	if s.opts.Failures != nil {
		s.opts.Failures.CommitFailed("replication", reason)
	}
}

// takeOver makes ss the session of its store. A source runs one session
// per mapping: an older one is a connection cut on the source's side that
// this side has not noticed yet. It is closed, and its import aborted
// (keeping the chunks it received), before ss goes on.
func (s *Service) takeOver(ss *session) {
	s.mu.Lock()
	old := s.sessions[ss.store]
	s.sessions[ss.store] = ss
	s.mu.Unlock()
	if old != nil {
		old.conn.Close()
		<-old.done
	}
}

// received notes a committed item of a replica.
func (s *Service) received(store string, it chunkstore.Item, digest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.digests[digestKey{store, it.Name, it.Modified, it.Size}] = digest
	for i := range s.cfg.Replicas {
		if r := &s.cfg.Replicas[i]; r.Store == store {
			r.LastReceived = s.now().UTC()
			r.ItemsReceived++
		}
	}
	s.dirty = true
}

// openReplica checks (or makes) the target store of a hello: a replica
// store bound to this source, in a domain with the source's key. A new
// one goes in the domain that holds that key, made if need be: sources
// that share a key (fan-in) share the replica domain, and nothing of the
// target's other domains is reachable.
func (s *Service) openReplica(peer string, h hello) error {
	if !chunkstore.ValidName(h.Store) {
		return fmt.Errorf("%w: store name %q", ErrInvalid, h.Store)
	}
	if appliance.Reserved(h.Store) {
		// A share's or library's store: a source must not create or
		// write one (its source-side check can be skipped by any peer).
		return fmt.Errorf("%w: store %q is a share's or tape library's", ErrInvalid, h.Store)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var rec *Replica
	for i := range s.cfg.Replicas {
		if s.cfg.Replicas[i].Store == h.Store {
			rec = &s.cfg.Replicas[i]
		}
	}
	_, existed := s.eng.Store(h.Store)
	if err := replicaStore(s.eng, h.Store, h.DomainKey, h.Chunker); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	dom, err := s.eng.StoreDomain(h.Store)
	if err != nil {
		return err
	}
	if existed != nil {
		s.opts.State.Record(appliance.Event{Kind: appliance.KindSystem, Level: appliance.LevelInfo, Action: "replication.replica.create",
			Object: h.Store, Message: fmt.Sprintf("replica store %s created in domain %s for %s (store %s) of source %s", h.Store, dom.Name, h.Source, h.SourceStore, short(peer))})
	}
	if rec != nil && rec.SourceFingerprint != "" && rec.SourceFingerprint != peer {
		return fmt.Errorf("store %q of the target is the replica of another source (%s)", h.Store, short(rec.SourceFingerprint))
	}
	if rec == nil {
		s.cfg.Replicas = append(s.cfg.Replicas, Replica{Store: h.Store, Created: s.now().UTC()})
		rec = &s.cfg.Replicas[len(s.cfg.Replicas)-1]
	}
	rec.SourceFingerprint, rec.Mapping, rec.SourceStore, rec.Domain, rec.Promoted = peer, h.Source, h.SourceStore, dom.Name, false
	return s.saveLocked()
}

func short(fp string) string {
	if len(fp) > 16 {
		return fp[:16]
	}
	return fp
}

package replication

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/dedup"
)

// Sync runs one pass of a mapping now: it sends the items that are new or
// changed since the target last acknowledged them, and the deletions.
// A pass that fails leaves the target with every item either whole in its
// new version or as it was; the next pass resumes, and chunks the target
// received before the failure are not sent again.
func (s *Service) Sync(ctx context.Context, name string) error {
	s.mu.Lock()
	r, ok := s.runs[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: mapping %q", ErrNotFound, name)
	}
	select {
	case <-r.pass:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stop:
		return fmt.Errorf("%w: mapping %q", ErrNotFound, name)
	}
	defer func() { r.pass <- struct{}{} }()
	s.mu.Lock()
	failing := r.state == "error" // the pass before failed
	s.mu.Unlock()
	s.setState(name, "running")
	start := s.now()
	p := &pass{s: s, name: name, r: r}
	err := p.run(ctx)
	if p.conn != nil {
		p.stop()
		p.conn.Close()
	}
	dur := s.now().Sub(start)
	wire := p.sent.Load() + p.recvd.Load()

	p.endTask(err, errors.Is(err, ErrBlackout), failing)

	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.journalLocked(name)
	j.WireBytes += wire
	r.lastBytes, r.lastWire, r.lastDur = p.logical, wire, dur
	switch {
	case err == nil:
		r.state, r.needList = "idle", false
		j.LastSuccess = s.now().UTC()
	case errors.Is(err, ErrBlackout):
		r.state = "blackout"
	default:
		r.state, r.needList = "error", true
		r.lastError, r.lastErrorAt = err.Error(), s.now().UTC()
		r.errors++
		s.log.Warn("replication: pass failed", "mapping", name, "err", err)
	}
	if serr := s.saveJournalLocked(name); err == nil {
		err = serr
	}
	return err
}

// pass is one connection's worth of replication.
type pass struct {
	s           *Service
	name        string
	r           *run
	m           Mapping
	fc          *frameConn
	conn        net.Conn
	stop        func() bool
	sent, recvd atomic.Int64
	logical     int64
	rbuf, cbuf  []byte
	task        passTask
}

func (p *pass) run(ctx context.Context) error {
	s := p.s
	m, err := s.Mapping(p.name)
	if err != nil {
		return err
	}
	p.m = m
	if m.Reversed {
		return fmt.Errorf("%w: mapping %q is reversed", ErrState, m.Name)
	}
	if info, err := s.eng.Store(m.SourceStore); err != nil {
		return err
	} else if info.Replica {
		return fmt.Errorf("%w: source store %q is a read-only replica", ErrState, m.SourceStore)
	}
	dom, err := s.eng.StoreDomain(m.SourceStore)
	if err != nil {
		return err
	}
	if err := p.dial(ctx); err != nil {
		return err
	}
	h := hello{Version: protocolVersion, Source: m.Name, SourceStore: m.SourceStore, Store: m.TargetStore,
		DomainName: dom.Name, DomainKey: dom.Key, Chunker: dom.Chunker}
	if err := p.fc.call(msgHello, h, msgOK, nil); err != nil {
		return asDenied(err, s.self)
	}
	items, err := s.eng.ListItems(ctx, m.SourceStore, chunkstore.ListOptions{Prefix: m.Filter})
	if err != nil {
		return err
	}
	s.mu.Lock()
	needList := p.r.needList
	s.mu.Unlock()
	send, del, err := p.plan(ctx, items, needList)
	if err != nil {
		return err
	}
	p.beginTask(send, del)
	for _, name := range del {
		if err := p.checkBlackout(); err != nil {
			return err
		}
		if err := p.fc.call(msgDelete, begin{Name: name}, msgOK, nil); err != nil {
			return fmt.Errorf("delete %q: %w", name, err)
		}
		// The delete succeeded; a journal that failed to save it does not
		// fail the pass (as before: this refactor changes no behaviour).
		_ = p.record(name, nil, func(j *journal) { j.ItemsDeleted++ })
		p.stepTask("deleted", name)
	}
	for _, it := range send {
		if err := p.checkBlackout(); err != nil {
			return err
		}
		if err := p.sendItem(ctx, it); err != nil {
			return fmt.Errorf("item %q: %w", it.Name, err)
		}
		p.stepTask("sent", it.Name)
	}
	return nil
}

func (p *pass) checkBlackout() error {
	if p.s.opts.State.Settings().InBlackout(p.s.now()) {
		return ErrBlackout
	}
	return nil
}

// dial connects to the target, metered and paced, and checks its
// certificate.
func (p *pass) dial(ctx context.Context) error {
	s := p.s
	d := net.Dialer{Timeout: s.opts.DialTimeout}
	raw, err := d.DialContext(ctx, "tcp", p.m.Target)
	if err != nil {
		return fmt.Errorf("replication: connect to %s: %w", p.m.Target, err)
	}
	limits := []*bucket{s.limit}
	if p.m.LimitBytesPerSec > 0 {
		limits = append(limits, newBucket(p.m.LimitBytesPerSec, s.now))
	}
	mc := &meteredConn{Conn: raw, limits: limits, sent: &p.sent, recvd: &p.recvd, sleep: time.Sleep, sendPieceLen: 16 << 10}
	tc := tls.Client(mc, s.clientTLS(p.m.TargetFingerprint))
	hctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		raw.Close()
		return fmt.Errorf("replication: TLS with %s: %w", p.m.Target, err)
	}
	p.conn, p.stop = raw, context.AfterFunc(ctx, func() { raw.Close() })
	p.fc = newFrameConn(tc)
	lim := s.opts.Limits
	p.fc.limit = func(byte) int { return lim.MaxFrame }
	return nil
}

// plan splits the source items into those to send and the names to
// delete on the target: by the journal, or, after a failure, by the
// target's own listing (digests compared).
func (p *pass) plan(ctx context.Context, items []chunkstore.Item, needList bool) (send []chunkstore.Item, del []string, err error) {
	s := p.s
	have := make(map[string]bool, len(items))
	for _, it := range items {
		have[it.Name] = true
	}
	if !needList {
		s.mu.Lock()
		j := s.journalLocked(p.name)
		for _, it := range items {
			if e, ok := j.Items[it.Name]; !ok || !e.is(it) {
				send = append(send, it)
			}
		}
		for n := range j.Items {
			if !have[n] {
				del = append(del, n)
			}
		}
		s.mu.Unlock()
		return send, del, nil
	}
	var listed []listedItem
	if err := p.fc.call(msgList, struct{}{}, msgListed, &listed); err != nil {
		return nil, nil, err
	}
	target := make(map[string]listedItem, len(listed))
	for _, t := range listed {
		target[t.Name] = t
		if !have[t.Name] {
			del = append(del, t.Name)
		}
	}
	fresh := map[string]journalEntry{}
	for _, it := range items {
		t, ok := target[it.Name]
		if !ok || t.Size != it.Size {
			send = append(send, it)
			continue
		}
		d, err := s.cachedDigest(ctx, p.m.SourceStore, it)
		if errors.Is(err, chunkstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if d != t.Digest {
			send = append(send, it)
			continue
		}
		fresh[it.Name] = journalEntry{Size: it.Size, Modified: it.Modified, Digest: d, At: s.now().UTC()}
	}
	s.mu.Lock()
	j := s.journalLocked(p.name)
	j.Items = fresh
	err = s.saveJournalLocked(p.name)
	s.mu.Unlock()
	return send, del, err
}

// record updates the journal for item name (nil e: gone) and saves it.
func (p *pass) record(name string, e *journalEntry, f func(*journal)) error {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.journalLocked(p.name)
	if e == nil {
		delete(j.Items, name)
	} else {
		j.Items[name] = *e
	}
	f(j)
	return s.saveJournalLocked(p.name)
}

// sendItem replicates one item: its recipe a segment at a time, the
// chunks the target lacks as stored, then the commit.
func (p *pass) sendItem(ctx context.Context, it chunkstore.Item) error {
	s := p.s
	rr, err := s.eng.OpenRecipe(ctx, p.m.SourceStore, it.Name)
	if errors.Is(err, chunkstore.ErrNotFound) {
		return nil // deleted meanwhile: the next pass replicates that
	}
	if err != nil {
		return err
	}
	defer rr.Close()
	it = rr.Item()
	if err := p.fc.call(msgBegin, begin{Name: it.Name, Size: it.Size, Meta: it.Meta}, msgOK, nil); err != nil {
		return err
	}
	d := newDigester()
	var chunks, stored int64
	err = rr.Segments(ctx, func(entries []dedup.RecipeEntry) error {
		if err := p.checkBlackout(); err != nil {
			return err
		}
		d.add(entries)
		p.rbuf = encodeRecipe(p.rbuf, entries)
		var mb []byte
		if err := p.fc.call(msgRecipe, p.rbuf, msgMissing, &mb); err != nil {
			return err
		}
		missing, err := decodeIndexes(mb, len(entries))
		if err != nil {
			return err
		}
		p.cbuf = p.cbuf[:0]
		for _, k := range missing {
			st, err := rr.Chunk(entries[k].FP, entries[k].Len)
			if err != nil {
				return err
			}
			p.cbuf = appendChunk(p.cbuf, entries[k].FP, st.Codec, st.Raw, st.Data)
			chunks++
			stored += int64(len(st.Data))
			if len(p.cbuf) >= chunksFrame {
				if err := p.fc.send(msgChunks, p.cbuf); err != nil {
					return err
				}
				p.cbuf = p.cbuf[:0]
			}
		}
		if len(p.cbuf) > 0 {
			return p.fc.send(msgChunks, p.cbuf)
		}
		return nil
	})
	if err != nil {
		return err
	}
	digest := d.sum(it.Meta)
	commit := struct {
		Digest string            `json:"digest"`
		Meta   map[string]string `json:"meta"`
	}{digest, it.Meta}
	if err := p.fc.call(msgCommit, commit, msgOK, nil); err != nil {
		return err
	}
	p.logical += it.Size
	e := journalEntry{Size: it.Size, Modified: it.Modified, Digest: digest, At: s.now().UTC()}
	return p.record(it.Name, &e, func(j *journal) {
		j.ItemsSent++
		j.LogicalBytes += it.Size
		j.ChunksSent += chunks
		j.StoredSent += stored
	})
}

package catalyst

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

// maxEntries bounds the recipe entries of one Entries message.
const maxEntries = 1 << 16

// Put implements the put stream (see the package doc).
func (s *Server) Put(stream catalystpb.Catalyst_PutServer) error {
	s.t.active.Add(1)
	defer s.t.active.Add(-1)
	err := s.put(stream)
	if err != nil {
		s.t.putsFailed.Add(1)
		if !errors.Is(err, io.EOF) && !errors.Is(err, errCommitReported) {
			s.log.Info("catalyst put failed", "user", userFrom(stream.Context()).Name, "err", err)
		}
	}
	return toStatus(err)
}

// putState is one put stream's side of the server.
type putState struct {
	s        *Server
	stream   catalystpb.Catalyst_PutServer
	received int64
	chunks   int64
}

func (p *putState) recv() (*catalystpb.PutRequest, error) {
	req, err := p.stream.Recv()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the stream ended before commit; the item was not stored", ErrProtocol)
	}
	if err != nil {
		return nil, err
	}
	n := int64(proto.Size(req))
	p.received += n
	p.s.t.in.Add(n)
	return req, nil
}

func (p *putState) send(resp *catalystpb.PutResponse) error {
	p.s.t.out.Add(int64(proto.Size(resp)))
	return p.stream.Send(resp)
}

func (s *Server) put(stream catalystpb.Catalyst_PutServer) error {
	ctx := stream.Context()
	p := &putState{s: s, stream: stream}
	req, err := p.recv()
	if err != nil {
		return err
	}
	begin := req.GetBegin()
	if begin == nil {
		return fmt.Errorf("%w: a put starts with begin", ErrProtocol)
	}
	info, err := s.allowed(ctx, begin.GetStore(), true)
	if err != nil {
		return err
	}
	mode := begin.GetTransfer()
	if mode == catalystpb.Transfer_TRANSFER_UNSPECIFIED {
		mode = catalystpb.TransferPB(info.Transfer)
	}
	if mode != catalystpb.TransferPB(info.Transfer) {
		return fmt.Errorf("%w: store %q has the %s bandwidth transfer policy", chunkstore.ErrInvalid, info.Name, info.Transfer)
	}
	opts := chunkstore.WriteOptions{Replace: begin.GetReplace(), Meta: begin.GetMeta()}
	if mode == catalystpb.Transfer_TRANSFER_HIGH {
		return p.high(info.Name, begin.GetName(), opts)
	}
	return p.low(info.Name, begin.GetName(), opts)
}

// checkJob is a received chunk being checked by a worker.
type checkJob struct {
	chunk decodedChunk
	res   chunkstore.Checked
	done  chan struct{}
}

// Chunk checks run on checkWorkers goroutines per stream; at most
// checkAhead received chunks wait to be added.
const checkAhead = 32

var checkWorkers = min(runtime.GOMAXPROCS(0), 4)

func (p *putState) low(store, name string, opts chunkstore.WriteOptions) error {
	ctx := p.stream.Context()
	im, err := p.s.eng.Import(ctx, store, name, opts)
	if err != nil {
		return err
	}
	// Chunks are decoded and hashed by workers while this goroutine goes
	// on receiving; it alone calls the importer, in stream order.
	jobs := make(chan *checkJob, checkAhead/2)
	var workers sync.WaitGroup
	for range checkWorkers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				c := j.chunk
				j.res = im.Check(c.fp, c.codec, c.data, c.raw)
				close(j.done)
			}
		}()
	}
	committed := false
	defer func() {
		close(jobs)
		workers.Wait()
		if !committed {
			im.Abort()
		}
	}()
	var pending []*checkJob
	// settle adds checked chunks in order until at most n wait.
	settle := func(n int) error {
		for len(pending) > n {
			j := pending[0]
			<-j.done
			pending = pending[1:]
			if err := im.PutChecked(j.res); err != nil {
				if clientFault(err) {
					return err
				}
				return p.commitFailed(store, name, err)
			}
			p.chunks++
			p.s.t.chunks.Add(1)
		}
		return nil
	}
	if err := p.send(&catalystpb.PutResponse{Msg: &catalystpb.PutResponse_Ready{Ready: &catalystpb.PutReady{Transfer: catalystpb.Transfer_TRANSFER_LOW}}}); err != nil {
		return err
	}
	var entries []dedup.RecipeEntry
	for {
		req, err := p.recv()
		if err != nil {
			return err
		}
		switch m := req.Msg.(type) {
		case *catalystpb.PutRequest_Entries:
			if err := settle(0); err != nil {
				return err
			}
			if entries, err = decodeEntries(m.Entries, entries[:0]); err != nil {
				return err
			}
			missing, err := im.Append(entries)
			if err != nil {
				return err
			}
			p.s.t.known.Add(int64(len(entries) - len(missing)))
			idx := make([]uint32, len(missing))
			for i, k := range missing {
				idx[i] = uint32(k)
			}
			if err := p.send(&catalystpb.PutResponse{Msg: &catalystpb.PutResponse_Missing{Missing: &catalystpb.Missing{Seq: m.Entries.GetSeq(), Index: idx}}}); err != nil {
				return err
			}
		case *catalystpb.PutRequest_Chunk:
			c, err := decodeChunk(m.Chunk)
			if err != nil {
				return err
			}
			j := &checkJob{chunk: c, done: make(chan struct{})}
			jobs <- j
			pending = append(pending, j)
			if err := settle(checkAhead); err != nil {
				return err
			}
		case *catalystpb.PutRequest_Commit:
			if err := settle(0); err != nil {
				return err
			}
			if got := im.Progress().Bytes; got != m.Commit.GetSize() {
				return fmt.Errorf("%w: the recipe holds %d bytes, commit says %d", chunkstore.ErrInvalid, got, m.Commit.GetSize())
			}
			it, err := im.Commit(ctx)
			committed = true // Commit ends the import either way
			if err != nil {
				return p.commitFailed(store, name, err)
			}
			p.s.t.putsLow.Add(1)
			return p.committed(it)
		default:
			return fmt.Errorf("%w: %T in a low bandwidth put", ErrProtocol, req.Msg)
		}
	}
}

func decodeEntries(m *catalystpb.Entries, dst []dedup.RecipeEntry) ([]dedup.RecipeEntry, error) {
	fps, lens := m.GetFps(), m.GetLens()
	if len(fps) != 32*len(lens) || len(lens) > maxEntries {
		return nil, fmt.Errorf("%w: entries with %d fingerprint bytes and %d lengths (at most %d)", ErrProtocol, len(fps), len(lens), maxEntries)
	}
	for i, n := range lens {
		var en dedup.RecipeEntry
		copy(en.FP[:], fps[32*i:])
		en.Len = n
		dst = append(dst, en)
	}
	return dst, nil
}

// decodedChunk is a chunk message's fields as the importer takes them.
type decodedChunk struct {
	fp    dedup.Fingerprint
	codec container.Codec
	data  []byte
	raw   int
}

// decodeChunk reads a chunk message from a client. The importer checks
// the rest (codec known, lengths in the domain's bounds, fingerprint).
func decodeChunk(m *catalystpb.Chunk) (decodedChunk, error) {
	var c decodedChunk
	if len(m.GetFp()) != len(c.fp) {
		return c, fmt.Errorf("%w: fingerprint of %d bytes", ErrProtocol, len(m.GetFp()))
	}
	copy(c.fp[:], m.GetFp())
	// The enum is an int32 on the wire; a codec is a byte. Converting
	// 258 would make it 2 (zstd); corpus entry codec-258 of
	// FuzzPutRequest.
	if codec := m.GetCodec(); codec < 0 || codec > math.MaxUint8 {
		return c, fmt.Errorf("%w: codec %d", ErrProtocol, codec)
	}
	c.codec, c.data, c.raw = container.Codec(m.GetCodec()), m.GetData(), int(m.GetRawLen())
	return c, nil
}

func (p *putState) high(store, name string, opts chunkstore.WriteOptions) error {
	ctx := p.stream.Context()
	w, err := p.s.eng.Create(ctx, store, name, opts)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			w.Abort()
		}
	}()
	if err := p.send(&catalystpb.PutResponse{Msg: &catalystpb.PutResponse_Ready{Ready: &catalystpb.PutReady{Transfer: catalystpb.Transfer_TRANSFER_HIGH}}}); err != nil {
		return err
	}
	var n int64
	for {
		req, err := p.recv()
		if err != nil {
			return err
		}
		switch m := req.Msg.(type) {
		case *catalystpb.PutRequest_Data:
			k, err := w.Write(m.Data)
			n += int64(k)
			if err != nil {
				return p.commitFailed(store, name, err)
			}
		case *catalystpb.PutRequest_Commit:
			if n != m.Commit.GetSize() {
				return fmt.Errorf("%w: %d bytes arrived, commit says %d", chunkstore.ErrInvalid, n, m.Commit.GetSize())
			}
			it, err := w.Commit(ctx)
			committed = true
			if err != nil {
				return p.commitFailed(store, name, err)
			}
			p.s.t.putsHigh.Add(1)
			return p.committed(it)
		default:
			return fmt.Errorf("%w: %T in a high bandwidth put", ErrProtocol, req.Msg)
		}
	}
}

// commitFailed logs and counts a put whose data the engine did not store
// and returns err, which the client receives with its status
// (RESOURCE_EXHAUSTED for chunkstore.ErrFull, catalystpb.ToStatus). The
// item is not created: the writer or importer is aborted.
func (p *putState) commitFailed(store, name string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // the client went away: nothing it was told is lost
	}
	reason := dedup.Reason(err)
	p.s.log.Error("catalyst: put not stored, the client is told", "store", store, "item", name,
		"user", userFrom(p.stream.Context()).Name, "reason", reason, "err", err)
	if f := p.s.opts.Failures; f != nil {
		f.CommitFailed("catalyst", reason)
	}
	return fmt.Errorf("%w: %w", errCommitReported, err)
}

// clientFault: err is the client's doing (a chunk that does not match
// its fingerprint, a malformed message), not a failure to store.
func clientFault(err error) bool {
	return errors.Is(err, dedup.ErrFingerprint) || errors.Is(err, dedup.ErrInvalid) ||
		errors.Is(err, dedup.ErrMissingChunk) || errors.Is(err, ErrProtocol)
}

// errCommitReported marks an error commitFailed logged already.
var errCommitReported = errors.New("commit failed")

func (p *putState) committed(it chunkstore.Item) error {
	p.s.t.puts.Add(1)
	p.s.t.logical.Add(it.Size)
	return p.send(&catalystpb.PutResponse{Msg: &catalystpb.PutResponse_Committed{Committed: &catalystpb.PutCommitted{
		Item: catalystpb.ItemPB(it), ReceivedBytes: p.received, ChunksReceived: p.chunks}}})
}

package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zeebo/blake3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

// PutOptions qualify a put.
type PutOptions struct {
	// Replace replaces an existing item of the same name.
	Replace bool
	// Meta are key/values kept with the item (ls can filter on them).
	Meta map[string]string
	// Transfer is dedup.TransferLow or TransferHigh; empty follows
	// the store's policy (the server refuses another).
	Transfer string
	// Progress, if not nil, is updated while the put runs.
	Progress *Progress
}

// Progress is how far a put has come; read it from any goroutine.
type Progress struct {
	Logical atomic.Int64 // bytes of the item read and chunked
	Sent    atomic.Int64 // message bytes sent
}

// PutResult is what a put did.
type PutResult struct {
	Item     dedup.Item
	Transfer string
	// Sent is the bytes of the messages this put sent (gRPC's 5-byte
	// prefix included, HTTP/2 and TLS framing not: see WireBytes).
	Sent int64
	// Chunks is the item's chunk count; ChunksSent how many of them the
	// appliance lacked and the client sent (low bandwidth).
	Chunks, ChunksSent int64
}

// DedupRatio is the item's logical bytes over the bytes sent.
func (r PutResult) DedupRatio() float64 {
	if r.Sent == 0 {
		return 0
	}
	return float64(r.Item.Size) / float64(r.Sent)
}

// Put stores r as item name of store.
func (c *Client) Put(ctx context.Context, store, name string, r io.Reader, opts PutOptions) (PutResult, error) {
	st, err := c.Store(ctx, store)
	if err != nil {
		return PutResult{}, err
	}
	mode := opts.Transfer
	if mode == "" {
		mode = st.Transfer
	}
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	p := &put{c: c, st: st, opts: opts, res: PutResult{Transfer: mode}, codec: newCodecPolicy(c.comp, c.opts.Now)}
	if err := p.run(ctx, name, r); err != nil {
		return p.res, err
	}
	return p.res, nil
}

// Retryable reports whether a failed put may succeed if tried again with
// the same data: the connection broke, or the server has not yet noticed
// that the previous try's connection broke (ErrBusy).
func Retryable(err error) bool {
	if errors.Is(err, dedup.ErrBusy) {
		return true
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		c := se.GRPCStatus().Code()
		return c == codes.Unavailable || c == codes.Aborted
	}
	return false
}

// PutRetry is Put from a seekable source, tried up to attempts times
// while the failure is Retryable. A retry sends only the chunks the
// earlier tries did not get to the appliance.
func (c *Client) PutRetry(ctx context.Context, store, name string, r io.ReadSeeker, opts PutOptions, attempts int) (PutResult, error) {
	var total int64
	for i := 1; ; i++ {
		res, err := c.Put(ctx, store, name, r, opts)
		total += res.Sent
		if err == nil || i >= attempts || !Retryable(err) {
			res.Sent = total
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(time.Duration(i) * 200 * time.Millisecond):
		}
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return res, err
		}
	}
}

type put struct {
	c    *Client
	st   *Store
	opts PutOptions
	res  PutResult
	// codec picks the codec of the chunks sent (low bandwidth).
	codec *container.Policy

	stream catalystpb.Catalyst_PutClient
	mu     sync.Mutex
	err    error              // the first failure
	rerr   error              // the first error of Recv: the server's reason
	cancel context.CancelFunc // ends the stream
	stop   context.CancelFunc // ends the goroutines of low
}

// fail records the first error and stops the put. A failed Send needs
// no cancel of the stream, which is broken already and whose Recv reports
// the server's reason; anything else cancels it.
func (p *put) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	if p.stop != nil {
		p.stop()
	}
	if !streamBroken(err) {
		p.cancel()
	}
}

// streamBroken reports an error of the stream itself (Send's io.EOF, or a
// status), whose reason Recv reports: cancelling would hide it.
func streamBroken(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, errStop) {
		return true
	}
	_, ok := status.FromError(err)
	return ok
}

func (p *put) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *put) send(m *catalystpb.PutRequest) error {
	n := int64(proto.Size(m) + 5)
	p.res.Sent += n
	p.opts.Progress.Sent.Add(n)
	return p.stream.Send(m)
}

func (p *put) recv() (*catalystpb.PutResponse, error) {
	m, err := p.stream.Recv()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the server ended the put early", catalystpb.ErrProtocol)
	}
	if err != nil {
		p.mu.Lock()
		if p.rerr == nil {
			p.rerr = err
		}
		p.mu.Unlock()
	}
	return m, err
}

func (p *put) run(ctx context.Context, name string, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.cancel = cancel
	stream, err := p.c.api.Put(ctx)
	if err != nil {
		return catalystpb.FromStatus(err)
	}
	p.stream = stream
	transfer := catalystpb.Transfer_TRANSFER_LOW
	if p.res.Transfer == dedup.TransferHigh {
		transfer = catalystpb.Transfer_TRANSFER_HIGH
	}
	begin := &catalystpb.PutBegin{Store: p.st.Name, Name: name, Replace: p.opts.Replace, Meta: p.opts.Meta, Transfer: transfer}
	if err := p.send(&catalystpb.PutRequest{Msg: &catalystpb.PutRequest_Begin{Begin: begin}}); err != nil {
		return p.streamErr(err)
	}
	if m, err := p.recv(); err != nil {
		return p.streamErr(err)
	} else if m.GetReady() == nil {
		return fmt.Errorf("%w: expected ready", catalystpb.ErrProtocol)
	}
	if transfer == catalystpb.Transfer_TRANSFER_HIGH {
		err = p.high(r)
	} else {
		err = p.low(ctx, r)
	}
	if err != nil {
		return p.streamErr(err)
	}
	m, err := p.recv()
	if err != nil {
		return p.streamErr(err)
	}
	done := m.GetCommitted()
	if done == nil {
		return fmt.Errorf("%w: expected committed", catalystpb.ErrProtocol)
	}
	p.res.Item = catalystpb.ItemFromPB(done.GetItem())
	p.res.Chunks = p.res.Item.Chunks
	return nil
}

// streamErr prefers the server's reason (the status Recv returns) over a
// local send error.
func (p *put) streamErr(err error) error {
	p.mu.Lock()
	rerr := p.rerr
	p.mu.Unlock()
	if rerr != nil {
		return catalystpb.FromStatus(rerr)
	}
	if perr := p.failure(); perr != nil && !errors.Is(perr, errStop) {
		err = perr
	}
	if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
		// A failed Send reports EOF; the status comes from Recv.
		for {
			if _, rerr := p.stream.Recv(); rerr != nil {
				if rerr != io.EOF {
					err = rerr
				}
				break
			}
		}
	}
	return catalystpb.FromStatus(err)
}

func (p *put) high(r io.Reader) error {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			n += int64(k)
			p.opts.Progress.Logical.Add(int64(k))
			if err := p.send(&catalystpb.PutRequest{Msg: &catalystpb.PutRequest_Data{Data: buf[:k]}}); err != nil {
				return err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return p.send(&catalystpb.PutRequest{Msg: &catalystpb.PutRequest_Commit{Commit: &catalystpb.PutCommit{Size: n}}})
}

// compress makes the Chunk messages of entries idx of b, in parallel,
// with the codec the policy picks now.
func (p *put) compress(b *batch, idx []uint32, comps []container.Compressors) ([]*catalystpb.Chunk, error) {
	out := make([]*catalystpb.Chunk, len(idx))
	workers := min(len(comps), len(idx))
	pick := p.codec.Pick()
	for w := range workers {
		if _, err := comps[w].Get(pick); err != nil {
			return nil, err
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			comp, _ := comps[w].Get(pick) // made above
			for k := w; k < len(idx); k += workers {
				i := idx[k]
				raw := b.chunk(int(i))
				stored, codec := comp.Compress(nil, raw)
				if codec == container.Raw {
					stored = append([]byte(nil), raw...)
				}
				out[k] = &catalystpb.Chunk{Fp: append([]byte(nil), b.fps[32*i:32*i+32]...), Codec: catalystpb.Codec(codec),
					RawLen: uint32(len(raw)), Data: stored}
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// batch is one Entries message's chunks, kept until the server says
// which it lacks.
type batch struct {
	seq  uint64
	fps  []byte
	lens []uint32
	data []byte // the chunks, back to back
	offs []int  // start of each chunk in data
}

func (b *batch) chunk(i int) []byte { return b.data[b.offs[i] : b.offs[i]+int(b.lens[i])] }

// low is the client-side dedup put: a producer chunks and fingerprints
// and sends entries, this goroutine sends what each answer asks for, and
// a sender owns the stream's send side.
func (p *put) low(ctx context.Context, r io.Reader) error {
	ctx, p.stop = context.WithCancel(ctx)
	defer p.stop()
	out := make(chan *catalystpb.PutRequest, 64)
	pending := make(chan *batch, p.c.opts.Window)
	free := make(chan *batch, p.c.opts.Window+2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(pending)
		if err := p.produce(ctx, r, out, pending, free); err != nil {
			p.fail(err)
		}
	}()
	sendErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		var err error
		for m := range out {
			if err == nil {
				if err = p.send(m); err != nil {
					p.fail(err)
				}
			}
		}
		sendErr <- err
	}()
	err := p.answer(ctx, out, pending, free)
	if err != nil {
		p.fail(err)
		for range pending {
		}
	}
	close(out)
	wg.Wait()
	for len(free) > 0 {
		p.c.batches.Put(<-free)
	}
	if serr := <-sendErr; err == nil {
		err = serr
	}
	if err == nil {
		err = p.failure()
	}
	if err == nil {
		err = p.stream.CloseSend()
	}
	return err
}

// produce chunks r, fingerprints in parallel, and queues the entries.
func (p *put) produce(ctx context.Context, r io.Reader, out chan<- *catalystpb.PutRequest, pending chan<- *batch, free chan *batch) error {
	ch, err := chunker.New(p.codec.Reader(r), p.st.Chunker)
	if err != nil {
		return err
	}
	var seq uint64
	var size int64
	for {
		var b *batch
		select {
		case b = <-free:
		default:
			if v := p.c.batches.Get(); v != nil {
				b = v.(*batch)
			} else {
				// Room for a batch of average chunks, so that appending
				// rarely grows it.
				b = &batch{data: make([]byte, 0, min(p.c.opts.Batch*p.st.Chunker.Avg*5/4, 64<<20))}
			}
		}
		b.seq, b.fps, b.lens, b.data, b.offs = seq, b.fps[:0], b.lens[:0], b.data[:0], b.offs[:0]
		var cerr error
		for len(b.lens) < p.c.opts.Batch {
			var c []byte
			if c, cerr = ch.Next(); cerr != nil {
				break
			}
			b.offs = append(b.offs, len(b.data))
			b.data = append(b.data, c...)
			b.lens = append(b.lens, uint32(len(c)))
			size += int64(len(c))
			p.opts.Progress.Logical.Add(int64(len(c)))
		}
		if cerr != nil && cerr != io.EOF {
			return cerr
		}
		if len(b.lens) > 0 {
			p.fingerprint(b)
			m := &catalystpb.PutRequest{Msg: &catalystpb.PutRequest_Entries{Entries: &catalystpb.Entries{Seq: seq, Fps: b.fps, Lens: b.lens}}}
			select {
			case pending <- b: // before out: the answer may come at once
			case <-ctx.Done():
				return errStop
			}
			select {
			case out <- m:
			case <-ctx.Done():
				return errStop
			}
			seq++
		}
		if cerr == io.EOF {
			p.res.Item.Size = size
			return nil
		}
	}
}

func (p *put) fingerprint(b *batch) {
	n := len(b.lens)
	if cap(b.fps) < 32*n {
		b.fps = make([]byte, 32*n)
	}
	b.fps = b.fps[:32*n]
	workers := min(p.c.opts.Workers, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, _ := blake3.NewKeyed(p.st.Key)
			for i := w; i < n; i += workers {
				h.Reset()
				h.Write(b.chunk(i))
				h.Sum(b.fps[32*i : 32*i])
			}
		}()
	}
	wg.Wait()
}

// answer reads the server's missing answers, in order, and queues the
// chunks they ask for, compressed in parallel; then the commit.
func (p *put) answer(ctx context.Context, out chan<- *catalystpb.PutRequest, pending <-chan *batch, free chan<- *batch) error {
	comps := make([]container.Compressors, p.c.opts.Workers)
	for b := range pending {
		m, err := p.recv()
		if err != nil {
			return err
		}
		miss := m.GetMissing()
		if miss == nil || miss.GetSeq() != b.seq {
			return fmt.Errorf("%w: expected the answer to entries %d", catalystpb.ErrProtocol, b.seq)
		}
		idx := miss.GetIndex()
		for _, i := range idx {
			if int(i) >= len(b.lens) {
				return fmt.Errorf("%w: answer names entry %d of %d", catalystpb.ErrProtocol, i, len(b.lens))
			}
		}
		chunks, err := p.compress(b, idx, comps)
		if err != nil {
			return err
		}
		for _, c := range chunks {
			select {
			case out <- &catalystpb.PutRequest{Msg: &catalystpb.PutRequest_Chunk{Chunk: c}}:
			case <-ctx.Done():
				return errStop
			}
			p.res.ChunksSent++
		}
		select {
		case free <- b:
		default:
			p.c.batches.Put(b)
		}
	}
	if err := p.failure(); err != nil {
		return err
	}
	select {
	case out <- &catalystpb.PutRequest{Msg: &catalystpb.PutRequest_Commit{Commit: &catalystpb.PutCommit{Size: p.res.Item.Size}}}:
	case <-ctx.Done():
		return errStop
	}
	return nil
}

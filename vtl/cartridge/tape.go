package cartridge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// Engine is what a cartridge needs from the chunkstore engine.
type Engine interface {
	Create(ctx context.Context, store, name string, opts chunkstore.WriteOptions) (*chunkstore.Writer, error)
	OpenItem(ctx context.Context, store, name string) (*chunkstore.Reader, error)
	List(ctx context.Context, store, prefix string) ([]chunkstore.Item, error)
	Delete(ctx context.Context, store, name string) error
}

// Errors a tape operation reports; the drive turns them into sense data.
var (
	ErrFilemark       = errors.New("cartridge: filemark")
	ErrEndOfData      = errors.New("cartridge: end of data")
	ErrBeginning      = errors.New("cartridge: beginning of partition")
	ErrEarlyWarning   = errors.New("cartridge: early warning") // the write happened
	ErrEndOfMedium    = errors.New("cartridge: end of medium") // the write did not
	ErrWriteProtected = errors.New("cartridge: write protected")
	ErrWORM           = errors.New("cartridge: WORM cartridge: overwrite refused")
	// ErrRetained: the cartridge's data is younger than its store's
	// immutability period; like a WORM cartridge it may be appended to,
	// never overwritten or erased, until the period ends. It is
	// chunkstore.ErrImmutable for callers that map the engine's errors.
	ErrRetained = fmt.Errorf("cartridge: data under retention: overwrite refused: %w", chunkstore.ErrImmutable)
	// ErrCommit wraps an engine error in storing the records: the write
	// session failed and the cartridge is back to its last committed
	// version (the records buffered since are lost). The engine's error
	// (chunkstore.ErrFull, ...) is wrapped too.
	ErrCommit = errors.New("cartridge: commit failed, the records written since the last commit are lost")
)

// commitErr wraps an engine error met while storing records in ErrCommit.
func commitErr(err error) error {
	if err == nil || errors.Is(err, ErrCommit) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCommit, err)
}

// Options qualify an open cartridge.
type Options struct {
	// Capacity is the native capacity in bytes of record data.
	Capacity int64
	// EarlyWarning is how many bytes before Capacity writes start to
	// report early warning; 0 picks 1/64 of Capacity (at most 1 GiB).
	EarlyWarning int64
	// CommitBytes and CommitInterval bound how much acknowledged-but-
	// buffered data a crash may lose while a host streams without
	// filemarks: a write that crosses either commits. Zero means 1 GiB
	// and 30 s.
	CommitBytes    int64
	CommitInterval time.Duration
	WriteProtected bool
	// WORM: data once written is never overwritten or erased (appends
	// only), and the cartridge cannot be deleted while it holds data.
	WORM bool
	// ImmutableDays is the immutability period of the cartridge's store:
	// data younger than that is kept as on a WORM cartridge (see
	// Locked). The engine refuses deleting its items anyway; this makes
	// the drive refuse the overwrite up front instead of hiding the old
	// data behind the new.
	ImmutableDays int
	Now           func() time.Time
}

func (o *Options) defaults() {
	if o.EarlyWarning == 0 {
		o.EarlyWarning = min(o.Capacity/64, 1<<30)
	}
	if o.CommitBytes == 0 {
		o.CommitBytes = 1 << 30
	}
	if o.CommitInterval == 0 {
		o.CommitInterval = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Tape is a cartridge loaded in a drive: its record map, the position and
// the open write session. It is not safe for concurrent use (the drive
// serializes commands).
type Tape struct {
	eng         Engine
	store, name string
	opts        Options

	m         *Map // current, pending writes included
	committed *Map // what the items hold
	segs      []segment
	maxSeq    uint64 // highest segment number in use or left behind
	pos       uint64
	newest    time.Time // commit time of the newest segment (retention)

	w           *chunkstore.Writer
	wSeq        uint64    // the segment being written
	wKept       []segment // committed segments it keeps whole
	wBase       int64     // data offset where it starts
	pending     int64     // bytes written since the last commit
	pendingObjs uint64
	lastCommit  time.Time

	r    *chunkstore.Reader
	rIdx int // segment r reads
	br   *bufio.Reader
	roff int64 // data offset of br's next byte
}

// Open loads cartridge name of store: no items is a blank tape.
func Open(ctx context.Context, eng Engine, store, name string, opts Options) (*Tape, error) {
	opts.defaults()
	t := &Tape{eng: eng, store: store, name: name, opts: opts, m: &Map{}, lastCommit: opts.Now()}
	items, seqs, err := segments(ctx, eng, store, name)
	if err != nil {
		return nil, err
	}
	if len(items) > 0 {
		t.maxSeq = seqs[len(seqs)-1]
		t.newest = items[len(items)-1].Modified
		m, segs, _, err := readTrailer(ctx, eng, store, items[len(items)-1].Name)
		if err != nil {
			return nil, err
		}
		if segs[len(segs)-1].seq != t.maxSeq {
			return nil, fmt.Errorf("%w: newest segment %d names itself %d", ErrFormat, t.maxSeq, segs[len(segs)-1].seq)
		}
		size := map[uint64]int64{}
		for i, it := range items {
			size[seqs[i]] = it.Size
		}
		live := map[uint64]bool{}
		for _, sg := range segs {
			if sz, ok := size[sg.seq]; !ok || sz < sg.size {
				return nil, fmt.Errorf("%w: segment %d is missing or short", ErrFormat, sg.seq)
			}
			live[sg.seq] = true
		}
		for i, seq := range seqs { // left behind by a crash between a commit and the cleanup
			if !live[seq] {
				_ = eng.Delete(ctx, store, items[i].Name)
			}
		}
		t.m, t.segs = m, segs
	}
	t.committed = t.m.Clone()
	return t, nil
}

// Name is the cartridge's item name (its barcode).
func (t *Tape) Name() string { return t.name }

// Position is the logical object number: records and filemarks before
// the head.
func (t *Tape) Position() uint64 { return t.pos }

// Map is the current record map, pending writes included.
func (t *Tape) Map() *Map { return t.m }

// Committed is the record map the item holds: what survives a crash.
func (t *Tape) Committed() *Map { return t.committed }

// Buffered is the number of objects and bytes written but not committed.
func (t *Tape) Buffered() (objects uint64, bytes int64) { return t.pendingObjs, t.pending }

// BeyondEarlyWarning reports whether the data written passed the early
// warning point.
func (t *Tape) BeyondEarlyWarning() bool {
	return t.m.Bytes() > t.opts.Capacity-t.opts.EarlyWarning
}

// Remaining is the capacity left, in bytes.
func (t *Tape) Remaining() int64 { return max(0, t.opts.Capacity-t.m.Bytes()) }

// Options returns the cartridge's options.
func (t *Tape) Options() Options { return t.opts }

// SetProtection changes write protection (a library admin action).
func (t *Tape) SetProtection(writeProtected bool) { t.opts.WriteProtected = writeProtected }

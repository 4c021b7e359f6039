package history

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrOutOfOrder is returned by Add for a point not later than the last
// one (a clock set back): the point is dropped.
var ErrOutOfOrder = errors.New("history: point not after the last one")

// ErrFormat is returned by Open for a tier file that is not one.
var ErrFormat = errors.New("history: not a history file")

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("history: closed")

// Point is the appliance's figures at one time. In a coarser tier it sums
// up a bucket: the levels and time of its last sample, the mean rates.
type Point struct {
	Time          time.Time
	StoredBytes   int64
	LogicalBytes  int64
	CapacityBytes int64
	IngestPerSec  float64
	RestorePerSec float64
}

// Tier is one resolution: a point per Step (0: every sample), kept for
// Keep.
type Tier struct {
	Step time.Duration
	Keep time.Duration
}

// DefaultTiers are every sample for 2 days, 15 minutes for 3 weeks, 2
// hours for 6 months, a day for 5 years.
func DefaultTiers() []Tier {
	return []Tier{
		{Step: 0, Keep: 48 * time.Hour},
		{Step: 15 * time.Minute, Keep: 21 * 24 * time.Hour},
		{Step: 2 * time.Hour, Keep: 183 * 24 * time.Hour},
		{Step: 24 * time.Hour, Keep: 1826 * 24 * time.Hour},
	}
}

// Options configure a Store. Start from DefaultOptions.
type Options struct {
	// Dir holds the tier files (made if missing); "" keeps the history
	// in memory only, lost at Close.
	Dir string
	// Interval is how often samples come; with the first tier's Keep it
	// sets how many samples that tier keeps. Default 1 minute.
	Interval time.Duration
	// Tiers, finest first; the first has Step 0 and each Step is a
	// multiple of the one before it. Default DefaultTiers.
	Tiers []Tier
	// Logger reports a file's torn tail cut off at Open. Default: none.
	Logger *slog.Logger
}

// DefaultOptions keeps the history in dir with the default tiers.
func DefaultOptions(dir string) Options {
	return Options{Dir: dir, Interval: time.Minute, Tiers: DefaultTiers(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// Store is the history; safe for concurrent use.
type Store struct {
	opts Options

	mu     sync.Mutex
	tiers  []*tier
	closed bool
}

// tier is one tier's kept points, its file and the bucket it is filling.
type tier struct {
	Tier
	keep   int // points kept
	pts    []Point
	file   *tierFile // nil in memory
	bucket bucket
}

// Open reads the history in opts.Dir, or starts one.
func Open(opts Options) (*Store, error) {
	def := DefaultOptions(opts.Dir)
	if opts.Interval <= 0 {
		opts.Interval = def.Interval
	}
	if len(opts.Tiers) == 0 {
		opts.Tiers = def.Tiers
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	if err := checkTiers(opts.Tiers); err != nil {
		return nil, err
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	s := &Store{opts: opts}
	for i, td := range opts.Tiers {
		step := td.Step
		if i == 0 {
			step = opts.Interval
		}
		t := &tier{Tier: td, keep: max(2, int(td.Keep/step))}
		s.tiers = append(s.tiers, t)
		if opts.Dir == "" {
			continue
		}
		path := filepath.Join(opts.Dir, fmt.Sprintf("tier-%d.hist", i))
		f, pts, dropped, err := openTier(path)
		if err != nil {
			_ = s.closeFiles() // the open error is the one to report
			return nil, err
		}
		if dropped > 0 {
			opts.Logger.Warn("history: a torn or corrupt tail was cut off", "file", path, "bytes", dropped)
		}
		t.file, t.pts = f, pts
		t.trim()
	}
	if err := s.rebuild(); err != nil {
		_ = s.closeFiles() // the open error is the one to report
		return nil, err
	}
	return s, nil
}

func checkTiers(tiers []Tier) error {
	if tiers[0].Step != 0 {
		return errors.New("history: the first tier's step must be 0")
	}
	for i := 1; i < len(tiers); i++ {
		prev := max(tiers[i-1].Step, time.Millisecond)
		if tiers[i].Step <= 0 || tiers[i].Step%prev != 0 || tiers[i].Keep < 2*tiers[i].Step {
			return fmt.Errorf("history: tier %d: step %v keep %v", i, tiers[i].Step, tiers[i].Keep)
		}
		if tiers[i-1].Keep < tiers[i].Step {
			return fmt.Errorf("history: tier %d keeps less than tier %d's step", i-1, i)
		}
	}
	return nil
}

// rebuild refills each coarser tier's open bucket from the finer tier's
// points after the coarser tier's last point; buckets that close on the
// way (a crash between the two appends) are written.
func (s *Store) rebuild() error {
	for k := 1; k < len(s.tiers); k++ {
		t, finer := s.tiers[k], s.tiers[k-1]
		var after time.Time
		if n := len(t.pts); n > 0 {
			after = bucketEnd(t.pts[n-1].Time, t.Step)
		}
		for _, p := range finer.pts {
			if p.Time.Before(after) {
				continue
			}
			if out, ok := t.bucket.add(p, t.Step); ok {
				if err := t.append(out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Add records a sample and feeds the coarser tiers. A point not after
// the last one returns ErrOutOfOrder.
func (s *Store) Add(p Point) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	p.Time = p.Time.UTC().Truncate(time.Millisecond)
	t0 := s.tiers[0]
	if n := len(t0.pts); n > 0 && !p.Time.After(t0.pts[n-1].Time) {
		return fmt.Errorf("%w: %v after %v", ErrOutOfOrder, p.Time, t0.pts[n-1].Time)
	}
	if err := t0.append(p); err != nil {
		return err
	}
	for k := 1; k < len(s.tiers); k++ {
		t := s.tiers[k]
		out, ok := t.bucket.add(p, t.Step)
		if !ok {
			break
		}
		if err := t.append(out); err != nil {
			return err
		}
		p = out
	}
	return nil
}

// append keeps p, writes it, and rewrites the file once it holds a
// quarter more than the tier keeps.
func (t *tier) append(p Point) error {
	t.pts = append(t.pts, p)
	t.trim()
	if t.file == nil {
		return nil
	}
	if err := t.file.append(p); err != nil {
		return err
	}
	if t.file.records > t.keep+t.keep/4 {
		return t.file.rewrite(t.pts)
	}
	return nil
}

// trim drops the points beyond what the tier keeps, oldest first.
func (t *tier) trim() {
	if extra := len(t.pts) - t.keep; extra > 0 {
		t.pts = t.pts[extra:]
	}
}

// Close closes the tier files.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.closeFiles()
}

func (s *Store) closeFiles() error {
	var first error
	for _, t := range s.tiers {
		if t.file != nil {
			if err := t.file.close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// MaxBytes is the most the tier files hold together: each tier's kept
// points and the quarter of slack before a rewrite, with the headers.
// The default options' bound is 579,676 bytes.
func (o Options) MaxBytes() int64 {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if len(o.Tiers) == 0 {
		o.Tiers = DefaultTiers()
	}
	var n int64
	for i, t := range o.Tiers {
		step := t.Step
		if i == 0 {
			step = o.Interval
		}
		keep := int64(max(2, int(t.Keep/step)))
		n += int64(len(magic)) + (keep+keep/4)*recordSize
	}
	return n
}

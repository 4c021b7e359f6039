package dedup

import (
	"errors"
	"sort"
	"sync"
)

// The reasons a commit fails, as front ends count them
// (backstop_commit_failures_total{protocol,reason}).
const (
	ReasonFull      = "full"      // the store has no space left
	ReasonImmutable = "immutable" // the item may not change
	ReasonIO        = "io"        // anything else: an I/O or internal error
)

// Reason classifies the error of a failed commit.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrFull):
		return ReasonFull
	case errors.Is(err, ErrImmutable):
		return ReasonImmutable
	}
	return ReasonIO
}

// CommitFailures counts commits that failed by protocol and reason: the
// front ends add to it (through their own one-method interfaces) and the
// web metrics read it. The zero value is ready; it is safe for concurrent
// use.
type CommitFailures struct {
	mu sync.Mutex
	n  map[FailureKey]int64
}

// FailureKey is one label pair of the counter.
type FailureKey struct{ Protocol, Reason string }

// CommitFailed counts one failed commit.
func (c *CommitFailures) CommitFailed(protocol, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[FailureKey]int64{}
	}
	c.n[FailureKey{protocol, reason}]++
}

// FailureCount is one counter value.
type FailureCount struct {
	FailureKey
	Count int64
}

// Counts returns every counter, sorted by protocol then reason.
func (c *CommitFailures) Counts() []FailureCount {
	c.mu.Lock()
	out := make([]FailureCount, 0, len(c.n))
	for k, v := range c.n {
		out = append(out, FailureCount{k, v})
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Protocol != out[j].Protocol {
			return out[i].Protocol < out[j].Protocol
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

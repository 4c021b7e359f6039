package appliance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// Event levels and kinds.
const (
	LevelInfo    = "info"
	LevelWarning = "warning"
	LevelError   = "error"

	KindAudit  = "audit"  // a change made by a user
	KindSystem = "system" // something the appliance did or saw
)

// Event is a system event or an audit record of a change.
type Event struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`            // "info", "warning", "error"
	Kind    string    `json:"kind"`             // "audit" (a change made by a user) or "system"
	Actor   string    `json:"actor,omitempty"`  // user name for audit events
	Action  string    `json:"action"`           // e.g. "store.create", "user.delete", "login.failed"
	Object  string    `json:"object,omitempty"` // e.g. the store or user name
	Message string    `json:"message"`
}

// eventLog is the in-memory tail of the events and the file they go to.
type eventLog struct {
	dir      string
	log      *slog.Logger
	max      int   // events kept for Events
	maxBytes int64 // file size at which it is rotated

	mu     sync.Mutex // guards the fields below
	f      *os.File   // nil after close, or if the file could not be reopened
	size   int64
	events []Event // ascending IDs; only the last max count, the rest awaits trimming
	lastID int64
}

// open replays events.jsonl.1 then events.jsonl into memory, cuts a torn
// last line off events.jsonl, and opens it for appending.
func (l *eventLog) open(dir string, opts Options, log *slog.Logger) error {
	l.dir, l.log, l.max, l.maxBytes = dir, log, opts.MaxEvents, opts.MaxEventsFileBytes
	if _, err := l.replay(filepath.Join(dir, eventsOld)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	path := filepath.Join(dir, eventsName)
	good, err := l.replay(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("appliance: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("appliance: %w", err)
	}
	if fi.Size() > good {
		l.log.Warn("appliance: cut torn last line off the event log", "file", path, "bytes", fi.Size()-good)
		if err := f.Truncate(good); err != nil {
			f.Close()
			return fmt.Errorf("appliance: truncate %s: %w", path, err)
		}
	}
	l.f, l.size = f, good
	l.trim()
	return nil
}

// replay reads the events in path into memory. It returns the length of the
// file up to the end of its last complete, readable line: whatever follows
// is a torn write. Unreadable lines before it are skipped and counted.
func (l *eventLog) replay(path string) (good int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var off int64
	skipped := 0
	pending := 0 // unreadable lines since good
	for {
		line, err := r.ReadBytes('\n')
		off += int64(len(line))
		if errors.Is(err, io.EOF) {
			break // a last line without its newline is torn, even if it parses
		}
		if err != nil {
			return 0, fmt.Errorf("appliance: read %s: %w", path, err)
		}
		var e Event
		if json.Unmarshal(line, &e) != nil || e.ID <= l.lastID {
			pending++
			continue
		}
		skipped += pending
		pending = 0
		l.events = append(l.events, e)
		l.lastID = e.ID
		good = off
		if len(l.events) >= 2*l.max {
			l.trim()
		}
	}
	if skipped > 0 {
		l.log.Warn("appliance: skipped unreadable event log lines", "file", path, "lines", skipped)
	}
	return good, nil
}

// trim drops the events beyond the last max from memory.
func (l *eventLog) trim() {
	if n := len(l.events); n > l.max {
		l.events = append(l.events[:0:0], l.events[n-l.max:]...)
	}
}

func (l *eventLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("appliance: close %s: %w", eventsName, err)
	}
	return nil
}

// Record stamps ID and Time (if zero), appends the event durably to
// events.jsonl, keeps it in memory, and logs it with slog. An empty Level is
// "info" and an empty Kind "system". It never fails the caller: a write
// error is logged.
func (s *State) Record(e Event) Event {
	if e.Time.IsZero() {
		e.Time = s.opts.Now()
	}
	if e.Level == "" {
		e.Level = LevelInfo
	}
	if e.Kind == "" {
		e.Kind = KindSystem
	}
	l := &s.ev
	l.mu.Lock()
	l.lastID++
	e.ID = l.lastID
	l.events = append(l.events, e)
	if len(l.events) >= 2*l.max {
		l.trim()
	}
	err := l.write(e)
	l.mu.Unlock()

	s.log.LogAttrs(context.Background(), slogLevel(e.Level), e.Message,
		slog.Int64("event", e.ID), slog.String("kind", e.Kind), slog.String("actor", e.Actor),
		slog.String("action", e.Action), slog.String("object", e.Object))
	if err != nil {
		s.log.Error("appliance: event not saved", "event", e.ID, "err", err)
	}
	s.subMu.RLock()
	subs := s.subs
	s.subMu.RUnlock()
	for _, f := range subs {
		f(e)
	}
	return e
}

// Subscribe has f called with every event recorded from now on, after it
// is saved, in the goroutine that records it: f must not block (the alert
// dispatcher only queues it).
func (s *State) Subscribe(f func(Event)) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.subs = append(slices.Clip(s.subs), f)
}

// write appends e to the file and fsyncs it, rotating the file first when it
// is full. l.mu must be held.
func (l *eventLog) write(e Event) error {
	if l.f == nil {
		return ErrClosed
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	line = append(line, '\n')
	if l.size > 0 && l.size+int64(len(line)) > l.maxBytes {
		if err := l.rotate(); err != nil {
			l.log.Error("appliance: rotate event log", "err", err)
		}
	}
	if _, err := l.f.Write(line); err != nil {
		// Cut off whatever part landed so the next event starts on a line.
		_ = l.f.Truncate(l.size)
		return fmt.Errorf("write %s: %w", eventsName, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", eventsName, err)
	}
	l.size += int64(len(line))
	return nil
}

// rotate renames events.jsonl to events.jsonl.1, replacing the previous
// one, and starts a new events.jsonl. If the new file cannot be made, events
// keep going to the open one (now events.jsonl.1), which is replayed too.
func (l *eventLog) rotate() error {
	cur := filepath.Join(l.dir, eventsName)
	if err := os.Rename(cur, filepath.Join(l.dir, eventsOld)); err != nil {
		return err
	}
	f, err := os.OpenFile(cur, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	l.f.Close()
	l.f, l.size = f, 0
	return syncDir(l.dir)
}

func slogLevel(level string) slog.Level {
	switch level {
	case LevelWarning:
		return slog.LevelWarn
	case LevelError:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Events returns up to limit events with ID > after, oldest first, of the
// given kind ("" = all). limit <= 0 means 100. Only the last MaxEvents
// events are kept in memory.
func (s *State) Events(after int64, limit int, kind string) []Event {
	if limit <= 0 {
		limit = 100
	}
	l := &s.ev
	l.mu.Lock()
	defer l.mu.Unlock()
	evs := l.events
	if len(evs) > l.max {
		evs = evs[len(evs)-l.max:]
	}
	i := sort.Search(len(evs), func(i int) bool { return evs[i].ID > after })
	out := []Event{}
	for ; i < len(evs) && len(out) < limit; i++ {
		if kind == "" || evs[i].Kind == kind {
			out = append(out, evs[i])
		}
	}
	return out
}

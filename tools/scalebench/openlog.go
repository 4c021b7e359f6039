package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// phaseLog is a slog.Handler that keeps when each message was first
// logged, to split Open's time by the engine's own log lines ("filter
// loaded" at debug level comes after badger opened and the Bloom filter
// was rebuilt from every chunk key).
type phaseLog struct {
	start time.Time
	mu    *sync.Mutex
	at    map[string]time.Duration
}

func newPhaseLog(start time.Time) *phaseLog {
	return &phaseLog{start: start, mu: &sync.Mutex{}, at: map[string]time.Duration{}}
}

func (h *phaseLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *phaseLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.at[r.Message]; !ok {
		h.at[r.Message] = r.Time.Sub(h.start)
	}
	return nil
}

func (h *phaseLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *phaseLog) WithGroup(string) slog.Handler      { return h }

// since returns when msg was first logged, in ms (0 if never).
func (h *phaseLog) since(msg string) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return ms(h.at[msg])
}

package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/sharefs"
	"github.com/backstop-appliance/backstop/replication"
	"github.com/backstop-appliance/backstop/vtl/library"
)

// healthInterval is how often the health monitor recomputes the capacity
// and replication parts.
const healthInterval = 30 * time.Second

// itemNamer names items for the appliance's damage list: a share's file
// by share and path, a library's cartridge by library and barcode. Its
// managers are set once they open (nil: not known).
type itemNamer struct {
	shares *sharefs.Manager
	libs   *library.Manager
}

func (n *itemNamer) NameItem(ctx context.Context, store, item string) (appliance.ItemName, bool) {
	if n.shares != nil {
		if share, path, ok := n.shares.NameItem(ctx, store, item); ok {
			return appliance.ItemName{Share: share, Path: path}, true
		}
	}
	if n.libs != nil {
		if lib, barcode, ok := n.libs.NameItem(ctx, store, item); ok {
			return appliance.ItemName{Library: lib, Barcode: barcode}, true
		}
	}
	return appliance.ItemName{}, false
}

// healthMonitor sets the health parts nobody else watches: capacity from
// the engine's figures and one part per replication mapping, at start
// and every interval. It listens on nothing.
type healthMonitor struct {
	eng      *chunkstore.Engine
	repl     *replication.Service // nil: replication off
	health   *appliance.Health
	log      *slog.Logger
	interval time.Duration

	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
}

func (m *healthMonitor) Addr() string { return "" }

// Start checks once, then every interval until Shutdown.
func (m *healthMonitor) Start(ctx context.Context) error {
	m.check(ctx)
	bg, stop := context.WithCancel(context.Background())
	m.mu.Lock()
	m.stop, m.done = stop, make(chan struct{})
	done := m.done
	m.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(m.interval)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				m.check(bg)
			}
		}
	}()
	return nil
}

// Shutdown stops the checks and waits for the one running, or for ctx.
func (m *healthMonitor) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	stop, done := m.stop, m.done
	m.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// check sets the capacity part and the mappings' parts.
func (m *healthMonitor) check(ctx context.Context) {
	st := m.eng.Stats()
	state, why := appliance.CapacityHealth(st.StoredBytes, st.CapacityBytes)
	m.health.Set(appliance.ComponentCapacity, state, why)
	m.health.SyncPrefix(partDomainKey, domainKeyHealth(m.eng))
	m.checkCloud()
	if m.repl == nil {
		return
	}
	statuses, err := m.repl.Statuses(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("health: replication status", "err", err)
		}
		return
	}
	want := make([]appliance.ComponentHealth, 0, len(statuses))
	for _, s := range statuses {
		mh := appliance.MappingHealth{Name: s.Name, Store: s.SourceStore, State: s.State, LastError: s.LastError,
			LagSeconds: s.LagSeconds, LagAlertSeconds: s.LagAlertSeconds}
		state, why := mh.Health()
		want = append(want, appliance.ComponentHealth{Name: appliance.PartMapping + s.Name, Store: s.SourceStore,
			State: state, Reason: why})
	}
	m.health.SyncPrefix(appliance.PartMapping, want)
}

package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	dd "github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/alert"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// dropInterval is how often the dedup-drop detector looks at the stores.
const dropInterval = 10 * time.Minute

// alertService runs the alert dispatcher, subscribed to every event the
// state records, and the dedup-drop detector.
type alertService struct {
	d      *alert.Dispatcher
	drops  *alert.DropDetector
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newAlerts(eng *chunkstore.Engine, state *appliance.State, log *slog.Logger) *alertService {
	ao := alert.DefaultOptions()
	ao.Logger = log
	d := alert.New(state, ao)
	state.Subscribe(d.Notify)
	return &alertService{d: d, drops: alert.NewDropDetector(engineItems{eng}, state, alert.DropOptions{Logger: log})}
}

func (s *alertService) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.d.Run(ctx) }()
	go func() { defer s.wg.Done(); s.drops.RunDrops(ctx, dropInterval) }()
	return nil
}

func (s *alertService) Addr() string { return "" }

// Shutdown stops delivery; events still queued are not sent.
func (s *alertService) Shutdown(ctx context.Context) error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// engineItems gives the detector every store's items.
type engineItems struct{ eng *chunkstore.Engine }

func (e engineItems) StoreNames() []string {
	var names []string
	for _, st := range e.eng.Stores() {
		names = append(names, st.Name)
	}
	return names
}

func (e engineItems) Items(ctx context.Context, store string) ([]dd.Item, error) {
	return e.eng.List(ctx, store, "")
}

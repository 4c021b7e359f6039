package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// shutdownTimeout bounds stopping all the services together.
const shutdownTimeout = 30 * time.Second

// service is a front end as serve runs it: Start binds its listener and
// returns once it accepts, Shutdown returns when everything it started
// has (or ctx.Err() when ctx expires first). Shutdown is harmless on a
// service that never started.
type service interface {
	Start(ctx context.Context) error
	Addr() string
	Shutdown(ctx context.Context) error
}

// namedService is a service with its name in the log and the prefix of
// its start error ("" when the service's own error names it).
type namedService struct {
	name, prefix string
	component    string // its part in the appliance's health ("" for none)
	svc          service
}

// serviceList runs services together: started in the order added,
// stopped in reverse with one deadline.
type serviceList struct {
	log    *slog.Logger
	health *appliance.Health // told when a service starts, fails or stops
	list   []namedService
}

func (l *serviceList) add(name, prefix, component string, svc service) {
	l.list = append(l.list, namedService{name: name, prefix: prefix, component: component, svc: svc})
}

// setHealth records a service's state in the appliance's health.
func (l *serviceList) setHealth(s namedService, state appliance.HealthState, reason string) {
	if l.health != nil && s.component != "" {
		l.health.Set(s.component, state, reason)
	}
}

// start starts the services in order. When one cannot start, the error
// is returned and the caller's stop stops them all.
func (l *serviceList) start(ctx context.Context) error {
	for _, s := range l.list {
		if err := s.svc.Start(ctx); err != nil {
			if s.prefix != "" {
				err = fmt.Errorf("%s: %w", s.prefix, err)
			}
			l.setHealth(s, appliance.Failed, err.Error())
			return err
		}
		l.setHealth(s, appliance.OK, "")
		l.log.Debug("service started", "service", s.name, "addr", s.svc.Addr())
	}
	return nil
}

// stop shuts every service down, the last added first, all within
// shutdownTimeout; then the list is empty. A service that ignores its
// deadline is logged and left behind, so that the rest still stop.
func (l *serviceList) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for i := len(l.list) - 1; i >= 0; i-- {
		s := l.list[i]
		if err := s.svc.Shutdown(ctx); err != nil {
			l.log.Warn(s.name+" shutdown", "err", err)
		}
		if l.health != nil && s.component != "" {
			l.health.Remove(s.component)
		}
	}
	l.list = nil
}

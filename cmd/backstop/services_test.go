package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// recorder is a service that notes its calls in a shared log.
type recorder struct {
	name     string
	log      *[]string
	startErr error
}

func (r *recorder) Start(context.Context) error {
	*r.log = append(*r.log, "start "+r.name)
	return r.startErr
}

func (r *recorder) Addr() string { return r.name + ":0" }

func (r *recorder) Shutdown(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("no deadline")
	}
	*r.log = append(*r.log, "stop "+r.name)
	return nil
}

func TestServiceList(t *testing.T) {
	broken := errors.New("listen tcp x: bind: address already in use")
	tests := []struct {
		name    string
		failing string // the service whose Start fails
		wantErr string
		want    []string
		health  string // each part's state after start, as "a=ok b=failed"
	}{
		{"all start", "", "", []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}, "a=ok b=ok c=ok"},
		{"the second fails", "b", "b: " + broken.Error(), []string{"start a", "start b", "stop c", "stop b", "stop a"}, "a=ok b=failed"},
		{"the first fails", "a", "a: " + broken.Error(), []string{"start a", "stop c", "stop b", "stop a"}, "a=failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			health := appliance.NewHealth(time.Now)
			l := serviceList{log: slog.New(slog.NewTextHandler(io.Discard, nil)), health: health}
			for _, n := range []string{"a", "b", "c"} {
				r := &recorder{name: n, log: &calls}
				if n == tt.failing {
					r.startErr = broken
				}
				l.add(n+" server", n, n, r)
			}
			err := l.start(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("start: %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || !errors.Is(err, broken)):
				t.Errorf("start: %v, want %s", err, tt.wantErr)
			}
			if got := healthOf(health); got != tt.health {
				t.Errorf("health after start %q, want %q", got, tt.health)
			}
			l.stop()
			l.stop() // a second stop does nothing
			if !slices.Equal(calls, tt.want) {
				t.Errorf("calls %q, want %q", calls, tt.want)
			}
			if got := healthOf(health); got != "" {
				t.Errorf("health after stop %q, want no parts", got)
			}
		})
	}
}

// healthOf lists the parts of h and their states.
func healthOf(h *appliance.Health) string {
	var parts []string
	for _, c := range h.Report().Components {
		parts = append(parts, c.Name+"="+string(c.State))
	}
	return strings.Join(parts, " ")
}

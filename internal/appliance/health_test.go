package appliance

import (
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	now := testNow
	h := NewHealth(func() time.Time { return now })
	if r := h.Report(); r.State != OK || len(r.Components) != 0 {
		t.Fatalf("empty %+v", r)
	}
	steps := []struct {
		name, part string
		state      HealthState
		want       HealthState // the whole appliance's after the step
	}{
		{"engine up", ComponentEngine, OK, OK},
		{"smb cannot listen", ComponentSMB, Failed, Failed},
		{"damage found", ComponentVerify, Degraded, Failed},
		{"smb back", ComponentSMB, OK, Degraded},
		{"clean verify", ComponentVerify, OK, OK},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			now = now.Add(time.Minute)
			h.Set(s.part, s.state, s.name)
			if r := h.Report(); r.State != s.want {
				t.Fatalf("appliance %s, want %s: %+v", r.State, s.want, r)
			}
		})
	}
	r := h.Report()
	if len(r.Components) != 3 || r.Components[0].Name != ComponentEngine || r.Components[2].Name != ComponentVerify {
		t.Fatalf("components %+v", r.Components)
	}
	engine := r.Components[0]
	h.Set(ComponentEngine, OK, "still fine")
	if got := h.Report().Components[0]; !got.Since.Equal(engine.Since) || got.Reason != "still fine" {
		t.Fatalf("same state moved Since: %+v then %+v", engine, got)
	}
	h.Remove(ComponentSMB)
	if len(h.Report().Components) != 2 {
		t.Fatal("not removed")
	}
}

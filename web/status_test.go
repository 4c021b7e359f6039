package web

import (
	"bytes"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

func TestStatus(t *testing.T) {
	e := newEnv(t)
	data := bytes.Repeat([]byte("backstop status "), 1<<14)
	e.write("default", "a", data)
	e.write("default", "b", data)
	e.clock.Advance(90 * time.Second)
	e.run([]check{
		{"no token", req{method: "GET", path: "/api/v1/status"}, 401, codeUnauthenticated},
		{"bad token", req{method: "GET", path: "/api/v1/status", auth: "token:nope"}, 401, codeUnauthenticated},
		{"read-only", req{method: "GET", path: "/api/v1/status", auth: "ro"}, 200, ""},
		{"wrong method", req{method: "POST", path: "/api/v1/status", auth: "admin"}, 405, codeMethodNotAllowed},
	})
	var st statusView
	e.do(req{method: "GET", path: "/api/v1/status", auth: "admin"}).decode(t, &st)
	if st.PoolFigures == nil {
		t.Fatalf("status for admin without the pool's figures: %+v", st)
	}
	if st.Version != "test" || st.UptimeSeconds != 90 || st.Scope != scopeAppliance || st.LogicalBytes != int64(2*len(data)) || st.Items != 2 ||
		st.Stores != 1 || st.DedupRatio <= 1 || st.StoredBytes <= 0 || st.IngestedBytes != int64(2*len(data)) ||
		st.NewChunks == 0 || st.DupChunks == 0 || st.Containers == 0 || st.Volumes == 0 || st.CapacityBytes <= 0 {
		t.Fatalf("status %+v", st)
	}
	// A read-only user may read store default: its figures, none of the
	// pool's (figures_test.go).
	var ro statusView
	e.do(req{method: "GET", path: "/api/v1/status", auth: "ro"}).decode(t, &ro)
	if ro.PoolFigures != nil || ro.Scope != scopeStores || ro.LogicalBytes != st.LogicalBytes || ro.Items != 2 || ro.Stores != 1 ||
		ro.StoredBytes <= 0 || ro.DedupRatio <= 1 {
		t.Fatalf("status for ro %+v", ro)
	}
}

// TestStatusHealth: the status shows the core's health registry.
func TestStatusHealth(t *testing.T) {
	e := newEnv(t)
	e.core.Health().Set(appliance.ComponentSMB, appliance.Failed, "listen :445: permission denied")
	var st struct {
		Health appliance.HealthReport `json:"health"`
	}
	e.do(req{method: "GET", path: "/api/v1/status", auth: "ro"}).decode(t, &st)
	if st.Health.State != appliance.Failed || len(st.Health.Components) != 1 || st.Health.Components[0].Reason != "listen :445: permission denied" {
		t.Fatalf("health %+v", st.Health)
	}
}

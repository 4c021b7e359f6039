package appliance

import "testing"

func TestCapacityHealth(t *testing.T) {
	cases := []struct {
		used, capacity int64
		want           HealthState
	}{
		{0, 0, OK}, {79, 100, OK}, {80, 100, Warning}, {89, 100, Warning}, {90, 100, Degraded},
		{94, 100, Degraded}, {95, 100, Failed}, {120, 100, Failed},
	}
	for _, c := range cases {
		if got, why := CapacityHealth(c.used, c.capacity); got != c.want || why == "" {
			t.Errorf("%d of %d: %s (%q), want %s", c.used, c.capacity, got, why, c.want)
		}
	}
}

func TestMappingHealth(t *testing.T) {
	cases := []struct {
		m    MappingHealth
		want HealthState
	}{
		{MappingHealth{State: "idle", LagAlertSeconds: 3600}, OK},
		{MappingHealth{State: "running", LagSeconds: 3601, LagAlertSeconds: 3600}, Warning},
		{MappingHealth{State: "running", LagSeconds: 4*3600 + 1, LagAlertSeconds: 3600}, Degraded},
		{MappingHealth{State: "error", LastError: "dial: refused", LagAlertSeconds: 3600}, Degraded},
		{MappingHealth{State: "running", LagSeconds: 1e9}, OK}, // no threshold
	}
	for _, c := range cases {
		if got, _ := c.m.Health(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.m, got, c.want)
		}
	}
}

func TestSyncPrefix(t *testing.T) {
	h := NewHealth(nil)
	h.Set(ComponentEngine, OK, "")
	h.SyncPrefix(PartMapping, []ComponentHealth{{Name: PartMapping + "a", State: Warning}, {Name: PartMapping + "b", State: OK}})
	h.SyncPrefix(PartMapping, []ComponentHealth{{Name: PartMapping + "b", Store: "s", State: OK}})
	r := h.Report()
	if len(r.Components) != 2 || r.Components[1].Name != PartMapping+"b" || r.Components[1].Store != "s" || r.State != OK {
		t.Fatalf("%+v", r)
	}
}

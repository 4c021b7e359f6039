package web

import (
	"strings"
	"testing"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// TestHealthRoute: GET /api/v1/health gives an administrator every part,
// the damage and the capacity figures; op only the parts and damage of
// the stores it may read, and capacity's state alone.
func TestHealthRoute(t *testing.T) {
	e := figuresEnv(t)
	h := e.core.Health()
	h.Set(appliance.ComponentEngine, appliance.OK, "")
	h.Set(appliance.ComponentCapacity, appliance.Warning, "82.0% of the capacity used (820 of 1000 bytes)")
	h.SetFor(appliance.PartMapping+"a-offsite", "a", appliance.Warning, "replication lag 4000 s")
	h.SetFor(appliance.PartMapping+"b-offsite", "b", appliance.Degraded, "replication failing")
	h.SetDamage(2, []appliance.DamagedItem{
		{Store: "a", Item: "mine", Name: "store a, item mine"},
		{Store: "nas.secret", Item: "1.1", Share: "secret", Path: "/payroll.xlsx", Name: "share secret: /payroll.xlsx"},
	})
	e.run([]check{
		{"no token", req{method: "GET", path: "/api/v1/health"}, 401, codeUnauthenticated},
		{"read-only", req{method: "GET", path: "/api/v1/health", auth: "ro"}, 200, ""},
	})
	var admin, op appliance.HealthReport
	e.do(req{method: "GET", path: "/api/v1/health", auth: "admin"}).decode(t, &admin)
	if admin.State != appliance.Degraded || len(admin.Components) != 5 || len(admin.Damage) != 2 ||
		admin.Damage[1].Path != "/payroll.xlsx" {
		t.Fatalf("admin %+v", admin)
	}
	e.do(req{method: "GET", path: "/api/v1/health", auth: "op"}).decode(t, &op)
	var parts []string
	for _, p := range op.Components {
		parts = append(parts, p.Name)
		if p.Name == appliance.ComponentCapacity && (p.Reason != "" || p.State != appliance.Warning) {
			t.Errorf("capacity for op %+v", p)
		}
		if p.Name == appliance.ComponentVerify && strings.Contains(p.Reason, "payroll") {
			t.Errorf("verify reason for op names another's file: %+v", p)
		}
	}
	if got := strings.Join(parts, " "); got != "capacity engine replication:a-offsite verify" {
		t.Fatalf("op sees parts %q", got)
	}
	if len(op.Damage) != 1 || op.Damage[0].Store != "a" || op.State != appliance.Degraded {
		t.Fatalf("op %+v", op)
	}
	var st statusView
	e.do(req{method: "GET", path: "/api/v1/status", auth: "op"}).decode(t, &st)
	if len(st.Health.Components) != 4 || len(st.Health.Damage) != 1 {
		t.Fatalf("status health for op %+v", st.Health)
	}
	m := e.do(req{method: "GET", path: "/metrics"})
	for _, want := range []string{`backstop_health_state{component="capacity"} 1`, `backstop_health_state{component="engine"} 0`,
		`backstop_health_state{component="replication:b-offsite"} 2`} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

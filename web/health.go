package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// healthFor is the appliance's health as u may see it: everything for an
// administrator; for anyone else only the parts and damaged items about
// stores u may read (docs/security.md "Figures"), the capacity part's
// state without its figures, and the appliance's state the worst of what
// is left.
func (s *Server) healthFor(u appliance.User) appliance.HealthReport {
	r := s.health.Report()
	if s.seesPool(u) {
		return r
	}
	readable := s.readable(u)
	parts := make([]appliance.ComponentHealth, 0, len(r.Components))
	for _, p := range r.Components {
		switch {
		case p.Store != "" && !readable(p.Store):
			continue
		case p.Name == appliance.ComponentCapacity:
			p.Reason = "" // pool figures
		case p.Name == appliance.ComponentVerify && p.State != appliance.OK:
			p.Reason = "damaged: the last verify found damage" // counts over the pool
		}
		parts = append(parts, p)
	}
	damage := make([]appliance.DamagedItem, 0, len(r.Damage))
	for _, d := range r.Damage {
		if readable(d.Store) {
			damage = append(damage, d)
		}
	}
	return appliance.HealthReport{State: appliance.Worst(parts), Components: parts, Damage: damage}
}

// getHealth handles GET /api/v1/health.
func (s *Server) getHealth(c *gin.Context) {
	c.JSON(http.StatusOK, s.healthFor(user(c)))
}

// healthCollector exports backstop_health_state{component} at scrape
// time: 0 ok, 1 warning, 2 degraded, 3 failed.
type healthCollector struct {
	s    *Server
	desc *prometheus.Desc
}

func newHealthCollector(s *Server) healthCollector {
	return healthCollector{s: s, desc: prometheus.NewDesc("backstop_health_state",
		"Health of each part of the appliance: 0 ok, 1 warning, 2 degraded, 3 failed.", []string{"component"}, nil)}
}

func (hc healthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- hc.desc }

func (hc healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range hc.s.health.Report().Components {
		ch <- prometheus.MustNewConstMetric(hc.desc, prometheus.GaugeValue, float64(p.State.Rank()), p.Name)
	}
}

package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backstop-appliance/backstop/internal/alert"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Alerter sends a test message to an alert target and counts deliveries
// (alert.Dispatcher).
type Alerter interface {
	TestTarget(ctx context.Context, t appliance.AlertTarget) error
	Stats() alert.Stats
}

// alertMetrics are the dispatcher's counters for /metrics; none when
// alerts are off.
func (s *Server) alertMetrics() []prometheus.Collector {
	if s.opts.Alerts == nil {
		return nil
	}
	a := s.opts.Alerts
	out := []prometheus.Collector{prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "backstop_alerts_queued",
		Help: "Events waiting for delivery to the alert targets."}, func() float64 { return float64(a.Stats().Queued) })}
	for result, f := range map[string]func(alert.Stats) int64{
		"delivered": func(st alert.Stats) int64 { return st.Delivered },
		"failed":    func(st alert.Stats) int64 { return st.Failed },
		"dropped":   func(st alert.Stats) int64 { return st.Dropped },
	} {
		out = append(out, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "backstop_alerts_total",
			Help:        "Alert messages since start, by result: delivered, failed (after retries), dropped (queue full).",
			ConstLabels: prometheus.Labels{"result": result}}, func() float64 { return float64(f(a.Stats())) }))
	}
	return out
}

// alertTestTimeout bounds POST /api/v1/alerts/test: a webhook's retries
// and an SMTP conversation.
const alertTestTimeout = 60 * time.Second

// alertsView is GET /api/v1/alerts: the settings with every password
// blanked, and whether one is set.
type alertsView struct {
	LoginThreshold int               `json:"login_threshold"`
	Targets        []alertTargetView `json:"targets"`
}

type alertTargetView struct {
	appliance.AlertTarget
	PasswordSet bool `json:"password_set,omitempty"`
}

func viewAlerts(a appliance.Alerts) alertsView {
	v := alertsView{LoginThreshold: a.LoginThreshold, Targets: []alertTargetView{}}
	for _, t := range a.Targets {
		tv := alertTargetView{AlertTarget: t}
		if t.Email != nil {
			e := *t.Email
			tv.PasswordSet, e.Password = e.Password != "", ""
			tv.Email = &e
		}
		v.Targets = append(v.Targets, tv)
	}
	return v
}

// keepPasswords gives an e-mail target sent without a password the one
// the saved target of the same name has, so that an edit need not
// repeat it.
func keepPasswords(cur appliance.Alerts, t *appliance.AlertTarget) {
	if t.Email == nil || t.Email.Password != "" {
		return
	}
	for _, old := range cur.Targets {
		if old.Name == t.Name && old.Email != nil {
			t.Email.Password = old.Email.Password
		}
	}
}

// getAlerts handles GET /api/v1/alerts (admin).
func (s *Server) getAlerts(c *gin.Context) {
	c.JSON(http.StatusOK, viewAlerts(s.state.Settings().Alerts))
}

// putAlerts handles PUT /api/v1/alerts (admin): it replaces the targets.
// An e-mail target without a password keeps the saved one of its name;
// password_set is ignored, so what GET gives can be sent back.
func (s *Server) putAlerts(c *gin.Context) {
	var v alertsView
	if err := decode(c, &v); err != nil {
		s.fail(c, err)
		return
	}
	a := appliance.Alerts{LoginThreshold: v.LoginThreshold}
	for _, t := range v.Targets {
		a.Targets = append(a.Targets, t.AlertTarget)
	}
	st := s.state.Settings()
	for i := range a.Targets {
		keepPasswords(st.Alerts, &a.Targets[i])
	}
	if err := a.Validate(); err != nil {
		s.fail(c, invalid("%s", clean(err)))
		return
	}
	st.Alerts = a
	if err := s.state.SetSettings(st); err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "alerts.update", "alerts", "changed the alert targets: %d", len(a.Targets))
	c.JSON(http.StatusOK, viewAlerts(s.state.Settings().Alerts))
}

// alertTestRequest names a saved target, or gives one (to test before
// saving; without a password it takes the saved one of its name).
type alertTestRequest struct {
	Name   string                 `json:"name,omitempty"`
	Target *appliance.AlertTarget `json:"target,omitempty"`
}

// alertTestResult is the answer of POST /api/v1/alerts/test.
type alertTestResult struct {
	Target    string `json:"target"`
	Delivered bool   `json:"delivered"`
	Error     string `json:"error,omitempty"`
}

// testAlert handles POST /api/v1/alerts/test (admin): it sends a test
// message and answers 200 with whether it was delivered.
func (s *Server) testAlert(c *gin.Context) {
	if s.opts.Alerts == nil {
		s.fail(c, errorf(http.StatusNotFound, codeNotFound, "alerts are not available"))
		return
	}
	var r alertTestRequest
	if err := decode(c, &r); err != nil {
		s.fail(c, err)
		return
	}
	cur := s.state.Settings().Alerts
	var target appliance.AlertTarget
	switch {
	case r.Target != nil:
		target = *r.Target
		keepPasswords(cur, &target)
	case r.Name != "":
		found := false
		for _, t := range cur.Targets {
			if t.Name == r.Name {
				target, found = t, true
			}
		}
		if !found {
			s.fail(c, errorf(http.StatusNotFound, codeNotFound, "no alert target %q", r.Name))
			return
		}
	default:
		s.fail(c, invalid("give name or target"))
		return
	}
	if err := target.Validate(); err != nil {
		s.fail(c, invalid("%s", clean(err)))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), alertTestTimeout)
	defer cancel()
	res := alertTestResult{Target: target.Name, Delivered: true}
	if err := s.opts.Alerts.TestTarget(ctx, target); err != nil {
		res.Delivered, res.Error = false, err.Error()
	}
	outcome := "delivered"
	if !res.Delivered {
		outcome = "not delivered"
	}
	s.audit(c, "alerts.test", target.Name, "sent a test alert to %s: %s", target.Name, outcome)
	c.JSON(http.StatusOK, res)
}

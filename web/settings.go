package web

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// getSettings handles GET /api/v1/settings.
func (s *Server) getSettings(c *gin.Context) {
	st := s.state.Settings()
	if st.Blackout == nil {
		st.Blackout = []appliance.Window{}
	}
	st.Alerts = appliance.Alerts{} // they hold secrets: GET /api/v1/alerts (admin)
	c.JSON(http.StatusOK, st)
}

// putSettings handles PUT /api/v1/settings (admin): it replaces the
// settings the body names (a field left out keeps its value) after
// validating them.
func (s *Server) putSettings(c *gin.Context) {
	st := s.state.Settings()
	alerts := st.Alerts
	if err := decode(c, &st); err != nil {
		s.fail(c, err)
		return
	}
	st.Alerts = alerts // changed only through PUT /api/v1/alerts
	for i, w := range st.Blackout {
		if err := w.Validate(); err != nil {
			s.fail(c, invalid("blackout window %d: %s", i+1, clean(err)))
			return
		}
	}
	// The current settings are never the zero Housekeeping (which the
	// appliance reads as its defaults): the body set both fields to zero.
	if st.Housekeeping == (appliance.Housekeeping{}) {
		s.fail(c, invalid("housekeeping interval 0 minutes: want 1 to %d", appliance.MaxHousekeepingInterval))
		return
	}
	if err := st.Housekeeping.Validate(); err != nil {
		s.fail(c, invalid("%s", clean(err)))
		return
	}
	if err := s.state.SetSettings(st); err != nil {
		s.fail(c, err)
		return
	}
	auto := "off"
	if st = s.state.Settings(); st.Housekeeping.Auto {
		auto = fmt.Sprintf("every %d minutes", st.Housekeeping.IntervalMinutes)
	}
	verify := "off"
	if st.Verify.Auto {
		verify = fmt.Sprintf("all data every %d days", st.Verify.EveryDays)
	}
	s.audit(c, "settings.update", "settings", "changed the settings: %d blackout windows, automatic housekeeping %s, scheduled verify %s",
		len(st.Blackout), auto, verify)
	st.Alerts = appliance.Alerts{}
	c.JSON(http.StatusOK, st)
}

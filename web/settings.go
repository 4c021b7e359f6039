package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"backstop/internal/appliance"
)

// getSettings handles GET /api/v1/settings.
func (s *Server) getSettings(c *gin.Context) {
	st := s.state.Settings()
	if st.Blackout == nil {
		st.Blackout = []appliance.Window{}
	}
	c.JSON(http.StatusOK, st)
}

// putSettings handles PUT /api/v1/settings (admin): it replaces every
// setting after validating each blackout window.
func (s *Server) putSettings(c *gin.Context) {
	var st appliance.Settings
	if err := decode(c, &st); err != nil {
		s.fail(c, err)
		return
	}
	for i, w := range st.Blackout {
		if err := w.Validate(); err != nil {
			s.fail(c, invalid("blackout window %d: %s", i+1, clean(err)))
			return
		}
	}
	if err := s.state.SetSettings(st); err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "settings.update", "settings", "changed the settings: %d blackout windows", len(st.Blackout))
	if st.Blackout == nil {
		st.Blackout = []appliance.Window{}
	}
	c.JSON(http.StatusOK, st)
}

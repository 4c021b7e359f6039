package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// verification is what the server needs of the core's verify job (an
// *appliance.VerifyJob).
type verification interface {
	jobControl
	Status() appliance.VerifyStatus
	Start() error
	ProgressRatio() float64
}

// getVerify handles GET /api/v1/verify.
func (s *Server) getVerify(c *gin.Context) {
	c.JSON(http.StatusOK, s.verifyFor(c))
}

// startVerify handles POST /api/v1/verify (operator).
func (s *Server) startVerify(c *gin.Context) {
	if err := s.verify.Start(); err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "verify.start", "", "started a verify")
	c.JSON(http.StatusAccepted, s.verifyFor(c))
}

// controlVerify handles POST /api/v1/verify/{pause,resume,cancel}
// (operator).
func (s *Server) controlVerify(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := control(s.verify, action); err != nil {
			s.fail(c, err)
			return
		}
		s.audit(c, "verify."+action, "", "%s the verify", controlled(action))
		c.JSON(http.StatusOK, s.verifyFor(c))
	}
}

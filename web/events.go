package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Event listing page sizes.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

// listEvents handles GET /api/v1/events?after=&limit=&kind=. Only admins
// see the audit log: others get system events whatever kind they ask for
// but "audit", which is 403.
func (s *Server) listEvents(c *gin.Context) {
	after := int64(0)
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.fail(c, invalid("after %q: an event id", v))
			return
		}
		after = n
	}
	limit := defaultEventLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEventLimit {
			s.fail(c, invalid("limit %q: a number from 1 to %d", v, maxEventLimit))
			return
		}
		limit = n
	}
	kind := c.Query("kind")
	switch kind {
	case "", "system", "audit":
	default:
		s.fail(c, invalid("kind %q: audit or system", kind))
		return
	}
	if s.policy.Allow(user(c), appliance.ActionAdmin, appliance.Appliance()) != nil {
		if kind == "audit" {
			s.fail(c, errorf(http.StatusForbidden, codeForbidden, "the audit log needs the admin role"))
			return
		}
		kind = "system"
	}
	events := s.state.Events(after, limit, kind)
	if events == nil {
		events = []appliance.Event{}
	}
	c.JSON(http.StatusOK, events)
}

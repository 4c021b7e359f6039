package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// The scopes of the status figures.
const (
	// scopeAppliance: the pool's figures, for administrators.
	scopeAppliance = "appliance"
	// scopeStores: sums over the stores the caller may read, for everyone
	// else; no figure of the pool as a whole (docs/security.md "Figures").
	scopeStores = "stores"
)

// statusView is GET /api/v1/status. Its stored, logical, ratio, items
// and stores figures cover Scope: the pool for an administrator, the
// stores the caller may read for anyone else (stored bytes then the sum
// of those stores' store-relative stored bytes).
type statusView struct {
	Version       string  `json:"version"`
	UptimeSeconds int64   `json:"uptime_seconds"`
	Scope         string  `json:"scope"`
	StoredBytes   int64   `json:"stored_bytes"`
	LogicalBytes  int64   `json:"logical_bytes"`
	DedupRatio    float64 `json:"dedup_ratio"`
	Items         int64   `json:"items"`
	Stores        int     `json:"stores"`
	// PoolFigures are shown to administrators only.
	*PoolFigures
	// Health is the appliance's parts and their states (the core's
	// health registry), as GET /api/v1/health gives them to the caller.
	Health appliance.HealthReport `json:"health"`
}

// PoolFigures are the status figures of the appliance as a whole, which
// move when anyone writes: shown to administrators only, since a user
// who may upload could watch them around an upload of a guess and learn
// whether someone else holds that data.
type PoolFigures struct {
	CapacityBytes int64 `json:"capacity_bytes"`
	Containers    int   `json:"containers"`
	Volumes       int   `json:"volumes"`
	IngestedBytes int64 `json:"ingested_bytes"`
	RestoredBytes int64 `json:"restored_bytes"`
	NewChunks     int64 `json:"new_chunks"`
	DupChunks     int64 `json:"dup_chunks"`
}

// getStatus handles GET /api/v1/status.
func (s *Server) getStatus(c *gin.Context) {
	u := user(c)
	st := s.eng.Stats()
	v := statusView{Version: s.opts.Version, UptimeSeconds: int64(s.now().Sub(s.started).Seconds()), Health: s.healthFor(u)}
	if s.seesPool(u) {
		co := s.eng.Counters()
		v.Scope, v.StoredBytes, v.LogicalBytes, v.DedupRatio, v.Items, v.Stores =
			scopeAppliance, st.StoredBytes, st.LogicalBytes, st.DedupRatio, st.Items, len(st.Stores)
		v.PoolFigures = &PoolFigures{CapacityBytes: st.CapacityBytes, Containers: st.Containers, Volumes: st.Volumes,
			IngestedBytes: co.IngestedBytes, RestoredBytes: co.RestoredBytes, NewChunks: co.NewChunks, DupChunks: co.DupChunks}
		c.JSON(http.StatusOK, v)
		return
	}
	v.Scope = scopeStores
	readable := s.readable(u)
	for _, ss := range st.Stores {
		if readable(ss.Name) {
			v.Stores++
			v.Items += ss.Items
			v.LogicalBytes += ss.LogicalBytes
			v.StoredBytes += ss.StoredBytes
		}
	}
	v.DedupRatio = storeRatio(v.LogicalBytes, v.StoredBytes)
	c.JSON(http.StatusOK, v)
}

// storeRatio is logical over stored as the engine gives it: 1 for
// nothing, 0 for logical bytes that stored nothing.
func storeRatio(logical, stored int64) float64 {
	switch {
	case stored > 0:
		return float64(logical) / float64(stored)
	case logical > 0:
		return 0
	}
	return 1
}

// healthReporter reads the core's health registry.
type healthReporter interface {
	Report() appliance.HealthReport
}

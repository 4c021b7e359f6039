package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backstop-appliance/backstop/catalyst"
	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
)

// CatalystTraffic gives the Catalyst service's running totals.
type CatalystTraffic interface {
	Traffic() catalyst.Traffic
	Addr() string
}

// catalystView is GET /api/v1/catalyst.
type catalystView struct {
	Enabled bool   `json:"enabled"`
	Addr    string `json:"addr,omitempty"`
	catalyst.Traffic
}

// getCatalyst handles GET /api/v1/catalyst.
func (s *Server) getCatalyst(c *gin.Context) {
	if s.opts.Catalyst == nil {
		c.JSON(http.StatusOK, catalystView{})
		return
	}
	v := catalystView{Enabled: true, Addr: s.opts.Catalyst.Addr()}
	if s.seesPool(user(c)) { // every client's traffic: an admin's figure
		v.Traffic = s.opts.Catalyst.Traffic()
	}
	c.JSON(http.StatusOK, v)
}

// createStoreWith makes the domain (if asked), the store, and sets its
// options (if given).
func (s *Server) createStoreWith(c *gin.Context, req createStoreRequest) (chunkstore.StoreInfo, error) {
	if req.StoreOptions != nil {
		if err := req.StoreOptions.Validate(); err != nil {
			return chunkstore.StoreInfo{}, err
		}
	}
	if req.NewDomain {
		if _, err := s.eng.CreateDomain(req.Domain, chunker.DefaultParams()); err != nil {
			return chunkstore.StoreInfo{}, err
		}
		s.audit(c, "domain.create", req.Domain, "created dedup domain %s", req.Domain)
	}
	info, err := s.eng.CreateStore(req.Name, req.Domain)
	if err != nil || req.StoreOptions == nil {
		return info, err
	}
	return s.eng.SetStoreOptions(info.Name, *req.StoreOptions)
}

// setStoreOptions handles PUT /api/v1/stores/:name/options (admin).
func (s *Server) setStoreOptions(c *gin.Context) {
	var req chunkstore.StoreOptions
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	info, err := s.eng.SetStoreOptions(c.Param("name"), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "store.options", info.Name, "store %s: transfer %s, immutable %d days, clients %v",
		info.Name, info.Transfer, info.ImmutableDays, info.Clients)
	for _, v := range s.storeViews(func(name string) bool { return name == info.Name }) {
		if v.Name == info.Name {
			c.JSON(http.StatusOK, v)
			return
		}
	}
	c.JSON(http.StatusOK, storeView{Name: info.Name, Domain: info.Domain, Created: info.Created, DedupRatio: 1, StoreOptions: info.StoreOptions})
}

// catalystMetrics are the Catalyst service's counters for /metrics.
func (s *Server) catalystMetrics() []prometheus.Collector {
	if s.opts.Catalyst == nil {
		return nil
	}
	t := func() catalyst.Traffic { return s.opts.Catalyst.Traffic() }
	counter := func(name, help string, f func(catalyst.Traffic) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(t())) })
	}
	return []prometheus.Collector{
		counter("backstop_catalyst_received_bytes_total", "Catalyst message bytes received since start.",
			func(t catalyst.Traffic) int64 { return t.BytesIn }),
		counter("backstop_catalyst_sent_bytes_total", "Catalyst message bytes sent since start.",
			func(t catalyst.Traffic) int64 { return t.BytesOut }),
		counter("backstop_catalyst_logical_bytes_total", "Logical bytes of items committed over Catalyst since start.",
			func(t catalyst.Traffic) int64 { return t.LogicalIn }),
		counter("backstop_catalyst_puts_total", "Items committed over Catalyst since start.",
			func(t catalyst.Traffic) int64 { return t.Puts }),
		counter("backstop_catalyst_puts_failed_total", "Catalyst puts that ended without an item since start.",
			func(t catalyst.Traffic) int64 { return t.PutsFailed }),
		counter("backstop_catalyst_gets_total", "Catalyst gets completed since start.",
			func(t catalyst.Traffic) int64 { return t.Gets }),
		counter("backstop_catalyst_chunks_received_total", "Chunks clients had to send since start.",
			func(t catalyst.Traffic) int64 { return t.ChunksSent }),
		counter("backstop_catalyst_chunks_deduped_total", "Chunk references clients did not have to send since start.",
			func(t catalyst.Traffic) int64 { return t.ChunksKnown }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "backstop_catalyst_streams", Help: "Catalyst puts and gets in progress."},
			func() float64 { return float64(t().ActiveStream) }),
	}
}

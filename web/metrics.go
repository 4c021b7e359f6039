package web

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// newRegistry makes the server's own Prometheus registry: engine counters
// and figures read at scrape time, verify progress, HTTP requests, and the
// Go runtime and process collectors.
func (s *Server) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	counter := func(name, help string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "backstop_http_requests_total", Help: "HTTP requests answered, by method, route and status code.",
	}, []string{"method", "route", "code"})
	reg.MustRegister(
		counter("backstop_ingested_bytes_total", "Logical bytes written into items since start.",
			func() int64 { return s.eng.Counters().IngestedBytes }),
		counter("backstop_restored_bytes_total", "Bytes read back from items since start.",
			func() int64 { return s.eng.Counters().RestoredBytes }),
		counter("backstop_chunks_new_total", "Chunks stored because no earlier item had them, since start.",
			func() int64 { return s.eng.Counters().NewChunks }),
		counter("backstop_chunks_duplicate_total", "Chunks found already stored, since start.",
			func() int64 { return s.eng.Counters().DupChunks }),
		gauge("backstop_logical_bytes", "Size of all items together, as written.",
			func() float64 { return float64(s.eng.Stats().LogicalBytes) }),
		gauge("backstop_stored_bytes", "Bytes the volumes hold.",
			func() float64 { return float64(s.eng.Stats().StoredBytes) }),
		gauge("backstop_capacity_bytes", "Capacity of the volumes.",
			func() float64 { return float64(s.eng.Stats().CapacityBytes) }),
		gauge("backstop_dedup_ratio", "Logical bytes over stored bytes.",
			func() float64 { return s.eng.Stats().DedupRatio }),
		gauge("backstop_verify_progress_ratio", "How far the current or last verify is, 0 to 1.",
			s.verify.ProgressRatio),
		gauge("backstop_housekeeping_progress_ratio", "How far the current or last housekeeping run is, 0 to 1.",
			s.hkFigs.ProgressRatio),
		counter("backstop_housekeeping_reclaimed_bytes_total", "Bytes housekeeping gave back to the file system since start.",
			s.hkFigs.ReclaimedBytes),
		gauge("backstop_housekeeping_last_duration_seconds", "How long the last finished housekeeping run took.",
			func() float64 { return s.hkFigs.LastDuration().Seconds() }),
		s.requests,
		replicationCollector{s},
		newHealthCollector(s),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, result := range []string{appliance.JobDone, appliance.JobFailed, appliance.JobCancelled} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "backstop_housekeeping_runs_total", Help: "Housekeeping runs finished since start, by result (done, failed, cancelled).",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(s.hkFigs.Runs(result)) }))
	}
	reg.MustRegister(s.catalystMetrics()...)
	reg.MustRegister(s.alertMetrics()...)
	if s.opts.CommitFailures != nil {
		reg.MustRegister(commitFailureCollector{s.opts.CommitFailures})
	}
	return reg
}

// metricsAuth lets a request for /metrics through if no token is set or
// it carries "Authorization: Bearer TOKEN" with the metrics token or a
// valid API token acting as an admin: the metrics are appliance-wide
// figures no other role may see (docs/security.md).
func (s *Server) metricsAuth(c *gin.Context) {
	want := s.opts.MetricsToken
	if want == "" {
		return
	}
	got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if ok && strings.HasPrefix(got, appliance.TokenPrefix) {
		if tok, u, err := s.state.UseToken(got); err == nil {
			c.Set(ctxUser, u)
			c.Set(ctxToken, tok)
			if !u.Role.Allows(appliance.RoleAdmin) {
				s.fail(c, errorf(http.StatusForbidden, codeForbidden, "/metrics needs an API token with the admin role"))
			}
			return
		}
	} else if ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
		return
	}
	c.Header("WWW-Authenticate", `Bearer realm="backstop metrics"`)
	s.fail(c, errorf(http.StatusUnauthorized, codeUnauthenticated, "/metrics needs the metrics bearer token or an API token"))
}

// metricsHandler serves /metrics (metricsAuth guards it).
func (s *Server) metricsHandler() gin.HandlerFunc {
	h := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}})
	return gin.WrapH(h)
}

// countRequest counts a finished request.
func (s *Server) countRequest(c *gin.Context) {
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	method := c.Request.Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	s.requests.WithLabelValues(method, route, strconv.Itoa(c.Writer.Status())).Inc()
}

// slogPrinter lets promhttp log through the server's logger.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Error("metrics", "err", v) }

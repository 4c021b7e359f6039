package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/replication"
)

// replicationRoutes adds /api/v1/replication/...: mappings (this
// appliance as a source), trusted sources and replicas (as a target),
// settings and dedup domain export/import.
func (s *Server) replicationRoutes(authed, operator, admin *gin.RouterGroup) {
	authed.GET("/replication/identity", s.replOn, s.replIdentity)
	authed.GET("/replication/mappings", s.replOn, s.replListMappings)
	// Mapping a store sends its items to another appliance: an admin's
	// decision, like who may access the store.
	admin.POST("/replication/mappings", s.replOn, s.replCreateMapping)
	authed.GET("/replication/mappings/:name", s.replOn, s.replGetMapping)
	admin.PATCH("/replication/mappings/:name", s.replOn, s.replPatchMapping)
	admin.DELETE("/replication/mappings/:name", s.replOn, s.replDeleteMapping)
	operator.POST("/replication/mappings/:name/sync", s.replOn, s.replSyncMapping)
	admin.POST("/replication/mappings/:name/reverse", s.replOn, s.replReverse)
	admin.POST("/replication/mappings/:name/resume", s.replOn, s.replResume)
	admin.GET("/replication/sources", s.replOn, s.replListSources)
	admin.POST("/replication/sources", s.replOn, s.replAddSource)
	admin.DELETE("/replication/sources/:name", s.replOn, s.replRemoveSource)
	authed.GET("/replication/replicas", s.replOn, s.replListReplicas)
	admin.POST("/replication/replicas/:name/promote", s.replOn, s.replPromote)
	authed.GET("/replication/settings", s.replOn, s.replGetSettings)
	admin.PUT("/replication/settings", s.replOn, s.replPutSettings)
	authed.GET("/replication/domains", s.replOn, s.replListDomains)
	admin.POST("/replication/domains", s.replOn, s.replImportDomain)
	admin.GET("/replication/domains/:name/key", s.replOn, s.replExportDomain)
}

// replOn answers 404 when the appliance runs without replication.
func (s *Server) replOn(c *gin.Context) {
	if s.opts.Replication == nil {
		s.fail(c, errorf(http.StatusNotFound, codeNotFound, "replication is not enabled on this appliance (backstop serve --replication ADDR)"))
		return
	}
	c.Next()
}

// replFail maps the replication service's errors, then the rest.
func (s *Server) replFail(c *gin.Context, err error) {
	s.fail(c, serviceError(err, replication.Kinds(), replClean))
}

func replClean(err error) string {
	return clean(fmt.Errorf("%s", errorsTrim(err.Error(), "replication: ")))
}

func errorsTrim(msg, prefix string) string {
	for len(msg) >= len(prefix) && msg[:len(prefix)] == prefix {
		msg = msg[len(prefix):]
	}
	return msg
}

func (s *Server) replIdentity(c *gin.Context) {
	c.JSON(http.StatusOK, s.opts.Replication.Identity())
}

func (s *Server) replListMappings(c *gin.Context) {
	out, err := s.opts.Replication.Statuses(c.Request.Context())
	if err != nil {
		s.replFail(c, err)
		return
	}
	// A mapping's figures describe its store's items: a non-administrator
	// sees the mappings of stores he may read (docs/security.md, Figures).
	readable := s.readable(user(c))
	shown := []replication.Status{}
	for _, st := range out {
		if readable(st.SourceStore) {
			shown = append(shown, st)
		}
	}
	respondList(s, c, shown, func(st replication.Status) string { return st.Name })
}

func (s *Server) replGetMapping(c *gin.Context) {
	st, err := s.opts.Replication.Status(c.Request.Context(), c.Param("name"))
	if err == nil && !s.readable(user(c))(st.SourceStore) {
		err = fmt.Errorf("%w: mapping %s", replication.ErrNotFound, c.Param("name")) // as if it did not exist
	}
	if err != nil {
		s.replFail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

func (s *Server) replCreateMapping(c *gin.Context) {
	var m replication.Mapping
	if err := decode(c, &m); err != nil {
		s.fail(c, err)
		return
	}
	m, err := s.opts.Replication.CreateMapping(m)
	if err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "replication.mapping.create", m.Name, "mapping %s created: store %s to %s (store %s)", m.Name, m.SourceStore, m.Target, m.TargetStore)
	s.replRespondMapping(c, http.StatusCreated, m.Name)
}

func (s *Server) replRespondMapping(c *gin.Context, status int, name string) {
	st, err := s.opts.Replication.Status(c.Request.Context(), name)
	if err != nil {
		s.replFail(c, err)
		return
	}
	c.JSON(status, st)
}

func (s *Server) replPatchMapping(c *gin.Context) {
	var u replication.MappingUpdate
	if err := decode(c, &u); err != nil {
		s.fail(c, err)
		return
	}
	m, err := s.opts.Replication.UpdateMapping(c.Param("name"), u)
	if err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "replication.mapping.update", m.Name, "mapping %s changed", m.Name)
	s.replRespondMapping(c, http.StatusOK, m.Name)
}

func (s *Server) replDeleteMapping(c *gin.Context) {
	name := c.Param("name")
	if err := s.opts.Replication.DeleteMapping(name); err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "replication.mapping.delete", name, "mapping %s deleted", name)
	c.Status(http.StatusNoContent)
}

func (s *Server) replSyncMapping(c *gin.Context) {
	name := c.Param("name")
	if err := s.opts.Replication.SyncNow(name); err != nil {
		s.replFail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"mapping": name, "state": "queued"})
}

func (s *Server) replReverse(c *gin.Context) {
	m, err := s.opts.Replication.Reverse(c.Param("name"))
	if err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "replication.mapping.reverse", m.Name, "mapping %s reversed: store %s is a replica of %s", m.Name, m.SourceStore, m.Target)
	s.replRespondMapping(c, http.StatusOK, m.Name)
}

func (s *Server) replResume(c *gin.Context) {
	m, err := s.opts.Replication.Resume(c.Param("name"))
	if err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "replication.mapping.resume", m.Name, "mapping %s resumed", m.Name)
	s.replRespondMapping(c, http.StatusOK, m.Name)
}

func (s *Server) replListSources(c *gin.Context) {
	respondList(s, c, s.opts.Replication.Sources(), func(src replication.Source) string { return src.Name })
}

func (s *Server) replAddSource(c *gin.Context) {
	var req struct {
		Name        string `json:"name"`
		Fingerprint string `json:"fingerprint"`
	}
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	src, err := s.opts.Replication.AddSource(req.Name, req.Fingerprint)
	if err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "replication.source.add", src.Name, "replication source %s trusted (certificate %s)", src.Name, src.Fingerprint)
	c.JSON(http.StatusCreated, src)
}

func (s *Server) replRemoveSource(c *gin.Context) {
	name := c.Param("name")
	if err := s.opts.Replication.RemoveSource(name); err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "replication.source.remove", name, "replication source %s no longer trusted", name)
	c.Status(http.StatusNoContent)
}

func (s *Server) replListReplicas(c *gin.Context) {
	readable := s.readable(user(c))
	shown := []replication.Replica{}
	for _, r := range s.opts.Replication.Replicas() {
		if readable(r.Store) {
			shown = append(shown, r)
		}
	}
	respondList(s, c, shown, func(r replication.Replica) string { return r.Store })
}

func (s *Server) replPromote(c *gin.Context) {
	r, err := s.opts.Replication.Promote(c.Param("name"))
	if err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "replication.replica.promote", r.Store, "replica store %s promoted (failover)", r.Store)
	c.JSON(http.StatusOK, r)
}

func (s *Server) replGetSettings(c *gin.Context) {
	c.JSON(http.StatusOK, s.opts.Replication.Settings())
}

func (s *Server) replPutSettings(c *gin.Context) {
	var st replication.Settings
	if err := decode(c, &st); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.opts.Replication.SetSettings(st); err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "replication.settings", "", "replication bandwidth limit set to %d bytes/s", st.LimitBytesPerSec)
	c.JSON(http.StatusOK, s.opts.Replication.Settings())
}

// domainKey is a dedup domain with its key, for export and import.
type domainKey struct {
	Name    string         `json:"name"`
	Key     []byte         `json:"key"`
	Chunker chunker.Params `json:"chunker"`
}

// domainAdmin exports and imports dedup domain keys.
type domainAdmin interface {
	Domains() []dedup.Domain
	Domain(name string) (dedup.Domain, error)
	ImportDomain(name string, key []byte, params chunker.Params) (dedup.Domain, bool, error)
}

func (s *Server) domains(c *gin.Context) (domainAdmin, bool) {
	d, ok := s.eng.(domainAdmin)
	if !ok {
		s.fail(c, errorf(http.StatusNotFound, codeNotFound, "this engine does not export domains"))
	}
	return d, ok
}

func (s *Server) replListDomains(c *gin.Context) {
	if da, ok := s.domains(c); ok {
		respondList(s, c, da.Domains(), func(d dedup.Domain) string { return d.Name })
	}
}

func (s *Server) replExportDomain(c *gin.Context) {
	da, ok := s.domains(c)
	if !ok {
		return
	}
	d, err := da.Domain(c.Param("name"))
	if err != nil {
		s.replFail(c, err)
		return
	}
	s.audit(c, "domain.export", d.Name, "key of dedup domain %s exported", d.Name)
	c.JSON(http.StatusOK, domainKey{Name: d.Name, Key: d.Key, Chunker: d.Chunker})
}

func (s *Server) replImportDomain(c *gin.Context) {
	var req domainKey
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	da, ok := s.domains(c)
	if !ok {
		return
	}
	d, created, err := da.ImportDomain(req.Name, req.Key, req.Chunker)
	if err != nil {
		s.replFail(c, err)
		return
	}
	d.Key = nil
	if !created {
		c.JSON(http.StatusOK, d)
		return
	}
	s.audit(c, "domain.import", d.Name, "dedup domain %s created from an exported key", d.Name)
	c.JSON(http.StatusCreated, d)
}

// replicationCollector exports every mapping's status at scrape time.
type replicationCollector struct{ s *Server }

func replDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"mapping"}, nil)
}

var (
	descPendingItems = replDesc("backstop_replication_pending_items", "Items (and deletions) not yet replicated.")
	descPendingBytes = replDesc("backstop_replication_pending_bytes", "Logical bytes of the items not yet replicated.")
	descLag          = replDesc("backstop_replication_lag_seconds", "Age of the oldest item not yet replicated.")
	descLogical      = replDesc("backstop_replication_logical_bytes_total", "Logical bytes of the items replicated.")
	descWire         = replDesc("backstop_replication_wire_bytes_total", "Bytes on the replication connections, both ways.")
	descErrors       = replDesc("backstop_replication_errors_total", "Replication passes that failed since start.")
	descLastSuccess  = replDesc("backstop_replication_last_success_timestamp_seconds", "When the last pass succeeded (Unix time).")
)

func (rc replicationCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPendingItems, descPendingBytes, descLag, descLogical, descWire, descErrors, descLastSuccess} {
		ch <- d
	}
}

func (rc replicationCollector) Collect(ch chan<- prometheus.Metric) {
	svc := rc.s.opts.Replication
	if svc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sts, err := svc.Statuses(ctx)
	if err != nil {
		return
	}
	for _, st := range sts {
		g := func(d *prometheus.Desc, t prometheus.ValueType, v float64) {
			ch <- prometheus.MustNewConstMetric(d, t, v, st.Name)
		}
		g(descPendingItems, prometheus.GaugeValue, float64(st.ItemsPending))
		g(descPendingBytes, prometheus.GaugeValue, float64(st.BytesPending))
		g(descLag, prometheus.GaugeValue, st.LagSeconds)
		g(descLogical, prometheus.CounterValue, float64(st.LogicalBytes))
		g(descWire, prometheus.CounterValue, float64(st.WireBytes))
		g(descErrors, prometheus.CounterValue, float64(st.Errors))
		var last float64
		if !st.LastSuccess.IsZero() {
			last = float64(st.LastSuccess.Unix())
		}
		g(descLastSuccess, prometheus.GaugeValue, last)
	}
}

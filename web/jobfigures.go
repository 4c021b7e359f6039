package web

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Verify and housekeeping work on the whole pool, so every figure they
// report (containers, bytes, what a run reclaimed or would, damaged items)
// depends on every store's data: an operator who uploads a guess, deletes
// it and reads what housekeeping would reclaim learns whether another
// store holds the same data. Non-administrators see a job's state and
// times, and the damage to items of stores they may read; the figures are
// an administrator's (docs/security.md, "Figures").

// housekeepingFor is the housekeeping status as the caller may see it.
func (s *Server) housekeepingFor(c *gin.Context) appliance.HousekeepingStatus {
	st := s.hk.Status()
	if s.seesPool(user(c)) {
		return st
	}
	return appliance.HousekeepingStatus{JobInfo: st.JobInfo, HousekeepingDetail: appliance.HousekeepingDetail{
		Auto: st.Auto, Threshold: st.Threshold, Phase: st.Phase, NextAutoCheck: st.NextAutoCheck}}
}

// verifyFor is the verify status as the caller may see it: no pool
// figures, and only the damage of items in stores he may read.
func (s *Server) verifyFor(c *gin.Context) appliance.VerifyStatus {
	st := s.verify.Status()
	u := user(c)
	if s.seesPool(u) {
		return st
	}
	readable := s.readable(u)
	out := appliance.VerifyStatus{JobInfo: st.JobInfo}
	for _, d := range st.Damage {
		var items, names []string
		for i, it := range d.Items {
			if store, _, ok := strings.Cut(it, "/"); ok && readable(store) {
				items = append(items, it)
				if i < len(d.Names) {
					names = append(names, d.Names[i])
				}
			}
		}
		if len(items) > 0 {
			d.Items, d.Names = items, names
			out.Damage = append(out.Damage, d)
		}
	}
	if out.Damage == nil {
		out.Damage = []appliance.VerifyDamage{}
	}
	return out
}

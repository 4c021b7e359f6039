package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// storeView is a store with its figures.
type storeView struct {
	Name         string    `json:"name"`
	Domain       string    `json:"domain"`
	Created      time.Time `json:"created"`
	Items        int64     `json:"items"`
	LogicalBytes int64     `json:"logical_bytes"`
	StoredBytes  int64     `json:"stored_bytes"`
	DedupRatio   float64   `json:"dedup_ratio"`
	chunkstore.StoreOptions
}

type createStoreRequest struct {
	Name   string `json:"name"`
	Domain string `json:"domain"`
	// NewDomain creates Domain first (a fresh key: nothing shared).
	NewDomain bool `json:"new_domain"`
	// Options, if given, are set on the new store.
	*chunkstore.StoreOptions
}

// seesPool reports whether u sees the appliance as a whole: every store
// and the pool's figures (administrators; docs/security.md "Figures").
func (s *Server) seesPool(u appliance.User) bool {
	return s.policy.Allow(u, appliance.ActionAdmin, appliance.Appliance()) == nil
}

// readable returns whether u may see the store called name and its
// figures: an administrator every store, anyone else the stores whose
// items the policy lets him read through some door (the store API,
// Catalyst, its share, its library).
func (s *Server) readable(u appliance.User) func(store string) bool {
	if s.seesPool(u) {
		return func(string) bool { return true }
	}
	doors := []appliance.Via{appliance.ViaAPI, appliance.ViaCatalyst, appliance.ViaShare, appliance.ViaLibrary}
	return func(store string) bool {
		for _, via := range doors {
			if s.policy.Allow(u, appliance.ActionRead, appliance.Items(store, via)) == nil {
				return true
			}
		}
		return false
	}
}

// storeViews merges the engine's store list with its per-store figures,
// keeping the stores for which keep is true.
func (s *Server) storeViews(keep func(store string) bool) []storeView {
	byName := map[string]chunkstore.StoreStats{}
	for _, st := range s.eng.Stats().Stores {
		byName[st.Name] = st
	}
	infos := s.eng.Stores()
	out := make([]storeView, 0, len(infos))
	for _, in := range infos {
		if !keep(in.Name) {
			continue
		}
		st, ok := byName[in.Name]
		v := storeView{Name: in.Name, Domain: in.Domain, Created: in.Created, DedupRatio: 1, StoreOptions: in.StoreOptions}
		if ok {
			v.Items, v.LogicalBytes, v.StoredBytes, v.DedupRatio = st.Items, st.LogicalBytes, st.StoredBytes, st.DedupRatio
		}
		out = append(out, v)
	}
	return out
}

// checkStoreName is middleware rejecting a malformed :name.
func (s *Server) checkStoreName(c *gin.Context) {
	if name := c.Param("name"); !chunkstore.ValidName(name) {
		s.fail(c, invalid("store name %q: letters, digits, '.', '_', '-'; at most 64", name))
		return
	}
	c.Next()
}

// listStores handles GET /api/v1/stores: the stores the caller may read
// (readable).
func (s *Server) listStores(c *gin.Context) {
	respondList(s, c, s.storeViews(s.readable(user(c))), func(v storeView) string { return v.Name })
}

// getStore handles GET /api/v1/stores/:name. A store the caller may not
// read is answered as one that does not exist.
func (s *Server) getStore(c *gin.Context) {
	name := c.Param("name")
	readable := s.readable(user(c))
	for _, v := range s.storeViews(func(store string) bool { return store == name && readable(store) }) {
		if v.Name == name {
			c.JSON(http.StatusOK, v)
			return
		}
	}
	s.fail(c, errorf(http.StatusNotFound, codeNotFound, "store %q not found", name))
}

// createStore handles POST /api/v1/stores (operator).
func (s *Server) createStore(c *gin.Context) {
	var req createStoreRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if req.Domain == "" {
		req.Domain = chunkstore.DefaultDomain
	}
	if !chunkstore.ValidName(req.Name) {
		s.fail(c, invalid("store name %q: letters, digits, '.', '_', '-'; at most 64", req.Name))
		return
	}
	if !chunkstore.ValidName(req.Domain) {
		s.fail(c, invalid("domain name %q: letters, digits, '.', '_', '-'; at most 64", req.Domain))
		return
	}
	if appliance.Reserved(req.Name) {
		s.fail(c, invalid("store name %q: names beginning %q or %q are kept for the stores of shares and tape libraries",
			req.Name, appliance.SharePrefix, appliance.LibraryPrefix))
		return
	}
	info, err := s.createStoreWith(c, req)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "store.create", info.Name, "created store %s in domain %s", info.Name, info.Domain)
	c.JSON(http.StatusCreated, storeView{Name: info.Name, Domain: info.Domain, Created: info.Created, DedupRatio: 1, StoreOptions: info.StoreOptions})
}

// deleteStore handles DELETE /api/v1/stores/:name (admin). A share's, a
// tape library's or an S3 bucket's store goes with its share, library or
// bucket.
func (s *Server) deleteStore(c *gin.Context) {
	name := c.Param("name")
	if appliance.Reserved(name) {
		s.fail(c, errorf(http.StatusForbidden, codeForbidden, "store %s belongs to a share, a tape library or an S3 bucket; delete that instead", name))
		return
	}
	if err := s.eng.DeleteStore(name); err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "store.delete", name, "deleted store %s", name)
	c.Status(http.StatusNoContent)
}

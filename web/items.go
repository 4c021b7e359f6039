package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// Item listing page sizes.
const (
	defaultItemLimit = 100
	maxItemLimit     = 1000
)

// itemView is an item as the API shows it.
type itemView struct {
	Name     string            `json:"name"`
	Size     int64             `json:"size"`
	NewBytes int64             `json:"new_bytes"`
	Chunks   int64             `json:"chunks"`
	Created  time.Time         `json:"created"`
	Modified time.Time         `json:"modified"`
	Meta     map[string]string `json:"meta"`
	// FreedIfDeleted is the stored bytes only this item references: what
	// housekeeping would give back after deleting it.
	FreedIfDeleted int64 `json:"freed_if_deleted_bytes"`
}

type itemPage struct {
	Items []itemView `json:"items"`
	Next  string     `json:"next"`
}

func viewItem(it chunkstore.Item, freed int64) itemView {
	meta := it.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	return itemView{Name: it.Name, Size: it.Size, NewBytes: it.NewBytes, Chunks: it.Chunks,
		Created: it.Created, Modified: it.Modified, Meta: meta, FreedIfDeleted: freed}
}

// checkItemName rejects what can never be an item name, as the engine's
// writer does: empty, too long, not UTF-8, control characters.
func checkItemName(name string) error {
	switch {
	case name == "":
		return invalid("empty item name")
	case len(name) > chunkstore.MaxNameLen:
		return invalid("item name longer than %d bytes", chunkstore.MaxNameLen)
	case !utf8.ValidString(name):
		return invalid("item name is not UTF-8")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return invalid("item name %q has a control character", name)
		}
	}
	return nil
}

// itemName is the :item path wildcard without its leading slash.
func itemName(c *gin.Context) string {
	return strings.TrimPrefix(c.Param("item"), "/")
}

// listItems handles GET /api/v1/stores/:name/items?prefix=&limit=&after=.
func (s *Server) listItems(c *gin.Context) {
	limit := defaultItemLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxItemLimit {
			s.fail(c, invalid("limit %q: a number from 1 to %d", v, maxItemLimit))
			return
		}
		limit = n
	}
	items, more, err := s.eng.ListPage(c.Request.Context(), c.Param("name"), c.Query("prefix"), c.Query("after"), limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	page := itemPage{Items: []itemView{}}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.Name
	}
	var usage map[string]int64
	if len(items) > 0 {
		if usage, err = s.eng.ItemUsage(c.Request.Context(), c.Param("name"), names); err != nil {
			s.fail(c, err)
			return
		}
	}
	for _, it := range items {
		page.Items = append(page.Items, viewItem(it, usage[it.Name]))
	}
	if more {
		page.Next = page.Items[len(page.Items)-1].Name
	}
	c.JSON(http.StatusOK, page)
}

// getItem handles GET /api/v1/stores/:name/items/*item.
func (s *Server) getItem(c *gin.Context) {
	name := itemName(c)
	if err := checkItemName(name); err != nil {
		s.fail(c, err)
		return
	}
	it, err := s.eng.Stat(c.Request.Context(), c.Param("name"), name)
	if err != nil {
		s.fail(c, err)
		return
	}
	usage, err := s.eng.ItemUsage(c.Request.Context(), c.Param("name"), []string{it.Name})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewItem(it, usage[it.Name]))
}

// deleteItem handles DELETE /api/v1/stores/:name/items/*item (operator).
func (s *Server) deleteItem(c *gin.Context) {
	store, name := c.Param("name"), itemName(c)
	if err := checkItemName(name); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.eng.Delete(c.Request.Context(), store, name); err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "item.delete", store+"/"+name, "deleted item %s from store %s", name, store)
	c.Status(http.StatusNoContent)
}

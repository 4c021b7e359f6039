package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// Page sizes of the lists paginated by paginate. The default is the
// largest page so that a client unaware of pagination still gets every
// entry of any list an appliance has in practice (docs/decisions.md).
const (
	maxListLimit     = 1000
	defaultListLimit = maxListLimit
)

// paginate answers a list the way events are: ?limit= (1 to 1000,
// default 1000) entries after ?after=, the key of the last entry of the
// previous page. Entries are in key order. When more follow, the answer
// has a "Link: <...>; rel=\"next\"" header and "X-Next-After" names the
// cursor. It fails the request and returns false on a bad limit.
func paginate[T any](s *Server, c *gin.Context, list []T, key func(T) string) ([]T, bool) {
	limit := defaultListLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			s.fail(c, invalid("limit %q: a number from 1 to %d", v, maxListLimit))
			return nil, false
		}
		limit = n
	}
	sorted := slices.Clone(list)
	slices.SortStableFunc(sorted, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	start := 0
	if after := c.Query("after"); after != "" {
		start, _ = slices.BinarySearchFunc(sorted, after, func(e T, t string) int {
			if key(e) <= t {
				return -1
			}
			return 1
		})
	}
	end := min(len(sorted), start+limit)
	page := sorted[start:end]
	if end < len(sorted) && len(page) > 0 {
		next := key(page[len(page)-1])
		q := c.Request.URL.Query()
		q.Set("after", next)
		q.Set("limit", strconv.Itoa(limit))
		u := url.URL{Path: c.Request.URL.Path, RawQuery: q.Encode()}
		c.Header("Link", "<"+u.String()+`>; rel="next"`)
		c.Header("X-Next-After", next)
	}
	return page, true
}

// respondList answers 200 with one page of list (paginate).
func respondList[T any](s *Server, c *gin.Context, list []T, key func(T) string) {
	if page, ok := paginate(s, c, list, key); ok {
		if page == nil {
			page = []T{}
		}
		c.JSON(http.StatusOK, page)
	}
}

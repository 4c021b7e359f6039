package web

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDoc describes every endpoint; a test checks it against the routes.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI handles GET /api/v1/openapi.json (no authentication).
func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPIDoc)
}

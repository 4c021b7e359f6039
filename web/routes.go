package web

import (
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// routes builds the gin engine: middleware, the API, metrics and the UI.
func (s *Server) routes() *gin.Engine {
	// gin keeps its mode in a package variable; release mode only silences
	// its debug output. Written once, so later servers only read it.
	if gin.Mode() != gin.ReleaseMode {
		gin.SetMode(gin.ReleaseMode)
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.UseRawPath = true // "%2F" in a name stays in its path parameter
	r.UnescapePathValues = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	_ = r.SetTrustedProxies(nil) // ClientIP is the peer address, never a header
	r.Use(s.logRequest, gin.CustomRecoveryWithWriter(io.Discard, s.recovered), securityHeaders, limitBody(s.opts.MaxBody))
	r.NoRoute(s.noRoute)
	r.NoMethod(func(c *gin.Context) {
		s.fail(c, errorf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "method %s not allowed here", c.Request.Method))
	})

	r.GET("/metrics", s.metricsAuth, s.metricsHandler())
	api := r.Group("/api/v1")
	api.GET("/openapi.json", s.openAPI)
	api.POST("/sessions", limitBody(maxLoginBody), s.login)

	authed := api.Group("", s.authenticate)
	operator := authed.Group("", s.require(appliance.ActionWrite))
	admin := authed.Group("", s.require(appliance.ActionAdmin))

	authed.GET("/sessions/current", s.currentSessionInfo)
	authed.DELETE("/sessions/current", s.logout)
	authed.GET("/status", s.getStatus)
	authed.GET("/status/history", s.getHistory)
	authed.GET("/health", s.getHealth)

	admin.GET("/users", s.listUsers)
	admin.POST("/users", s.createUser)
	authed.GET("/users/:name", s.checkUserName, s.selfOrAdmin, s.getUser)
	authed.PATCH("/users/:name", s.checkUserName, s.selfOrAdmin, s.patchUser)
	admin.DELETE("/users/:name", s.checkUserName, s.deleteUser)

	authed.GET("/stores", s.listStores)
	operator.POST("/stores", s.createStore)
	authed.GET("/stores/:name", s.checkStoreName, s.getStore)
	admin.DELETE("/stores/:name", s.checkStoreName, s.deleteStore)
	admin.PUT("/stores/:name/options", s.checkStoreName, s.setStoreOptions)
	authed.GET("/catalyst", s.getCatalyst)
	read, write := s.items(appliance.ActionRead), s.items(appliance.ActionWrite)
	authed.GET("/stores/:name/items", s.checkStoreName, read, s.listItems)
	authed.GET("/stores/:name/items/*item", s.checkStoreName, read, s.getItem)
	operator.DELETE("/stores/:name/items/*item", s.checkStoreName, write, s.deleteItem)

	authed.GET("/shares", s.listShares)
	operator.POST("/shares", s.createShare)
	authed.GET("/shares/:name", s.checkShareName, s.getShare)
	operator.PATCH("/shares/:name", s.checkShareName, s.patchShare)
	admin.DELETE("/shares/:name", s.checkShareName, s.deleteShare)

	authed.GET("/verify", s.getVerify)
	operator.POST("/verify", s.startVerify)
	for _, action := range []string{"pause", "resume", "cancel"} {
		operator.POST("/verify/"+action, s.controlVerify(action))
	}

	authed.GET("/housekeeping", s.getHousekeeping)
	admin.GET("/housekeeping/plan", s.getHousekeepingPlan) // pool figures: an admin's
	operator.POST("/housekeeping", s.startHousekeeping)
	for _, action := range []string{"pause", "resume", "cancel"} {
		operator.POST("/housekeeping/"+action, s.controlHousekeeping(action))
	}
	authed.GET("/tasks", s.listTasks)
	authed.GET("/tasks/:id", s.getTask)
	operator.POST("/tasks/:id/cancel", s.cancelTask)
	authed.GET("/library-emulations", s.listEmulations)
	vtl := authed.Group("", s.vtl)
	vtlOp := operator.Group("", s.vtl)
	vtlAdmin := admin.Group("", s.vtl)
	vtl.GET("/libraries", s.listLibraries)
	vtlOp.POST("/libraries", s.createLibrary)
	vtl.GET("/libraries/:lib", s.getLibrary)
	vtlAdmin.DELETE("/libraries/:lib", s.deleteLibrary)
	vtl.GET("/libraries/:lib/cartridges", s.listCartridges)
	vtlOp.POST("/libraries/:lib/cartridges", s.addCartridges)
	vtl.GET("/libraries/:lib/cartridges/:barcode", s.getCartridge)
	vtlOp.PATCH("/libraries/:lib/cartridges/:barcode", s.patchCartridge)
	vtlAdmin.DELETE("/libraries/:lib/cartridges/:barcode", s.deleteCartridge)
	vtlOp.POST("/libraries/:lib/cartridges/:barcode/move", s.moveCartridge)
	vtlOp.POST("/libraries/:lib/cartridges/:barcode/import", s.importCartridge)
	vtlOp.POST("/libraries/:lib/cartridges/:barcode/export", s.exportCartridge)

	authed.GET("/settings", s.getSettings)
	admin.PUT("/settings", s.putSettings)
	admin.GET("/alerts", s.getAlerts)
	admin.PUT("/alerts", s.putAlerts)
	admin.POST("/alerts/test", s.testAlert)
	authed.GET("/events", s.listEvents)
	s.replicationRoutes(authed, operator, admin)
	s.tokenRoutes(authed)
	s.s3KeyRoutes(authed)
	return r
}

// logRequest logs one line per request and counts it for /metrics.
func (s *Server) logRequest(c *gin.Context) {
	start := time.Now()
	c.Next()
	s.countRequest(c)
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	level := slogLevel(c.Writer.Status())
	if !s.log.Enabled(c.Request.Context(), level) {
		return
	}
	attrs := []any{"method", c.Request.Method, "route", route,
		"status", c.Writer.Status(), "duration", time.Since(start), "user", user(c).Name, "client", c.ClientIP()}
	if tok, ok := viaToken(c); ok {
		attrs = append(attrs, "token", tok.Name)
	}
	s.log.Log(c.Request.Context(), level, "http request", attrs...)
}

// recovered answers a panicking handler with a plain 500; the stack goes
// to the log only.
func (s *Server) recovered(c *gin.Context, err any) {
	s.log.Error("handler panicked", "method", c.Request.Method, "route", c.FullPath(),
		"panic", fmt.Sprint(err), "stack", string(debug.Stack()))
	s.fail(c, errorf(http.StatusInternalServerError, codeInternal, "internal error"))
}

// contentSecurityPolicy lets the UI load its own scripts, styles and
// images and talk to its own API, and nothing else: no inline script or
// style attribute, no framing, no plugins.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders are sent with every response; HSTS over HTTPS only.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	if c.Request.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		h.Set("Cache-Control", "no-store")
	}
	c.Next()
}

// bodyLimitKey holds a request's body limit in the gin context.
const bodyLimitKey = "backstop.bodyLimit"

// drainMax is the largest declared body over its route's limit that is
// read and thrown away before the 400, so that the client, still
// sending, gets the answer rather than a reset connection; a larger one
// is answered at once and its connection closed.
const drainMax = 4 << 20

// limitBody bounds the request body to n bytes: a larger declared length
// is refused before the handler runs, a body that grows past it fails its
// read (and decode answers 400). A later limitBody on the route tightens
// it.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if cl := c.Request.ContentLength; cl > n {
			if cl <= drainMax {
				_, _ = io.Copy(io.Discard, io.LimitReader(c.Request.Body, cl))
			} else {
				c.Header("Connection", "close")
			}
			c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Error: errorDetail{Code: codeInvalid,
				Message: fmt.Sprintf("request body larger than %d bytes", n)}})
			return
		}
		if cur, ok := c.Get(bodyLimitKey); !ok || cur.(int64) > n {
			c.Set(bodyLimitKey, n)
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}

// noRoute answers unknown API paths with 404 and anything else with the UI.
func (s *Server) noRoute(c *gin.Context) {
	p := c.Request.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") || p == "/metrics" || s.opts.UI == nil ||
		(c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
		s.fail(c, errorf(http.StatusNotFound, codeNotFound, "endpoint %s %s not found", c.Request.Method, p))
		return
	}
	s.serveUI(c)
}

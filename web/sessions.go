package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Login rate limit: this many failures for one user name or one client
// address within the window block further attempts until the window passes.
const (
	loginFailures = 5
	loginWindow   = 5 * time.Minute
)

// limiter counts recent failures per key ("user:NAME", "ip:ADDR").
type limiter struct {
	now    func() time.Time
	limit  int
	window time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time
}

func newLimiter(now func() time.Time, limit int, window time.Duration) *limiter {
	return &limiter{now: now, limit: limit, window: window, failures: map[string][]time.Time{}}
}

// blocked reports how long the keys stay blocked; 0 means not blocked.
func (l *limiter) blocked(keys ...string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		fs := l.prune(k, now)
		if len(fs) >= l.limit {
			wait = max(wait, fs[len(fs)-l.limit].Add(l.window).Sub(now))
		}
	}
	return wait
}

// fail counts a failure against every key.
func (l *limiter) fail(keys ...string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.failures[k] = append(l.prune(k, now), now)
	}
	if len(l.failures) > 10000 {
		for k := range l.failures {
			l.prune(k, now)
		}
	}
}

// reset forgets the failures of key.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

// prune drops failures older than the window; the caller holds mu.
func (l *limiter) prune(k string, now time.Time) []time.Time {
	fs := l.failures[k]
	i := 0
	for i < len(fs) && !now.Before(fs[i].Add(l.window)) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.failures, k)
		return nil
	}
	l.failures[k] = fs
	return fs
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type userRef struct {
	Name string         `json:"name"`
	Role appliance.Role `json:"role"`
}

type sessionResponse struct {
	Token     string    `json:"token,omitempty"`
	CSRFToken string    `json:"csrf_token,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userRef   `json:"user"`
}

// login handles POST /api/v1/sessions.
func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if req.Username == "" || req.Password == "" {
		s.fail(c, invalid("username and password are required"))
		return
	}
	userKey, ipKey := "user:"+req.Username, "ip:"+c.ClientIP()
	if wait := s.limiter.blocked(userKey, ipKey); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.fail(c, errorf(http.StatusTooManyRequests, codeRateLimited, "too many failed logins; try again in %s", wait.Round(time.Second)))
		return
	}
	u, err := s.state.Authenticate(req.Username, req.Password)
	if err != nil {
		s.limiter.fail(userKey, ipKey)
		s.record(appliance.Event{Level: appliance.LevelWarning, Kind: appliance.KindAudit, Actor: req.Username, Action: "login.failed",
			Object: req.Username, Message: "failed login from " + c.ClientIP()})
		s.fail(c, err)
		return
	}
	s.limiter.reset(userKey)
	token, se := s.sessions.create(u.Name)
	s.record(appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindAudit, Actor: u.Name, Action: "login",
		Object: u.Name, Message: "logged in from " + c.ClientIP()})
	http.SetCookie(c.Writer, &http.Cookie{Name: cookieName, Value: token, Path: "/",
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	c.JSON(http.StatusCreated, sessionResponse{Token: token, CSRFToken: se.csrf,
		ExpiresAt: s.sessions.expiry(se).UTC(), User: userRef{Name: u.Name, Role: u.Role}})
}

// currentSessionInfo handles GET /api/v1/sessions/current.
func (s *Server) currentSessionInfo(c *gin.Context) {
	u := user(c)
	c.JSON(http.StatusOK, sessionResponse{ExpiresAt: s.sessions.expiry(currentSession(c)).UTC(),
		User: userRef{Name: u.Name, Role: u.Role}})
}

// logout handles DELETE /api/v1/sessions/current.
func (s *Server) logout(c *gin.Context) {
	s.sessions.end(currentSession(c).key)
	s.audit(c, "logout", user(c).Name, "logged out")
	http.SetCookie(c.Writer, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	c.Status(http.StatusNoContent)
}

package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// LoginLimiter throttles password checks and audits failed logins
// (appliance.Limiter, shared by every protocol).
type LoginLimiter interface {
	// Begin reserves one check of user's password from addr; a refusal
	// is an error wrapping appliance.ErrThrottled (an
	// *appliance.ThrottleError says how long to wait). done reports the
	// outcome.
	Begin(protocol, addr, user string) (done func(ok bool), err error)
	// Refused audits a failed login that checked no password.
	Refused(protocol, addr, user, reason string)
}

// Bounds of the login request's fields, checked before anything is
// logged or hashed: the user model's names have at most 32 bytes
// (appliance.ValidUserName), passwords at most appliance.MaxPasswordLen.
const (
	maxLoginUser = 32
	maxLoginBody = 8 << 10 // both fields fully \u-escaped, and the JSON around them
)

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
	if len(req.Username) > maxLoginUser || len(req.Password) > appliance.MaxPasswordLen {
		s.logins.Refused("web", c.ClientIP(), req.Username, "user name or password too long")
		s.fail(c, invalid("a user name has at most %d bytes, a password at most %d", maxLoginUser, appliance.MaxPasswordLen))
		return
	}
	done, err := s.logins.Begin("web", c.ClientIP(), req.Username)
	if err != nil {
		wait := time.Minute
		if te := (*appliance.ThrottleError)(nil); errors.As(err, &te) {
			wait = te.RetryAfter
		}
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.fail(c, errorf(http.StatusTooManyRequests, codeRateLimited, "too many failed logins; try again in %s", wait.Round(time.Second)))
		return
	}
	u, err := s.state.Authenticate(req.Username, req.Password)
	done(err == nil)
	if err != nil {
		s.fail(c, err) // the limiter audited the failure
		return
	}
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
	expires := s.sessions.expiry(currentSession(c)).UTC()
	if tok, ok := viaToken(c); ok {
		expires = tok.Expires // zero: never
	}
	c.JSON(http.StatusOK, sessionResponse{ExpiresAt: expires, User: userRef{Name: u.Name, Role: u.Role}})
}

// logout handles DELETE /api/v1/sessions/current.
func (s *Server) logout(c *gin.Context) {
	if tok, ok := viaToken(c); ok {
		s.fail(c, invalid("this request used API token %q, not a session: revoke it with DELETE /api/v1/tokens/%s", tok.Name, tok.ID))
		return
	}
	s.sessions.end(currentSession(c).key)
	s.audit(c, "logout", user(c).Name, "logged out")
	http.SetCookie(c.Writer, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	c.Status(http.StatusNoContent)
}

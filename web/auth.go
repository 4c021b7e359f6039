package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// cookieName is the session cookie.
const cookieName = "backstop_session"

// Keys of values a request carries in its gin.Context.
const (
	ctxUser    = "web.user"
	ctxSession = "web.session"
)

// session is one logged-in client. Tokens are kept by their SHA-256 so the
// map never holds a usable token.
type session struct {
	key      [sha256.Size]byte
	user     string
	csrf     string
	created  time.Time
	lastUsed time.Time
}

// sessions holds the live sessions in memory.
type sessions struct {
	now       func() time.Time
	idle, max time.Duration

	mu   sync.Mutex
	byID map[[sha256.Size]byte]*session
}

func newSessions(now func() time.Time, idle, max time.Duration) *sessions {
	return &sessions{now: now, idle: idle, max: max, byID: map[[sha256.Size]byte]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for user and returns its token.
func (ss *sessions) create(user string) (string, session) {
	token := randomToken()
	now := ss.now()
	se := &session{key: sha256.Sum256([]byte(token)), user: user, csrf: randomToken(), created: now, lastUsed: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expire(now)
	ss.byID[se.key] = se
	return token, *se
}

// expiry is when se ends if it is not used again.
func (ss *sessions) expiry(se session) time.Time {
	idle, hard := se.lastUsed.Add(ss.idle), se.created.Add(ss.max)
	if idle.Before(hard) {
		return idle
	}
	return hard
}

// use looks a token up and marks its session used.
func (ss *sessions) use(token string) (session, bool) {
	key := sha256.Sum256([]byte(token))
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	se, ok := ss.byID[key]
	if !ok {
		return session{}, false
	}
	if !now.Before(ss.expiry(*se)) {
		delete(ss.byID, key)
		return session{}, false
	}
	se.lastUsed = now
	return *se, true
}

// end removes one session.
func (ss *sessions) end(key [sha256.Size]byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, key)
}

// endUser removes every session of user except keep's.
func (ss *sessions) endUser(user string, keep *[sha256.Size]byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, se := range ss.byID {
		if se.user == user && (keep == nil || k != *keep) {
			delete(ss.byID, k)
		}
	}
}

// expire drops ended sessions; the caller holds mu.
func (ss *sessions) expire(now time.Time) {
	for k, se := range ss.byID {
		if !now.Before(ss.expiry(*se)) {
			delete(ss.byID, k)
		}
	}
}

// authenticate is the middleware of every API route but login: it finds
// the session from the bearer token or the cookie, checks the CSRF token
// of a cookie-authenticated change, and loads the user with their current
// role.
func (s *Server) authenticate(c *gin.Context) {
	token, fromCookie := bearer(c.Request), false
	if token == "" {
		if ck, err := c.Request.Cookie(cookieName); err == nil && ck.Value != "" {
			token, fromCookie = ck.Value, true
		}
	}
	if token == "" {
		s.fail(c, errorf(http.StatusUnauthorized, codeUnauthenticated, "log in first"))
		return
	}
	if !fromCookie && strings.HasPrefix(token, appliance.TokenPrefix) {
		if s.useToken(c, token) {
			c.Next()
		}
		return
	}
	se, ok := s.sessions.use(token)
	if !ok {
		s.fail(c, errorf(http.StatusUnauthorized, codeUnauthenticated, "session expired or unknown; log in again"))
		return
	}
	if fromCookie && unsafeMethod(c.Request.Method) {
		got := c.GetHeader("X-CSRF-Token")
		if subtle.ConstantTimeCompare([]byte(got), []byte(se.csrf)) != 1 {
			s.fail(c, errorf(http.StatusForbidden, codeCSRF, "missing or wrong X-CSRF-Token header"))
			return
		}
	}
	u, err := s.state.User(se.user)
	if err != nil {
		s.sessions.end(se.key)
		s.fail(c, errorf(http.StatusUnauthorized, codeUnauthenticated, "user no longer exists"))
		return
	}
	c.Set(ctxUser, u)
	c.Set(ctxSession, se)
	c.Next()
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):])
	}
	return ""
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// accessPolicy decides what a user may do (appliance.Policy).
type accessPolicy interface {
	Allow(u appliance.User, action appliance.Action, target appliance.Target) error
}

// forbidden words a refusal of the policy for the API.
func forbidden(err error) error {
	var d *appliance.Denial
	if errors.As(err, &d) && d.Need != "" && d.Reason == "" {
		return errorf(http.StatusForbidden, codeForbidden, "this needs the %s role", d.Need)
	}
	if errors.As(err, &d) {
		return errorf(http.StatusForbidden, codeForbidden, "%s", d.Explain())
	}
	return errorf(http.StatusForbidden, codeForbidden, "%s", clean(err))
}

// require is middleware that lets through only users the policy allows
// action on the appliance's objects.
func (s *Server) require(action appliance.Action) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := s.policy.Allow(user(c), action, appliance.Appliance()); err != nil {
			s.fail(c, forbidden(err))
			return
		}
		c.Next()
	}
}

// items is middleware that lets through only users the policy allows
// action on the items of the store :name through the store API: a
// share's or a tape library's store is refused, naming the right way.
func (s *Server) items(action appliance.Action) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := s.policy.Allow(user(c), action, appliance.Items(c.Param("name"), appliance.ViaAPI))
		switch {
		case errors.Is(err, appliance.ErrForbidden):
			s.fail(c, forbidden(err))
			return
		case err != nil:
			s.fail(c, err)
			return
		}
		c.Next()
	}
}

// allowAdmin answers 403 and returns false unless the caller may
// administer: what says who may access a share or store is an admin's.
func (s *Server) allowAdmin(c *gin.Context, what string) bool {
	if err := s.policy.Allow(user(c), appliance.ActionAdmin, appliance.Appliance()); err != nil {
		s.fail(c, errorf(http.StatusForbidden, codeForbidden, "changing %s needs the admin role", what))
		return false
	}
	return true
}

// user is the authenticated caller.
func user(c *gin.Context) appliance.User {
	u, _ := c.Get(ctxUser)
	uu, _ := u.(appliance.User)
	return uu
}

func currentSession(c *gin.Context) session {
	v, _ := c.Get(ctxSession)
	se, _ := v.(session)
	return se
}

// audit records a change made by the caller; one made with an API token
// names the token.
func (s *Server) audit(c *gin.Context, action, object, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if tok, ok := viaToken(c); ok {
		msg += fmt.Sprintf(" (with API token %q)", tok.Name)
	}
	s.record(appliance.Event{Level: appliance.LevelInfo, Kind: appliance.KindAudit, Actor: user(c).Name, Action: action, Object: object,
		Message: msg})
}

// record stamps and records an event.
func (s *Server) record(e appliance.Event) {
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	s.state.Record(e)
}

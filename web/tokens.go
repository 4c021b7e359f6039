package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// tokenStore keeps the API tokens (appliance.State).
type tokenStore interface {
	CreateToken(owner string, nt appliance.NewToken) (appliance.Token, string, error)
	Tokens(owner string) ([]appliance.Token, error)
	Token(id string) (appliance.Token, error)
	RevokeToken(id string) error
	UseToken(secret string) (appliance.Token, appliance.User, error)
}

// ctxToken holds the appliance.Token a request authenticated with.
const ctxToken = "web.token"

// tokenView is a token as the API shows it: never its secret, but once.
type tokenView struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Owner     string         `json:"owner"`
	Role      appliance.Role `json:"role"`
	Created   time.Time      `json:"created"`
	ExpiresAt *time.Time     `json:"expires_at"`
	// Secret is set only in the answer to the creation.
	Secret string `json:"secret,omitempty"`
}

func viewToken(t appliance.Token) tokenView {
	v := tokenView{ID: t.ID, Name: t.Name, Owner: t.Owner, Role: t.Role, Created: t.Created}
	if !t.Expires.IsZero() {
		e := t.Expires
		v.ExpiresAt = &e
	}
	return v
}

type createTokenRequest struct {
	Name string         `json:"name"`
	Role appliance.Role `json:"role"`
	// ExpiresAt is optional; absent or null: the token never expires.
	ExpiresAt *time.Time `json:"expires_at"`
}

// tokenRoutes registers /api/v1/tokens: every user manages their own
// tokens; an admin lists (?all=true) and revokes everyone's.
func (s *Server) tokenRoutes(authed *gin.RouterGroup) {
	authed.GET("/tokens", s.listTokens)
	authed.POST("/tokens", s.createToken)
	authed.DELETE("/tokens/:id", s.revokeToken)
}

// viaToken is the token the request authenticated with, if it did.
func viaToken(c *gin.Context) (appliance.Token, bool) {
	v, ok := c.Get(ctxToken)
	t, _ := v.(appliance.Token)
	return t, ok
}

// useToken authenticates c with an API token (authenticate's helper):
// the owner acting with the token's role. A token may not change its
// owner's password, since that would turn it into the owner's full
// account.
func (s *Server) useToken(c *gin.Context, secret string) bool {
	tok, u, err := s.state.UseToken(secret)
	if err != nil {
		if !errors.Is(err, appliance.ErrBadToken) {
			s.fail(c, err)
			return false
		}
		s.fail(c, errorf(http.StatusUnauthorized, codeUnauthenticated, "API token unknown, revoked or expired"))
		return false
	}
	if c.Request.Method == http.MethodPatch && c.FullPath() == "/api/v1/users/:name" {
		s.fail(c, errorf(http.StatusForbidden, codeForbidden, "an API token cannot change a user; log in with the password"))
		return false
	}
	c.Set(ctxUser, u)
	c.Set(ctxToken, tok)
	return true
}

// isAdmin reports whether the caller may administer the appliance.
func (s *Server) isAdmin(c *gin.Context) bool {
	return s.policy.Allow(user(c), appliance.ActionAdmin, appliance.Appliance()) == nil
}

// listTokens handles GET /api/v1/tokens?all=&limit=&after=: the caller's
// tokens, or with all=true (admins only) everyone's, oldest first.
func (s *Server) listTokens(c *gin.Context) {
	owner := user(c).Name
	if all := c.Query("all"); all == "true" || all == "1" {
		if !s.isAdmin(c) {
			s.fail(c, errorf(http.StatusForbidden, codeForbidden, "listing every user's tokens needs the admin role"))
			return
		}
		owner = ""
	}
	toks, err := s.state.Tokens(owner)
	if err != nil {
		s.fail(c, err)
		return
	}
	page, ok := paginate(s, c, toks, func(t appliance.Token) string { return t.ID })
	if !ok {
		return
	}
	out := make([]tokenView, 0, len(page))
	for _, t := range page {
		out = append(out, viewToken(t))
	}
	c.JSON(http.StatusOK, out)
}

// createToken handles POST /api/v1/tokens: a token of the caller's, with
// at most the caller's role (a token's own role when a token asks). The
// answer holds the secret, the only time it is shown.
func (s *Server) createToken(c *gin.Context) {
	var req createTokenRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	caller := user(c)
	if req.Role == "" {
		req.Role = caller.Role
	}
	if !req.Role.Valid() {
		s.fail(c, invalid("role %q: must be admin, operator or read-only", req.Role))
		return
	}
	if !caller.Role.Allows(req.Role) {
		s.fail(c, errorf(http.StatusForbidden, codeForbidden, "a token's role is at most its creator's (%s), not %s", caller.Role, req.Role))
		return
	}
	nt := appliance.NewToken{Name: strings.TrimSpace(req.Name), Role: req.Role}
	if req.ExpiresAt != nil {
		nt.Expires = *req.ExpiresAt
	}
	tok, secret, err := s.state.CreateToken(caller.Name, nt)
	if err != nil {
		s.fail(c, serviceError(err, []appliance.KindRule{{Err: appliance.ErrTokenLimit, Kind: appliance.KindConflict}}, clean))
		return
	}
	s.audit(c, "token.create", caller.Name, "created API token %q (%s) with role %s", tok.Name, tok.ID, tok.Role)
	v := viewToken(tok)
	v.Secret = secret
	c.JSON(http.StatusCreated, v)
}

// revokeToken handles DELETE /api/v1/tokens/:id: the owner's or an
// admin's. Another user's token is not found, so ids are not probed.
func (s *Server) revokeToken(c *gin.Context) {
	id := c.Param("id")
	tok, err := s.state.Token(id)
	if err == nil && tok.Owner != user(c).Name && !s.isAdmin(c) {
		err = errorf(http.StatusNotFound, codeNotFound, "token %q not found", id)
	}
	if err == nil {
		err = s.state.RevokeToken(id)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "token.revoke", tok.Owner, "revoked API token %q (%s) of %s", tok.Name, tok.ID, tok.Owner)
	c.Status(http.StatusNoContent)
}

package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// userView is a user as the API shows it: never a password hash.
type userView struct {
	Name     string         `json:"name"`
	Role     appliance.Role `json:"role"`
	Created  time.Time      `json:"created"`
	Modified time.Time      `json:"modified"`
}

func viewUser(u appliance.User) userView {
	return userView{Name: u.Name, Role: u.Role, Created: u.Created, Modified: u.Modified}
}

type createUserRequest struct {
	Name     string         `json:"name"`
	Role     appliance.Role `json:"role"`
	Password string         `json:"password"`
}

type patchUserRequest struct {
	Role     *appliance.Role `json:"role"`
	Password *string         `json:"password"`
}

// listUsers handles GET /api/v1/users (admin).
func (s *Server) listUsers(c *gin.Context) {
	users := s.state.Users()
	out := make([]userView, 0, len(users))
	for _, u := range users {
		out = append(out, viewUser(u))
	}
	respondList(s, c, out, func(v userView) string { return v.Name })
}

// createUser handles POST /api/v1/users (admin).
func (s *Server) createUser(c *gin.Context) {
	var req createUserRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if !req.Role.Valid() {
		s.fail(c, invalid("role %q: must be admin, operator or read-only", req.Role))
		return
	}
	u, err := s.state.CreateUser(req.Name, req.Role, req.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "user.create", u.Name, "created user %s with role %s", u.Name, u.Role)
	c.JSON(http.StatusCreated, viewUser(u))
}

// checkUserName is middleware rejecting a malformed :name.
func (s *Server) checkUserName(c *gin.Context) {
	if name := c.Param("name"); !appliance.ValidUserName(name) {
		s.fail(c, invalid("user name %q: 1 to 32 characters, a lower-case letter then lower-case letters, digits, '.', '_' or '-'", name))
		return
	}
	c.Next()
}

// selfOrAdmin lets admins and the user named in the path through.
func (s *Server) selfOrAdmin(c *gin.Context) {
	action := appliance.ActionWrite
	if c.Request.Method == http.MethodGet {
		action = appliance.ActionRead
	}
	if err := s.policy.Allow(user(c), action, appliance.Account(c.Param("name"))); err != nil {
		s.fail(c, forbidden(err))
		return
	}
	c.Next()
}

// getUser handles GET /api/v1/users/:name (admin or self).
func (s *Server) getUser(c *gin.Context) {
	u, err := s.state.User(c.Param("name"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewUser(u))
}

// patchUser handles PATCH /api/v1/users/:name: admins change roles and
// passwords, a user their own password.
func (s *Server) patchUser(c *gin.Context) {
	var req patchUserRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	name := c.Param("name")
	if req.Role == nil && req.Password == nil {
		s.fail(c, invalid("nothing to change: give role or password"))
		return
	}
	if req.Role != nil && s.policy.Allow(user(c), appliance.ActionAdmin, appliance.Account(name)) != nil {
		s.fail(c, errorf(http.StatusForbidden, codeForbidden, "changing a role needs the admin role"))
		return
	}
	if req.Role != nil && !req.Role.Valid() {
		s.fail(c, invalid("role %q: must be admin, operator or read-only", *req.Role))
		return
	}
	if req.Password != nil {
		// Checked before any change so that a bad password does not
		// leave a role changed.
		if n := len(*req.Password); n < appliance.MinPasswordLen || n > appliance.MaxPasswordLen {
			s.fail(c, invalid("a password has %d to %d bytes", appliance.MinPasswordLen, appliance.MaxPasswordLen))
			return
		}
	}
	if _, err := s.state.User(name); err != nil {
		s.fail(c, err)
		return
	}
	var (
		u   appliance.User
		err error
	)
	if req.Role != nil {
		if u, err = s.state.SetRole(name, *req.Role); err != nil {
			s.fail(c, err)
			return
		}
		s.audit(c, "user.role", name, "set the role of %s to %s", name, u.Role)
	}
	if req.Password != nil {
		if u, err = s.state.SetPassword(name, *req.Password); err != nil {
			s.fail(c, err)
			return
		}
		key := currentSession(c).key
		s.sessions.endUser(name, &key)
		s.audit(c, "user.password", name, "changed the password of %s", name)
	}
	c.JSON(http.StatusOK, viewUser(u))
}

// deleteUser handles DELETE /api/v1/users/:name (admin); it ends the
// user's sessions.
func (s *Server) deleteUser(c *gin.Context) {
	name := c.Param("name")
	if err := s.state.DeleteUser(name); err != nil {
		s.fail(c, err)
		return
	}
	s.sessions.endUser(name, nil)
	s.audit(c, "user.delete", name, "deleted user %s", name)
	c.Status(http.StatusNoContent)
}

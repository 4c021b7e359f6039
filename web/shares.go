package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/nas"
	"github.com/backstop-appliance/backstop/nas/sharefs"
)

// ShareAdmin manages the SMB shares (a *sharefs.Manager).
type ShareAdmin interface {
	List(ctx context.Context) []sharefs.Info
	Get(ctx context.Context, name string) (sharefs.Info, error)
	Create(ctx context.Context, s sharefs.Share) (sharefs.Info, error)
	Update(ctx context.Context, name string, p sharefs.Patch) (sharefs.Info, error)
	Delete(ctx context.Context, name string) error
}

// createShareRequest is the body of POST /api/v1/shares.
type createShareRequest struct {
	Name          string                    `json:"name"`
	Comment       string                    `json:"comment"`
	Domain        string                    `json:"domain"`
	QuotaBytes    int64                     `json:"quota_bytes"`
	EncryptData   bool                      `json:"encrypt_data"`
	SignRequired  bool                      `json:"sign_required"`
	DefaultAccess sharefs.Access            `json:"default_access"`
	Users         map[string]sharefs.Access `json:"users"`
}

// shareErr maps the share manager's errors to what the client sees.
func shareErr(err error) error {
	return serviceError(err, sharefs.Kinds(), func(err error) string {
		msg := strings.ReplaceAll(err.Error(), "sharefs: ", "")
		return strings.ReplaceAll(msg, "nas: ", "")
	})
}

// shares is the share manager or an error when the server has none.
func (s *Server) shares() (ShareAdmin, error) {
	if s.opts.Shares == nil {
		return nil, errorf(http.StatusNotFound, codeNotFound, "this appliance serves no shares")
	}
	return s.opts.Shares, nil
}

// checkShareName is middleware rejecting a malformed :name.
func (s *Server) checkShareName(c *gin.Context) {
	if name := c.Param("name"); !sharefs.ValidShareName(name) {
		s.fail(c, invalid("share name %q: letters, digits, '.', '_', '-'; at most %d", name, sharefs.MaxShareName))
		return
	}
	c.Next()
}

// checkShareUsers refuses access entries for users the appliance lacks.
func (s *Server) checkShareUsers(users map[string]sharefs.Access) error {
	for name := range users {
		if _, err := s.state.User(name); err != nil {
			return invalid("users: no user %q", name)
		}
	}
	return nil
}

// listShares handles GET /api/v1/shares: the shares whose files the
// caller may read (an admin: all).
func (s *Server) listShares(c *gin.Context) {
	out := []sharefs.Info{}
	sh, err := s.shares()
	if err != nil {
		c.JSON(http.StatusOK, out)
		return
	}
	readable := s.readable(user(c))
	for _, in := range sh.List(c.Request.Context()) {
		if readable(in.Store) {
			out = append(out, in)
		}
	}
	respondList(s, c, out, func(in sharefs.Info) string { return in.Name })
}

// getShare handles GET /api/v1/shares/:name. A share whose files the
// caller may not read is answered as one that does not exist.
func (s *Server) getShare(c *gin.Context) {
	sh, err := s.shares()
	if err != nil {
		s.fail(c, err)
		return
	}
	name := c.Param("name")
	in, err := sh.Get(c.Request.Context(), name)
	if err == nil && !s.readable(user(c))(in.Store) {
		err = fmt.Errorf("%w: %q", nas.ErrNoShare, name)
	}
	if err != nil {
		s.fail(c, shareErr(err))
		return
	}
	c.JSON(http.StatusOK, in)
}

// createShare handles POST /api/v1/shares (operator).
func (s *Server) createShare(c *gin.Context) {
	sh, err := s.shares()
	if err != nil {
		s.fail(c, err)
		return
	}
	var req createShareRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.checkShareUsers(req.Users); err != nil {
		s.fail(c, err)
		return
	}
	in, err := sh.Create(c.Request.Context(), sharefs.Share{Name: req.Name, Comment: req.Comment, Domain: req.Domain,
		QuotaBytes: req.QuotaBytes, EncryptData: req.EncryptData, SignRequired: req.SignRequired,
		DefaultAccess: req.DefaultAccess, Users: req.Users})
	if err != nil {
		s.fail(c, shareErr(err))
		return
	}
	s.audit(c, "share.create", in.Name, "created share %s in domain %s", in.Name, in.Domain)
	c.JSON(http.StatusCreated, in)
}

// patchShare handles PATCH /api/v1/shares/:name (operator; its users,
// default_access and nfs: admin).
func (s *Server) patchShare(c *gin.Context) {
	sh, err := s.shares()
	if err != nil {
		s.fail(c, err)
		return
	}
	var p sharefs.Patch
	if err := decode(c, &p); err != nil {
		s.fail(c, err)
		return
	}
	if (p.Users != nil || p.DefaultAccess != nil || p.NFS != nil) && !s.allowAdmin(c, "who may access a share (users, default_access, nfs)") {
		return
	}
	if p.Users != nil {
		if err := s.checkShareUsers(*p.Users); err != nil {
			s.fail(c, err)
			return
		}
	}
	in, err := sh.Update(c.Request.Context(), c.Param("name"), p)
	if err != nil {
		s.fail(c, shareErr(err))
		return
	}
	s.audit(c, "share.update", in.Name, "changed share %s", in.Name)
	c.JSON(http.StatusOK, in)
}

// deleteShare handles DELETE /api/v1/shares/:name (admin): the share and
// every file in it.
func (s *Server) deleteShare(c *gin.Context) {
	sh, err := s.shares()
	if err != nil {
		s.fail(c, err)
		return
	}
	name := c.Param("name")
	if err := sh.Delete(c.Request.Context(), name); err != nil {
		s.fail(c, shareErr(err))
		return
	}
	s.audit(c, "share.delete", name, "deleted share %s and its files", name)
	c.Status(http.StatusNoContent)
}

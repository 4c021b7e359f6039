package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// S3Keys keeps the S3 front end's access keys (an *appliance.S3Keys).
type S3Keys interface {
	Create(user string) (appliance.S3Key, error)
	List(user string) []appliance.S3Key
	Get(access string) (appliance.S3Key, error)
	Delete(access string) error
}

type createS3KeyRequest struct {
	// User is whose key it is; default the caller. Only an admin makes
	// keys for someone else.
	User string `json:"user"`
}

// s3KeyRoutes registers /api/v1/s3/keys: every user manages their own S3
// access keys; an admin lists (?all=true), makes and deletes anyone's.
// Without an S3 key store they answer 404.
func (s *Server) s3KeyRoutes(authed *gin.RouterGroup) {
	authed.GET("/s3/keys", s.listS3Keys)
	authed.POST("/s3/keys", s.createS3Key)
	authed.DELETE("/s3/keys/:access", s.deleteS3Key)
}

func (s *Server) s3Keys(c *gin.Context) (S3Keys, bool) {
	if s.opts.S3Keys == nil {
		s.fail(c, errorf(http.StatusNotFound, codeNotFound, "the S3 front end is off (serve --s3)"))
		return nil, false
	}
	return s.opts.S3Keys, true
}

// listS3Keys handles GET /api/v1/s3/keys?all=&limit=&after=, never with
// secrets.
func (s *Server) listS3Keys(c *gin.Context) {
	keys, ok := s.s3Keys(c)
	if !ok {
		return
	}
	owner := user(c).Name
	if all := c.Query("all"); all == "true" || all == "1" {
		if !s.isAdmin(c) {
			s.fail(c, errorf(http.StatusForbidden, codeForbidden, "listing every user's S3 keys needs the admin role"))
			return
		}
		owner = ""
	}
	respondList(s, c, keys.List(owner), func(k appliance.S3Key) string { return k.Access })
}

// createS3Key handles POST /api/v1/s3/keys: the answer holds the secret,
// the only time it is shown.
func (s *Server) createS3Key(c *gin.Context) {
	keys, ok := s.s3Keys(c)
	if !ok {
		return
	}
	var req createS3KeyRequest
	if c.Request.ContentLength != 0 {
		if err := decode(c, &req); err != nil {
			s.fail(c, err)
			return
		}
	}
	caller := user(c)
	if req.User == "" {
		req.User = caller.Name
	}
	if err := s.policy.Allow(caller, appliance.ActionWrite, appliance.Account(req.User)); err != nil {
		s.fail(c, err)
		return
	}
	if _, err := s.state.User(req.User); err != nil {
		s.fail(c, err)
		return
	}
	k, err := keys.Create(req.User)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.state.Record(appliance.Event{Kind: appliance.KindAudit, Actor: caller.Name, Action: "s3key.create", Object: k.Access,
		Message: "S3 access key created for " + req.User})
	c.JSON(http.StatusCreated, k)
}

// deleteS3Key handles DELETE /api/v1/s3/keys/:access.
func (s *Server) deleteS3Key(c *gin.Context) {
	keys, ok := s.s3Keys(c)
	if !ok {
		return
	}
	k, err := keys.Get(c.Param("access"))
	if errors.Is(err, appliance.ErrNoS3Key) {
		s.fail(c, errorf(http.StatusNotFound, codeNotFound, "S3 access key %s not found", c.Param("access")))
		return
	}
	caller := user(c)
	if err := s.policy.Allow(caller, appliance.ActionWrite, appliance.Account(k.User)); err != nil {
		s.fail(c, err)
		return
	}
	if err := keys.Delete(k.Access); err != nil {
		s.fail(c, err)
		return
	}
	s.state.Record(appliance.Event{Kind: appliance.KindAudit, Actor: caller.Name, Action: "s3key.delete", Object: k.Access,
		Message: "S3 access key of " + k.User + " deleted"})
	c.Status(http.StatusNoContent)
}

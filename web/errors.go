package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Error codes of the API, as sent in {"error":{"code":...}}.
const (
	codeInvalid          = "invalid"
	codeUnauthenticated  = "unauthenticated"
	codeForbidden        = "forbidden"
	codeCSRF             = "csrf"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeConflict         = "conflict"
	codeBlackout         = "blackout"
	codeRateLimited      = "rate_limited"
	codeInternal         = "internal"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// apiError is an error with the status and code the client sees.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return "web: " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, codeInvalid, format, args...)
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// translate maps an error from the engine, the appliance state or this
// package to what the client sees.
func translate(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, chunkstore.ErrNotFound), errors.Is(err, appliance.ErrNotFound):
		return errorf(http.StatusNotFound, codeNotFound, "%s", clean(err))
	case errors.Is(err, chunkstore.ErrInvalid), errors.Is(err, appliance.ErrInvalid):
		return errorf(http.StatusBadRequest, codeInvalid, "%s", clean(err))
	case errors.Is(err, chunkstore.ErrExists), errors.Is(err, appliance.ErrExists),
		errors.Is(err, chunkstore.ErrNotEmpty), errors.Is(err, chunkstore.ErrBusy),
		errors.Is(err, chunkstore.ErrImmutable), errors.Is(err, chunkstore.ErrReadOnly), errors.Is(err, appliance.ErrLastAdmin):
		return errorf(http.StatusConflict, codeConflict, "%s", clean(err))
	case errors.Is(err, appliance.ErrBlackout):
		return errorf(http.StatusConflict, codeBlackout, "%s", clean(err))
	case errors.Is(err, appliance.ErrJobBusy), errors.Is(err, appliance.ErrNotRunning):
		return errorf(http.StatusConflict, codeConflict, "%s", clean(err))
	case errors.Is(err, chunkstore.ErrMaintenance):
		return errorf(http.StatusConflict, codeConflict, "housekeeping or verify is running; they take turns")
	case errors.Is(err, appliance.ErrBadCredentials):
		return errorf(http.StatusUnauthorized, codeUnauthenticated, "wrong user name or password")
	}
	return nil
}

// clean drops the package prefixes ("chunkstore: ") from a message meant
// for a person.
func clean(err error) string {
	msg := err.Error()
	for _, p := range []string{"chunkstore: ", "appliance: ", "web: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}

// fail answers the request with err: a known error with its status and
// code, anything else as 500 with the details only in the log.
func (s *Server) fail(c *gin.Context, err error) {
	ae := translate(err)
	if ae == nil {
		s.log.Error("request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		ae = errorf(http.StatusInternalServerError, codeInternal, "internal error")
	}
	c.AbortWithStatusJSON(ae.status, errorBody{Error: errorDetail{Code: ae.code, Message: ae.message}})
}

// decode reads a JSON request body into v: at most maxBody bytes, no
// unknown fields, nothing after the value.
func decode(c *gin.Context, v any) error {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return invalid("request body larger than %d bytes", maxBody)
		case errors.Is(err, io.EOF):
			return invalid("request body is empty")
		}
		return invalid("request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("request body: data after the JSON value")
	}
	return nil
}

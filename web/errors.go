package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

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

// httpKind is how the API answers each kind of failure: its status and
// error code. Unknown errors and a full appliance are internal errors.
func httpKind(k appliance.Kind) (status int, code string, ok bool) {
	switch k {
	case appliance.KindNotFound:
		return http.StatusNotFound, codeNotFound, true
	case appliance.KindInvalid:
		return http.StatusBadRequest, codeInvalid, true
	case appliance.KindExists, appliance.KindConflict, appliance.KindImmutable, appliance.KindBusy:
		return http.StatusConflict, codeConflict, true
	case appliance.KindBlackout:
		return http.StatusConflict, codeBlackout, true
	case appliance.KindUnauthenticated:
		return http.StatusUnauthorized, codeUnauthenticated, true
	case appliance.KindForbidden:
		return http.StatusForbidden, codeForbidden, true
	}
	return 0, "", false
}

// translate maps an error from the engine, the appliance core or this
// package to what the client sees; nil for an internal error.
func translate(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	k := appliance.Classify(err)
	status, code, ok := httpKind(k)
	if !ok {
		return nil
	}
	msg := clean(err)
	switch k {
	case appliance.KindBusy:
		msg = "housekeeping or verify is running; they take turns"
	case appliance.KindUnauthenticated:
		msg = "wrong user name or password"
	}
	return errorf(status, code, "%s", msg)
}

// serviceError maps an error of one of the services (shares, libraries,
// replication) that matches its rules, worded by msg; any other error is
// returned as it is, for translate.
func serviceError(err error, rules []appliance.KindRule, msg func(error) string) error {
	if status, code, ok := httpKind(appliance.Match(err, rules)); ok {
		return errorf(status, code, "%s", msg(err))
	}
	return err
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
	msg := ae.message
	if ae.code == codeNotFound {
		msg = notFoundWording(msg)
	}
	c.AbortWithStatusJSON(ae.status, errorBody{Error: errorDetail{Code: ae.code, Message: msg}})
}

// The ways the packages word "not found", and the one the API uses:
// `store "x" not found`, `item "a" in store "x" not found`.
var (
	notFoundPrefix = regexp.MustCompile(`^not found: (.+)$`)      // chunkstore, library, replication
	notFoundSuffix = regexp.MustCompile(`^(.+?):? not found$`)    // appliance: `user "x": not found`
	noSuch         = regexp.MustCompile(`^no such (\w+):? (.+)$`) // sharefs: `no such share: "x"`
	unquotedName   = regexp.MustCompile(`^(library|cartridge|store|share|user|mapping|source|replica|token|item|domain|slot|drive) ([^"\s]+)( |$)`)
)

// notFoundWording words a not-found message one way: what, then "not
// found". Messages that say something else (a service that is off) are
// kept.
func notFoundWording(msg string) string {
	what := ""
	if m := notFoundPrefix.FindStringSubmatch(msg); m != nil {
		what = m[1]
	} else if m := notFoundSuffix.FindStringSubmatch(msg); m != nil {
		what = m[1]
	} else if m := noSuch.FindStringSubmatch(msg); m != nil {
		what = m[1] + " " + m[2]
	} else {
		return msg
	}
	what = unquotedName.ReplaceAllString(what, `$1 "$2"$3`)
	return what + " not found"
}

// decode reads a JSON request body into v: at most the route's limit (limitBody), no
// unknown fields, nothing after the value.
func decode(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body) // limitBody bounds it
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return invalid("request body larger than %d bytes", tooBig.Limit)
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

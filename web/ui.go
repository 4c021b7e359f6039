package web

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// serveUI serves a file of the UI, or index.html for any path that is not
// one so that the single-page app can route.
func (s *Server) serveUI(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean("/"+c.Request.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	data, modTime, err := readUIFile(s.opts.UI, name)
	if errors.Is(err, fs.ErrNotExist) {
		name = "index.html"
		data, modTime, err = readUIFile(s.opts.UI, name)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.fail(c, errorf(http.StatusNotFound, codeNotFound, "no web UI in this build"))
			return
		}
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-cache")
	http.ServeContent(c.Writer, c.Request, name, modTime, bytes.NewReader(data))
}

// readUIFile reads a regular file of the UI; a directory counts as missing.
func readUIFile(fsys fs.FS, name string) ([]byte, time.Time, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if fi.IsDir() {
		return nil, time.Time{}, fs.ErrNotExist
	}
	data, err := io.ReadAll(f)
	return data, fi.ModTime(), err
}

// slogLevel is the log level of a request line by its status: a server
// failure is an error and throttling a warning; a refused request a
// person may want to see (400, 403, 409...) is info; success, the UI's
// static files, 401 (an expired session) and 404 are debug, so that an
// ordinary day leaves the log to what matters (docs/decisions.md,
// "Web API: one list form, one not-found wording, quiet request log").
func slogLevel(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status == http.StatusTooManyRequests:
		return slog.LevelWarn
	case status == http.StatusUnauthorized || status == http.StatusNotFound:
		return slog.LevelDebug
	case status >= 400:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

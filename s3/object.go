package s3

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// The item metadata keys an object keeps beside its bytes.
const (
	metaETag        = "s3.etag"
	metaContentType = "s3.content-type"
	metaUser        = "s3.meta." // + the x-amz-meta- name
)

// uploadPrefix names the items of multipart uploads in progress; no
// object key may start with it.
const uploadPrefix = ".s3-multipart/"

func (s *Server) objectRequest(q *request, m string, v url.Values) error {
	if strings.HasPrefix(q.key, uploadPrefix) || len(q.key) > chunkstore.MaxNameLen {
		return fmt.Errorf("%w: %q", errKeyName, q.key)
	}
	switch {
	case m == http.MethodPut && v.Has("uploadId"):
		return s.uploadPart(q, v)
	case m == http.MethodPut && q.r.Header.Get("X-Amz-Copy-Source") != "":
		return s.copyObject(q)
	case m == http.MethodPut && len(v) == 0:
		return s.putObject(q)
	case (m == http.MethodGet || m == http.MethodHead) && v.Has("uploadId"):
		return s.listParts(q, v)
	case m == http.MethodGet || m == http.MethodHead:
		if len(v) > 0 && !onlyResponseOverrides(v) {
			return fmt.Errorf("%w: object subresource %s", errNotImplemented, firstKey(v))
		}
		return s.getObject(q)
	case m == http.MethodDelete && v.Has("uploadId"):
		return s.abortUpload(q, v)
	case m == http.MethodDelete:
		return s.deleteObject(q)
	case m == http.MethodPost && v.Has("uploads"):
		return s.initiateUpload(q)
	case m == http.MethodPost && v.Has("uploadId"):
		return s.completeUpload(q, v)
	}
	return errNotImplemented
}

func onlyResponseOverrides(v url.Values) bool {
	for k := range v {
		if !strings.HasPrefix(k, "response-") {
			return false
		}
	}
	return true
}

// objectMeta is the metadata a PUT or an initiation carries.
func objectMeta(r *http.Request) map[string]string {
	m := map[string]string{}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		m[metaContentType] = ct
	}
	for k, v := range r.Header {
		if n, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok && len(v) > 0 {
			m[metaUser+n] = v[0]
		}
	}
	return m
}

// write streams the request body into item name of the bucket's store
// and commits it: the answer is sent only after the commit. meta gets the
// ETag (the body's MD5) before the commit. With If-None-Match: * an
// existing item (at Create or at Commit, under the engine's commit lock)
// is PreconditionFailed.
func (s *Server) write(q *request, name string, meta map[string]string) (chunkstore.Item, error) {
	replace := q.r.Header.Get("If-None-Match") != "*"
	it, err := s.writeItem(q, name, meta, replace)
	if !replace && errors.Is(err, chunkstore.ErrExists) {
		return it, fmt.Errorf("%w: %s exists (If-None-Match: *)", errPrecondition, q.key)
	}
	return it, err
}

func (s *Server) writeItem(q *request, name string, meta map[string]string, replace bool) (chunkstore.Item, error) {
	ctx := q.r.Context()
	p, err := newPayload(q.r, q.cred)
	if err != nil {
		return chunkstore.Item{}, err
	}
	w, err := s.eng.Create(ctx, storeOf(q.bucket), name, chunkstore.WriteOptions{Replace: replace, Meta: meta})
	if err != nil {
		return chunkstore.Item{}, err
	}
	if _, err := w.ReadFrom(p); err != nil {
		w.Abort()
		return chunkstore.Item{}, fmt.Errorf("object %s/%s: %w", q.bucket, q.key, err)
	}
	// The engine reads WriteOptions.Meta at Commit: the ETag known only
	// now goes into the same commit as the data.
	meta[metaETag] = p.MD5()
	it, err := w.Commit(ctx)
	if err != nil {
		s.failed(err)
		return chunkstore.Item{}, fmt.Errorf("commit %s/%s: %w", q.bucket, q.key, err)
	}
	return it, nil
}

func (s *Server) failed(err error) {
	if s.opts.Failures != nil {
		s.opts.Failures.CommitFailed("s3", dedup.Reason(err))
	}
}

func (s *Server) putObject(q *request) error {
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	it, err := s.write(q, q.key, objectMeta(q.r))
	if err != nil {
		return err
	}
	q.w.Header().Set("ETag", `"`+it.Meta[metaETag]+`"`)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

// getObject answers GET and HEAD, with ranges and conditions
// (http.ServeContent).
func (s *Server) getObject(q *request) error {
	if err := s.access(q, appliance.ActionRead); err != nil {
		return err
	}
	r, err := s.eng.OpenItem(q.r.Context(), storeOf(q.bucket), q.key)
	if errors.Is(err, chunkstore.ErrNotFound) {
		return fmt.Errorf("%w: %s", errNoKey, q.key)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	it := r.Item()
	h := q.w.Header()
	setObjectHeaders(h, it)
	for k, v := range q.r.URL.Query() {
		if n, ok := strings.CutPrefix(k, "response-"); ok && len(v) > 0 {
			h.Set(n, v[0])
		}
	}
	http.ServeContent(q.w, q.r, "", it.Modified, r)
	return nil
}

func setObjectHeaders(h http.Header, it chunkstore.Item) {
	if e := it.Meta[metaETag]; e != "" {
		h.Set("ETag", `"`+e+`"`)
	}
	ct := it.Meta[metaContentType]
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("Accept-Ranges", "bytes")
	for k, v := range it.Meta {
		if n, ok := strings.CutPrefix(k, metaUser); ok {
			h.Set("x-amz-meta-"+n, v)
		}
	}
}

func (s *Server) deleteObject(q *request) error {
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	err := s.eng.Delete(q.r.Context(), storeOf(q.bucket), q.key)
	if err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

type deleteXML struct {
	Quiet   bool `xml:"Quiet"`
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deletedXML struct {
	Key string `xml:"Key"`
}

type deleteErrorXML struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type deleteResultXML struct {
	XMLName xml.Name         `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []deletedXML     `xml:"Deleted"`
	Errors  []deleteErrorXML `xml:"Error"`
}

// deleteObjects is the multi-object delete (at most 1000 keys).
func (s *Server) deleteObjects(q *request) error {
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	var req deleteXML
	if err := readXML(q, &req); err != nil {
		return err
	}
	if len(req.Objects) > 1000 {
		return fmt.Errorf("%w: more than 1000 keys", errXML)
	}
	var out deleteResultXML
	for _, o := range req.Objects {
		err := s.eng.Delete(q.r.Context(), storeOf(q.bucket), o.Key)
		if err != nil && !errors.Is(err, chunkstore.ErrNotFound) && !strings.HasPrefix(o.Key, uploadPrefix) {
			e := toAPI(err, o.Key)
			out.Errors = append(out.Errors, deleteErrorXML{Key: o.Key, Code: e.Code, Message: e.Message})
			continue
		}
		if !req.Quiet {
			out.Deleted = append(out.Deleted, deletedXML{Key: o.Key})
		}
	}
	writeXML(q.w, http.StatusOK, out)
	return nil
}

type copyResultXML struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// copyObject copies an object within a dedup domain without moving data
// (chunkstore.CopyItem copies the recipe).
func (s *Server) copyObject(q *request) error {
	src, err := url.PathUnescape(q.r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return fmt.Errorf("%w: x-amz-copy-source", errArgument)
	}
	src, _, _ = strings.Cut(src, "?")
	sb, sk, _ := strings.Cut(strings.TrimPrefix(src, "/"), "/")
	if sk == "" || strings.HasPrefix(sk, uploadPrefix) {
		return fmt.Errorf("%w: x-amz-copy-source %q", errArgument, src)
	}
	if strings.EqualFold(q.r.Header.Get("X-Amz-Metadata-Directive"), "REPLACE") {
		return fmt.Errorf("%w: x-amz-metadata-directive REPLACE", errNotImplemented)
	}
	if err := s.access(&request{user: q.user, bucket: sb}, appliance.ActionRead); err != nil {
		return err
	}
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	it, err := s.eng.CopyItem(q.r.Context(), storeOf(sb), sk, storeOf(q.bucket), q.key, true)
	if errors.Is(err, chunkstore.ErrNotFound) {
		return fmt.Errorf("%w: %s/%s", errNoKey, sb, sk)
	}
	if err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, copyResultXML{ETag: `"` + it.Meta[metaETag] + `"`, LastModified: it.Modified.UTC().Format(time.RFC3339)})
	return nil
}

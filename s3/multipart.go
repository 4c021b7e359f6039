package s3

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// A multipart upload ID is kept as items of the bucket's store:
// uploadPrefix+ID+"/info" (empty, its metadata the object's plus
// metaKey), and uploadPrefix+ID+"/NNNNN" for part NNNNN. Completion
// splices the parts' recipes into the object without copying data.
const (
	metaKey     = "s3.key"
	minPartSize = 5 << 20 // every part but the last
	maxParts    = 10000
)

func uploadItem(id, what string) string { return uploadPrefix + id + "/" + what }

func partName(n int) string { return fmt.Sprintf("%05d", n) }

// upload finds an upload of the request's key.
func (s *Server) upload(q *request, id string) (chunkstore.Item, error) {
	if len(id) != 32 || strings.ContainsAny(id, "/.") {
		return chunkstore.Item{}, fmt.Errorf("%w: %q", errNoUpload, id)
	}
	it, err := s.eng.Stat(q.r.Context(), storeOf(q.bucket), uploadItem(id, "info"))
	if errors.Is(err, chunkstore.ErrNotFound) || (err == nil && it.Meta[metaKey] != q.key) {
		return chunkstore.Item{}, fmt.Errorf("%w: %s", errNoUpload, id)
	}
	return it, err
}

type initiateXML struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (s *Server) initiateUpload(q *request) error {
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	meta := objectMeta(q.r)
	meta[metaKey] = q.key
	w, err := s.eng.Create(q.r.Context(), storeOf(q.bucket), uploadItem(id, "info"), chunkstore.WriteOptions{Meta: meta})
	if err != nil {
		return err
	}
	if _, err := w.Commit(q.r.Context()); err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, initiateXML{Bucket: q.bucket, Key: q.key, UploadID: id})
	return nil
}

func partNumber(v url.Values) (int, error) {
	n, err := strconv.Atoi(v.Get("partNumber"))
	if err != nil || n < 1 || n > maxParts {
		return 0, fmt.Errorf("%w: partNumber %q", errArgument, v.Get("partNumber"))
	}
	return n, nil
}

func (s *Server) uploadPart(q *request, v url.Values) error {
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	if q.r.Header.Get("X-Amz-Copy-Source") != "" {
		return fmt.Errorf("%w: UploadPartCopy", errNotImplemented)
	}
	n, err := partNumber(v)
	if err != nil {
		return err
	}
	id := v.Get("uploadId")
	if _, err := s.upload(q, id); err != nil {
		return err
	}
	it, err := s.write(q, uploadItem(id, partName(n)), map[string]string{})
	if err != nil {
		return err
	}
	q.w.Header().Set("ETag", `"`+it.Meta[metaETag]+`"`)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

type completeXML struct {
	Parts []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResultXML struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// completeUpload splices the listed parts into the object, commits it,
// then drops the upload's items. The answer is sent after the commit.
func (s *Server) completeUpload(q *request, v url.Values) error {
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	id := v.Get("uploadId")
	info, err := s.upload(q, id)
	if err != nil {
		return err
	}
	var req completeXML
	if err := readXML(q, &req); err != nil {
		return err
	}
	if len(req.Parts) == 0 {
		return fmt.Errorf("%w: no parts", errXML)
	}
	ctx, store := q.r.Context(), storeOf(q.bucket)
	var parts []chunkstore.Item
	sums := md5.New()
	for i, p := range req.Parts {
		if i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber {
			return errPartOrder
		}
		it, err := s.eng.Stat(ctx, store, uploadItem(id, partName(p.PartNumber)))
		if errors.Is(err, chunkstore.ErrNotFound) || (err == nil && strings.Trim(p.ETag, `"`) != it.Meta[metaETag]) {
			return fmt.Errorf("%w: part %d", errPart, p.PartNumber)
		}
		if err != nil {
			return err
		}
		if i < len(req.Parts)-1 && it.Size < minPartSize {
			return fmt.Errorf("%w: part %d is smaller than 5 MiB", errPartTooSmall, p.PartNumber)
		}
		b, _ := hex.DecodeString(it.Meta[metaETag])
		sums.Write(b)
		parts = append(parts, it)
	}
	meta := map[string]string{}
	for k, v := range info.Meta {
		if k != metaKey {
			meta[k] = v
		}
	}
	meta[metaETag] = fmt.Sprintf("%x-%d", sums.Sum(nil), len(parts))
	w, err := s.eng.Create(ctx, store, q.key, chunkstore.WriteOptions{Replace: true, Meta: meta})
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := s.splice(q, w, p.Name); err != nil {
			w.Abort()
			return err
		}
	}
	if _, err := w.Commit(ctx); err != nil {
		s.failed(err)
		return fmt.Errorf("commit %s/%s: %w", q.bucket, q.key, err)
	}
	s.dropUpload(q, id)
	writeXML(q.w, http.StatusOK, completeResultXML{Location: "/" + q.bucket + "/" + q.key, Bucket: q.bucket, Key: q.key,
		ETag: `"` + meta[metaETag] + `"`})
	return nil
}

// splice appends the whole of part name to w.
func (s *Server) splice(q *request, w *chunkstore.Writer, name string) error {
	r, err := s.eng.OpenItem(q.r.Context(), storeOf(q.bucket), name)
	if err != nil {
		return err
	}
	defer r.Close()
	return w.Splice(q.r.Context(), r, 0, r.Size())
}

// dropUpload deletes an upload's items; what fails stays for the next
// abort or the bucket's delete.
func (s *Server) dropUpload(q *request, id string) {
	items, err := s.eng.List(q.r.Context(), storeOf(q.bucket), uploadItem(id, ""))
	if err != nil {
		s.log.Warn("s3: drop upload", "bucket", q.bucket, "upload", id, "err", err)
		return
	}
	for _, it := range items {
		if err := s.eng.Delete(q.r.Context(), storeOf(q.bucket), it.Name); err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
			s.log.Warn("s3: drop upload", "bucket", q.bucket, "item", it.Name, "err", err)
		}
	}
}

func (s *Server) abortUpload(q *request, v url.Values) error {
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	id := v.Get("uploadId")
	if _, err := s.upload(q, id); err != nil {
		return err
	}
	s.dropUpload(q, id)
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

type partXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
}

type listPartsXML struct {
	XMLName  xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket   string    `xml:"Bucket"`
	Key      string    `xml:"Key"`
	UploadID string    `xml:"UploadId"`
	Parts    []partXML `xml:"Part"`
}

func (s *Server) listParts(q *request, v url.Values) error {
	if err := s.access(q, appliance.ActionRead); err != nil {
		return err
	}
	id := v.Get("uploadId")
	if _, err := s.upload(q, id); err != nil {
		return err
	}
	items, err := s.eng.List(q.r.Context(), storeOf(q.bucket), uploadItem(id, ""))
	if err != nil {
		return err
	}
	out := listPartsXML{Bucket: q.bucket, Key: q.key, UploadID: id}
	for _, it := range items {
		n, err := strconv.Atoi(strings.TrimPrefix(it.Name, uploadItem(id, "")))
		if err != nil {
			continue // the info item
		}
		out.Parts = append(out.Parts, partXML{PartNumber: n, LastModified: it.Modified.UTC().Format(time.RFC3339),
			ETag: `"` + it.Meta[metaETag] + `"`, Size: it.Size})
	}
	writeXML(q.w, http.StatusOK, out)
	return nil
}

type uploadXML struct {
	Key       string `xml:"Key"`
	UploadID  string `xml:"UploadId"`
	Initiated string `xml:"Initiated"`
}

type listUploadsXML struct {
	XMLName xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket  string      `xml:"Bucket"`
	Uploads []uploadXML `xml:"Upload"`
}

func (s *Server) listUploads(q *request) error {
	items, err := s.eng.List(q.r.Context(), storeOf(q.bucket), uploadPrefix)
	if err != nil {
		return err
	}
	out := listUploadsXML{Bucket: q.bucket}
	for _, it := range items {
		if id, ok := strings.CutSuffix(strings.TrimPrefix(it.Name, uploadPrefix), "/info"); ok {
			out.Uploads = append(out.Uploads, uploadXML{Key: it.Meta[metaKey], UploadID: id, Initiated: it.Created.UTC().Format(time.RFC3339)})
		}
	}
	writeXML(q.w, http.StatusOK, out)
	return nil
}

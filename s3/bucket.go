package s3

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// bucketName is the bucket names accepted: S3's rules, at most 61
// characters so that the store name (BucketPrefix+name) fits the engine's
// 64.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,59}[a-z0-9]$`)

// storeOf is the store of a bucket.
func storeOf(bucket string) string { return appliance.BucketPrefix + bucket }

// access asks the policy whether the user may do action on the bucket's
// items; a bucket that does not exist is errNoBucket.
func (s *Server) access(q *request, action appliance.Action) error {
	if !bucketName.MatchString(q.bucket) {
		return errNoBucket
	}
	err := s.opts.Policy.Allow(q.user, action, appliance.Items(storeOf(q.bucket), appliance.ViaS3))
	if errors.Is(err, chunkstore.ErrNotFound) {
		return fmt.Errorf("%w: %s", errNoBucket, q.bucket)
	}
	return err
}

func (s *Server) bucketRequest(q *request, m string, v url.Values) error {
	switch m {
	case http.MethodPut:
		if v.Has("object-lock") {
			return s.putLockConfig(q)
		}
		if len(v) > 0 {
			return fmt.Errorf("%w: bucket subresource %s", errNotImplemented, firstKey(v))
		}
		return s.createBucket(q)
	case http.MethodDelete:
		if len(v) > 0 {
			return fmt.Errorf("%w: bucket subresource %s", errNotImplemented, firstKey(v))
		}
		return s.deleteBucket(q)
	case http.MethodHead:
		if err := s.access(q, appliance.ActionRead); err != nil {
			return err
		}
		q.w.Header().Set("x-amz-bucket-region", s.opts.Region)
		q.w.WriteHeader(http.StatusOK)
		return nil
	case http.MethodPost:
		if v.Has("delete") {
			return s.deleteObjects(q)
		}
	case http.MethodGet:
		if err := s.access(q, appliance.ActionRead); err != nil {
			return err
		}
		switch {
		case v.Has("location"):
			type loc struct {
				XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
				Region  string   `xml:",chardata"`
			}
			writeXML(q.w, http.StatusOK, loc{Region: s.opts.Region})
			return nil
		case v.Has("versioning"):
			type vc struct {
				XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ VersioningConfiguration"`
			}
			writeXML(q.w, http.StatusOK, vc{})
			return nil
		case v.Has("uploads"):
			return s.listUploads(q)
		case v.Has("object-lock"):
			return s.getLockConfig(q)
		case v.Get("list-type") == "2":
			return s.listObjectsV2(q, v)
		case len(v) == 0 || v.Has("prefix") || v.Has("delimiter") || v.Has("marker") || v.Has("max-keys") || v.Has("encoding-type"):
			return s.listObjectsV1(q, v)
		}
		return fmt.Errorf("%w: bucket subresource %s", errNotImplemented, firstKey(v))
	}
	return errNotImplemented
}

func firstKey(v url.Values) string {
	for k := range v {
		return k
	}
	return ""
}

// createBucket makes the bucket's store in the server's domain, owned by
// the user who creates it (its client list).
func (s *Server) createBucket(q *request) error {
	if !bucketName.MatchString(q.bucket) || strings.Contains(q.bucket, "..") {
		return fmt.Errorf("%w: %q", errBucketName, q.bucket)
	}
	if err := s.opts.Policy.Allow(q.user, appliance.ActionWrite, appliance.Appliance()); err != nil {
		return err
	}
	store := storeOf(q.bucket)
	if _, err := s.eng.CreateStore(store, s.opts.Domain); err != nil {
		if errors.Is(err, chunkstore.ErrExists) {
			if info, ierr := s.eng.Store(store); ierr == nil && len(info.Clients) == 1 && info.Clients[0] == q.user.Name {
				q.w.WriteHeader(http.StatusOK) // us-east-1: BucketAlreadyOwnedByYou is success
				return nil
			}
			return fmt.Errorf("%w: %s", errBucketExists, q.bucket)
		}
		return err
	}
	o := chunkstore.StoreOptions{Transfer: chunkstore.TransferHigh, Clients: []string{q.user.Name}}
	if _, err := s.eng.SetStoreOptions(store, o); err != nil {
		_ = s.eng.DeleteStore(store) // not yet anyone's
		return fmt.Errorf("bucket %s: %w", q.bucket, err)
	}
	s.log.Info("s3: bucket created", "bucket", q.bucket, "user", q.user.Name)
	q.w.Header().Set("Location", "/"+q.bucket)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBucket(q *request) error {
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	items, err := s.eng.List(q.r.Context(), storeOf(q.bucket), "")
	if err != nil {
		return err
	}
	for _, it := range items {
		if !strings.HasPrefix(it.Name, uploadPrefix) {
			return fmt.Errorf("%w: %s", errBucketNotEmpty, q.bucket)
		}
	}
	for _, it := range items { // abandoned multipart parts
		if err := s.eng.Delete(q.r.Context(), storeOf(q.bucket), it.Name); err != nil {
			return err
		}
	}
	if err := s.eng.DeleteStore(storeOf(q.bucket)); err != nil {
		return err
	}
	s.log.Info("s3: bucket deleted", "bucket", q.bucket, "user", q.user.Name)
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

type bucketXML struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

type listBucketsXML struct {
	XMLName xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner   ownerXML    `xml:"Owner"`
	Buckets []bucketXML `xml:"Buckets>Bucket"`
}

type ownerXML struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// listBuckets lists the buckets the user may read.
func (s *Server) listBuckets(q *request) error {
	out := listBucketsXML{Owner: ownerXML{ID: q.user.Name, DisplayName: q.user.Name}, Buckets: []bucketXML{}}
	for _, st := range s.eng.Stores() {
		name, ok := strings.CutPrefix(st.Name, appliance.BucketPrefix)
		if !ok || s.opts.Policy.Allow(q.user, appliance.ActionRead, appliance.Items(st.Name, appliance.ViaS3)) != nil {
			continue
		}
		out.Buckets = append(out.Buckets, bucketXML{Name: name, CreationDate: st.Created.UTC().Format(time.RFC3339)})
	}
	writeXML(q.w, http.StatusOK, out)
	return nil
}

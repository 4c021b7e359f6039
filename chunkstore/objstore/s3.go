package objstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/backstop-appliance/backstop/dedup"
)

// S3Config is an S3-compatible bucket (docs/cloud.md).
type S3Config struct {
	// Endpoint is host[:port], without a scheme.
	Endpoint string
	// Region; "" lets the client ask the bucket (us-east-1 for most
	// self-hosted stores).
	Region string
	Bucket string
	// AccessKey and SecretKey sign every request (SigV4).
	AccessKey, SecretKey string
	// PathStyle addresses the bucket as endpoint/bucket/key rather than
	// bucket.endpoint/key (most self-hosted stores need it).
	PathStyle bool
	// TLS uses https; CAPEM, when set, is the only CA trusted for it.
	TLS   bool
	CAPEM []byte
	// PartSize is the part size of multipart uploads, used for objects
	// larger than it. Default 16 MiB (a 4 MiB container is one PUT).
	PartSize uint64
	// Retries is how often the client retries a request itself before the
	// tier's own back-off takes over. Default 2.
	Retries int
}

// S3 is a Bucket on an S3-compatible object store (minio-go; the choice
// is measured in docs/cloud.md).
type S3 struct {
	c        *minio.Client
	bucket   string
	partSize uint64
}

// NewS3 returns the bucket of cfg; it sends no request.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, fmt.Errorf("%w: objstore: an S3 bucket needs an endpoint and a bucket", dedup.ErrInvalid)
	}
	tr, err := minio.DefaultTransport(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("objstore: %w", err)
	}
	tr.ResponseHeaderTimeout = time.Minute
	if len(cfg.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAPEM) {
			return nil, fmt.Errorf("%w: objstore: the TLS CA holds no PEM certificate", dedup.ErrInvalid)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 2
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = 16 << 20
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: cfg.TLS, Transport: tr,
		Region: cfg.Region, BucketLookup: lookup, MaxRetries: cfg.Retries,
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: %w", err)
	}
	return &S3{c: c, bucket: cfg.Bucket, partSize: cfg.PartSize}, nil
}

// EnsureBucket creates the bucket when it does not exist.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("objstore: bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("objstore: create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put stores data under key: one PUT, or a multipart upload with parts
// sent in parallel when data is larger than the part size.
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.c.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType: "application/octet-stream", PartSize: s.partSize, NumThreads: 4,
	})
	return err
}

// GetRange reads len(p) bytes of key at off with one ranged GET.
func (s *S3) GetRange(ctx context.Context, key string, p []byte, off int64) error {
	if len(p) == 0 {
		return nil
	}
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(off, off+int64(len(p))-1); err != nil {
		return err
	}
	o, err := s.c.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		return s.notFound(err)
	}
	defer o.Close()
	if _, err := io.ReadFull(o, p); err != nil {
		return s.notFound(err)
	}
	return nil
}

// Get reads the whole object.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	o, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.notFound(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		return nil, s.notFound(err)
	}
	return b, nil
}

// Delete removes key; a missing key is not an error.
func (s *S3) Delete(ctx context.Context, key string) error {
	err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return nil
	}
	return err
}

// List returns every object under prefix.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, o.Err
		}
		out = append(out, Object{Key: o.Key, Size: o.Size})
	}
	return out, nil
}

func (s *S3) notFound(err error) error {
	if r := minio.ToErrorResponse(err); r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("objstore: short read: %w", err)
	}
	return err
}

package s3

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// env is a real server on 127.0.0.1:0 over a real engine, with users
// alice (operator) and bob (operator), each with a key.
type env struct {
	eng   *chunkstore.Engine
	state *appliance.State
	srv   *Server
	keys  *appliance.S3Keys
	alice appliance.S3Key
	bob   appliance.S3Key
}

func newEnv(t *testing.T) *env { return newEnvTLS(t, nil) }

// newEnvTLS is newEnv serving TLS with cert (nil: plain HTTP).
func newEnvTLS(t testing.TB, cert *tls.Certificate) *env {
	t.Helper()
	dir := t.TempDir()
	o := chunkstore.DefaultOptions()
	o.ContainerSize = 1 << 20
	eng, err := chunkstore.Open(context.Background(), filepath.Join(dir, "data"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	state, err := appliance.Open(filepath.Join(dir, "appliance"), appliance.Options{Hash: appliance.HashParams{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := appliance.OpenS3Keys(filepath.Join(dir, "appliance", "s3keys.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{eng: eng, state: state, keys: keys}
	for _, u := range []string{"alice", "bob"} {
		if _, err := state.CreateUser(u, appliance.RoleOperator, "password-"+u+"-123"); err != nil {
			t.Fatal(err)
		}
	}
	if e.alice, err = keys.Create("alice"); err != nil {
		t.Fatal(err)
	}
	if e.bob, err = keys.Create("bob"); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Addr, opts.Policy = "127.0.0.1:0", appliance.NewPolicy(appliance.StoreOwners{Stores: eng})
	opts.Certificate = cert
	e.srv = New(eng, keys, state, opts)
	if err := e.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
	})
	return e
}

// client is aws-sdk-go-v2's S3 client with key k.
func (e *env) client(k appliance.S3Key) *awss3.Client {
	return awss3.New(awss3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + e.srv.Addr()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(k.Access, k.Secret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

func random(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestS3ObjectsRoundTrip(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client(e.alice), context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("backups")}); err != nil {
		t.Fatal(err)
	}
	data := random(1, 3<<20+17)
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("backups"), Key: aws.String("dir/a b.bin"),
		Body: bytes.NewReader(data), ContentType: aws.String("application/x-test"), Metadata: map[string]string{"who": "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("get whole", func(t *testing.T) {
		out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("backups"), Key: aws.String("dir/a b.bin")})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		if !bytes.Equal(got, data) || aws.ToString(out.ContentType) != "application/x-test" || out.Metadata["who"] != "alice" {
			t.Fatalf("got %d bytes, type %q, meta %v", len(got), aws.ToString(out.ContentType), out.Metadata)
		}
	})
	for _, r := range []struct {
		rng      string
		from, to int
	}{{"bytes=0-0", 0, 1}, {"bytes=1000-1999999", 1000, 2000000}, {fmt.Sprintf("bytes=-%d", 100), len(data) - 100, len(data)}, {"bytes=3145700-", 3145700, len(data)}} {
		t.Run("range "+r.rng, func(t *testing.T) {
			out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("backups"), Key: aws.String("dir/a b.bin"), Range: aws.String(r.rng)})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(out.Body)
			if !bytes.Equal(got, data[r.from:r.to]) {
				t.Fatalf("range %s: %d bytes, want %d", r.rng, len(got), r.to-r.from)
			}
		})
	}
	t.Run("head and missing", func(t *testing.T) {
		h, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("backups"), Key: aws.String("dir/a b.bin")})
		if err != nil || aws.ToInt64(h.ContentLength) != int64(len(data)) {
			t.Fatalf("head: %v %v", h, err)
		}
		_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("backups"), Key: aws.String("nope")})
		if code(err) != "NoSuchKey" {
			t.Fatalf("missing key: %v", err)
		}
	})
	t.Run("if-none-match", func(t *testing.T) {
		_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("backups"), Key: aws.String("dir/a b.bin"),
			Body: strings.NewReader("other"), IfNoneMatch: aws.String("*")})
		if code(err) != "PreconditionFailed" {
			t.Fatalf("conditional overwrite: %v", err)
		}
		if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("backups"), Key: aws.String("new"),
			Body: strings.NewReader("new"), IfNoneMatch: aws.String("*")}); err != nil {
			t.Fatalf("conditional create: %v", err)
		}
		if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("backups"), Key: aws.String("new")}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("copy", func(t *testing.T) {
		if _, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("backups"), Key: aws.String("copy"),
			CopySource: aws.String("backups/dir/a%20b.bin")}); err != nil {
			t.Fatal(err)
		}
		out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("backups"), Key: aws.String("copy")})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		if !bytes.Equal(got, data) {
			t.Fatal("copy differs")
		}
	})
	t.Run("bucket not empty, then multi-delete", func(t *testing.T) {
		if _, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("backups")}); code(err) != "BucketNotEmpty" {
			t.Fatalf("delete full bucket: %v", err)
		}
		out, err := c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("backups"), Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String("dir/a b.bin")}, {Key: aws.String("copy")}, {Key: aws.String("never")}}}})
		if err != nil || len(out.Deleted) != 3 || len(out.Errors) != 0 {
			t.Fatalf("delete objects: %+v %v", out, err)
		}
		if _, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("backups")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestS3ListObjectsV2(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client(e.alice), context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("list")}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a/1", "a/2", "a/b/3", "b", "c/1", "c/2", "d"}
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("list"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(prefix, delim string, max int32) (got []string) {
		p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: aws.String("list"), Prefix: aws.String(prefix),
			Delimiter: aws.String(delim), MaxKeys: aws.Int32(max)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out.Contents {
				got = append(got, aws.ToString(o.Key))
			}
			for _, cp := range out.CommonPrefixes {
				got = append(got, aws.ToString(cp.Prefix)+"*")
			}
		}
		return got
	}
	for _, tc := range []struct {
		prefix, delim string
		max           int32
		want          string
	}{
		{"", "", 1000, "a/1 a/2 a/b/3 b c/1 c/2 d"},
		{"", "", 2, "a/1 a/2 a/b/3 b c/1 c/2 d"},
		{"", "/", 1000, "b d a/* c/*"},
		{"", "/", 1, "a/* b c/* d"},
		{"a/", "/", 1, "a/1 a/2 a/b/*"},
		{"c", "", 1, "c/1 c/2"},
	} {
		t.Run(fmt.Sprintf("%s|%s|%d", tc.prefix, tc.delim, tc.max), func(t *testing.T) {
			got := strings.Join(list(tc.prefix, tc.delim, tc.max), " ")
			// Pages of 1000 put prefixes after keys; compare as sets.
			if sorted(got) != sorted(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func sorted(s string) string {
	f := strings.Fields(s)
	for i := range f {
		for j := i + 1; j < len(f); j++ {
			if f[j] < f[i] {
				f[i], f[j] = f[j], f[i]
			}
		}
	}
	return strings.Join(f, " ")
}

// TestS3MultipartParallel uploads parts in parallel, out of order, and
// completes: the object is the parts in order, and the parts' items are
// gone.
func TestS3MultipartParallel(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client(e.alice), context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("mpu")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 6, 5<<20 + 1234
	parts := make([][]byte, n)
	done := make([]types.CompletedPart, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := n - 1; i >= 0; i-- {
		parts[i] = random(uint64(10+i), size-(i/(n-1))*size/2)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: up.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(parts[i])})
			if err != nil {
				errs <- err
				return
			}
			done[i] = types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lp, err := c.ListParts(ctx, &awss3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: up.UploadId})
	if err != nil || len(lp.Parts) != n {
		t.Fatalf("list parts: %v %v", lp, err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	if !bytes.Equal(got, bytes.Join(parts, nil)) || !strings.HasSuffix(aws.ToString(out.ETag), fmt.Sprintf("-%d\"", n)) {
		t.Fatalf("object: %d bytes, ETag %s", len(got), aws.ToString(out.ETag))
	}
	items, err := e.eng.List(ctx, storeOf("mpu"), "")
	if err != nil || len(items) != 1 {
		t.Fatalf("items after completion: %v %v", items, err)
	}
	t.Run("abort", func(t *testing.T) {
		up, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("gone")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("gone"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: bytes.NewReader(parts[0])}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("gone"), UploadId: up.UploadId}); err != nil {
			t.Fatal(err)
		}
		if items, _ := e.eng.List(ctx, storeOf("mpu"), ""); len(items) != 1 {
			t.Fatalf("items after abort: %v", items)
		}
	})
}

// TestS3Refusals: anonymous requests, a wrong secret, and another user's
// bucket are refused, and a refused PUT stores nothing.
func TestS3Refusals(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client(e.alice), context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("alices")}); err != nil {
		t.Fatal(err)
	}
	t.Run("anonymous", func(t *testing.T) {
		resp, err := http.Get("http://" + e.srv.Addr() + "/alices/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("anonymous GET: %s", resp.Status)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		bad := e.alice
		bad.Secret = "not-the-secret"
		_, err := e.client(bad).PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("alices"), Key: aws.String("x"), Body: strings.NewReader("x")})
		if code(err) != "SignatureDoesNotMatch" {
			t.Fatalf("wrong secret: %v", err)
		}
	})
	t.Run("another user's bucket", func(t *testing.T) {
		bc := e.client(e.bob)
		_, err := bc.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("alices"), Key: aws.String("x"), Body: strings.NewReader("x")})
		if code(err) != "AccessDenied" {
			t.Fatalf("bob writes alice's bucket: %v", err)
		}
		lb, err := bc.ListBuckets(ctx, &awss3.ListBucketsInput{})
		if err != nil || len(lb.Buckets) != 0 {
			t.Fatalf("bob lists buckets: %+v %v", lb, err)
		}
	})
	if items, _ := e.eng.List(ctx, storeOf("alices"), ""); len(items) != 0 {
		t.Fatalf("refused writes stored %v", items)
	}
}

// TestS3PayloadMismatch: a body that does not match its signed hash is
// refused and never committed.
func TestS3PayloadMismatch(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client(e.alice), context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("sums")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("sums"), Key: aws.String("x"), Body: strings.NewReader("hello"),
		ContentMD5: aws.String("sZRqySSS0jR8YjW00mERhA==")}) // md5("hello\n"), not of "hello"
	if code(err) != "BadDigest" {
		t.Fatalf("bad Content-MD5: %v", err)
	}
	if _, err := e.eng.Stat(ctx, storeOf("sums"), "x"); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("refused object exists: %v", err)
	}
}

// TestS3KeyOfRecreatedUser: a user deleted and made again under the same
// name does not inherit the old account's keys.
func TestS3KeyOfRecreatedUser(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client(e.alice), context.Background()
	if _, err := c.ListBuckets(ctx, &awss3.ListBucketsInput{}); err != nil {
		t.Fatal(err)
	}
	if err := e.state.DeleteUser("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.state.CreateUser("alice", appliance.RoleOperator, "password-alice-456"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListBuckets(ctx, &awss3.ListBucketsInput{}); code(err) != "InvalidAccessKeyId" {
		t.Fatalf("old key of a new alice: %v", err)
	}
}

// TestS3BucketRetention: a bucket's default retention (COMPLIANCE) is
// the engine's immutability: an object cannot be deleted or overwritten
// through S3, nor through the engine (every other door), and the period
// cannot be shortened while the bucket holds objects.
func TestS3BucketRetention(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client(e.alice), context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("locked"), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetObjectLockConfiguration(ctx, &awss3.GetObjectLockConfigurationInput{Bucket: aws.String("locked")}); code(err) != "ObjectLockConfigurationNotFoundError" {
		t.Fatalf("no configuration yet: %v", err)
	}
	rule := func(mode types.ObjectLockRetentionMode, days int32) *awss3.PutObjectLockConfigurationInput {
		return &awss3.PutObjectLockConfigurationInput{Bucket: aws.String("locked"), ObjectLockConfiguration: &types.ObjectLockConfiguration{
			ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule:              &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: mode, Days: aws.Int32(days)}}}}
	}
	if _, err := c.PutObjectLockConfiguration(ctx, rule(types.ObjectLockRetentionModeGovernance, 1)); code(err) != "NotImplemented" {
		t.Fatalf("governance: %v", err)
	}
	if _, err := c.PutObjectLockConfiguration(ctx, rule(types.ObjectLockRetentionModeCompliance, 2)); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetObjectLockConfiguration(ctx, &awss3.GetObjectLockConfigurationInput{Bucket: aws.String("locked")})
	if err != nil || aws.ToInt32(got.ObjectLockConfiguration.Rule.DefaultRetention.Days) != 2 {
		t.Fatalf("get configuration: %+v %v", got, err)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("backup"), Body: strings.NewReader("v1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("locked"), Key: aws.String("backup")}); code(err) != "AccessDenied" {
		t.Fatalf("delete a locked object: %v", err)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("backup"), Body: strings.NewReader("v2")}); code(err) != "AccessDenied" {
		t.Fatalf("overwrite a locked object: %v", err)
	}
	if err := e.eng.Delete(ctx, storeOf("locked"), "backup"); !errors.Is(err, chunkstore.ErrImmutable) {
		t.Fatalf("delete through the engine: %v", err)
	}
	if _, err := c.PutObjectLockConfiguration(ctx, rule(types.ObjectLockRetentionModeCompliance, 1)); code(err) != "AccessDenied" {
		t.Fatalf("shorten the retention: %v", err)
	}
	out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("locked"), Key: aws.String("backup")})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(out.Body); string(b) != "v1" {
		t.Fatalf("locked object reads %q", b)
	}
}

// TestS3TLS: with a certificate the server speaks only TLS; a client
// that trusts the appliance's certificate works.
func TestS3TLS(t *testing.T) {
	cert, err := appliance.Certificate("", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvTLS(t, &cert)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: leaf.DNSNames[0]}}}
	c := awss3.New(awss3.Options{Region: "us-east-1", BaseEndpoint: aws.String("https://" + e.srv.Addr()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(e.alice.Access, e.alice.Secret, ""), Retryer: aws.NopRetryer{}, HTTPClient: hc})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("tls")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("tls"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client(e.alice).ListBuckets(ctx, &awss3.ListBucketsInput{}); err == nil {
		t.Fatal("plain HTTP answered by a TLS server")
	}
}

package objstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/objstore"
	"github.com/backstop-appliance/backstop/chunkstore/objstore/seaweedtest"
)

// BenchmarkS3 PUTs and GETs 4 MiB objects (one container each) against the
// SeaweedFS cluster, one request at a time and four at once, for the
// client choice in docs/cloud.md:
//
//	scripts/seaweedfs.sh build && go test -run '^$' -bench S3 -benchtime 32x ./chunkstore/objstore/
func BenchmarkS3(b *testing.B) {
	c := seaweedtest.Start(b)
	bk, err := objstore.NewS3(objstore.S3Config{Endpoint: c.S3Addr, Region: "us-east-1", Bucket: "bench",
		AccessKey: seaweedtest.AccessKey, SecretKey: seaweedtest.SecretKey, PathStyle: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := bk.EnsureBucket(ctx); err != nil {
		b.Fatal(err)
	}
	obj := data(9, 4<<20)
	for _, par := range []int{1, 4} {
		b.Run(fmt.Sprintf("put/par=%d", par), func(b *testing.B) {
			b.SetBytes(int64(len(obj)))
			parallel(b, par, func(i int) error { return bk.Put(ctx, fmt.Sprintf("b/%d/%d", par, i), obj) })
		})
		b.Run(fmt.Sprintf("get/par=%d", par), func(b *testing.B) {
			b.SetBytes(int64(len(obj)))
			parallel(b, par, func(i int) error {
				_, err := bk.Get(ctx, fmt.Sprintf("b/%d/%d", par, i%b.N))
				return err
			})
		})
	}
}

// parallel runs f(0..b.N-1) on par goroutines.
func parallel(b *testing.B, par int, f func(int) error) {
	work := make(chan int)
	errs := make(chan error, par)
	for range par {
		go func() {
			var first error
			for i := range work {
				if err := f(i); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for i := 0; i < b.N; i++ {
		work <- i
	}
	close(work)
	for range par {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

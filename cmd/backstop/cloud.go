package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/objstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

const cloudUsage = `Usage:
  backstop cloud init [--data DIR] --name N --endpoint HOST:PORT --bucket B --access-key K
                      [--secret-key-file F] [--region R] [--prefix P/] [--path-style] [--tls] [--ca FILE]
  backstop cloud ls   [--data DIR] [--json]

init makes a new data directory whose containers live in an S3-compatible bucket (a
"cloud target", docs/cloud.md): they are written to DIR/cloud/staging first and
uploaded in the background; reads fetch them back through a read cache in DIR/cloud/cache.
The secret key is read from --secret-key-file, else $BACKSTOP_S3_SECRET_KEY; it is kept
in DIR/appliance/cloud.json (mode 0600) and never printed. ls lists the targets
(without secrets), the one holding the containers and the uploads still pending.`

// cloudTierDir is where a cloud data directory keeps its staging area and
// read cache.
func cloudTierDir(data string) string { return filepath.Join(data, "cloud") }

// cloudContainers sets opts.Containers when the data directory's
// containers live on a cloud target (appliance/cloud.json).
func (e *env) cloudContainers(opts *chunkstore.Options) error {
	c, err := appliance.ReadCloud(filepath.Join(e.data, "appliance"))
	if err != nil || c.Containers == "" {
		return err
	}
	t, err := c.Target(c.Containers)
	if err != nil {
		return err
	}
	opts.Containers = tierOpener(t, cloudTierDir(e.data))
	return nil
}

// tierOpener opens the cloud tier of target t with its local part in dir.
// Close waits up to 10 minutes for pending uploads, so a put that returns
// has its containers in the bucket unless the object store is down.
func tierOpener(t appliance.CloudTarget, dir string) func(string) (chunkstore.ContainerStore, error) {
	return func(string) (chunkstore.ContainerStore, error) {
		b, err := newBucket(t)
		if err != nil {
			return nil, err
		}
		return objstore.Open(objstore.Options{Dir: dir, Bucket: b, Prefix: t.Prefix, Name: t.Name + ":" + t.Bucket + "/", CloseWait: 10 * time.Minute})
	}
}

func newBucket(t appliance.CloudTarget) (*objstore.S3, error) {
	return objstore.NewS3(objstore.S3Config{Endpoint: t.Endpoint, Region: t.Region, Bucket: t.Bucket,
		AccessKey: t.AccessKey, SecretKey: t.SecretKey, PathStyle: t.PathStyle, TLS: t.TLS, CAPEM: []byte(t.CAPEM)})
}

func cmdCloud(ctx context.Context, e *env, args []string) error {
	sub, err := e.subcommand(args, cloudUsage, "init", "ls")
	if sub == "" {
		return err
	}
	e.name = "cloud " + sub
	if sub == "ls" {
		return cloudLs(e, args[1:])
	}
	return cloudInit(ctx, e, args[1:])
}

func cloudInit(ctx context.Context, e *env, args []string) error {
	fs := e.flags(false)
	var t appliance.CloudTarget
	var secretFile, caFile string
	fs.StringVar(&t.Name, "name", "", "name of the cloud target")
	fs.StringVar(&t.Endpoint, "endpoint", "", "S3 endpoint, HOST:PORT")
	fs.StringVar(&t.Region, "region", "", "region (empty: ask the bucket)")
	fs.StringVar(&t.Bucket, "bucket", "", "bucket (created if missing)")
	fs.StringVar(&t.Prefix, "prefix", "", "key prefix, ending in /")
	fs.StringVar(&t.AccessKey, "access-key", "", "access key")
	fs.StringVar(&secretFile, "secret-key-file", "", "file holding the secret key (else $BACKSTOP_S3_SECRET_KEY)")
	fs.BoolVar(&t.PathStyle, "path-style", false, "path-style addressing (endpoint/bucket/key)")
	fs.BoolVar(&t.TLS, "tls", false, "use https")
	fs.StringVar(&caFile, "ca", "", "PEM file of the CA that signs the endpoint's certificate")
	if _, err := e.parseArgs(fs, args, cloudUsage, 0, 0, "takes no arguments"); err != nil {
		return err
	}
	t.SecretKey = os.Getenv("BACKSTOP_S3_SECRET_KEY")
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return fmt.Errorf("secret key: %w", err)
		}
		t.SecretKey = string(trimNewline(b))
	}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("CA: %w", err)
		}
		t.CAPEM = string(b)
	}
	if err := t.Validate(); err != nil {
		return err
	}
	fresh, err := freshDir(e.data)
	if err != nil {
		return err
	}
	if !fresh {
		return fmt.Errorf("%s is not a new or empty directory: a data directory's containers stay where they were made", e.data)
	}
	b, err := newBucket(t)
	if err != nil {
		return err
	}
	bctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := b.EnsureBucket(bctx); err != nil {
		return err
	}
	// A new data directory's recovery would take containers already under
	// the prefix for torn writes of its own and delete them.
	if objs, err := b.List(bctx, t.Prefix+"containers/"); err != nil {
		return err
	} else if len(objs) > 0 {
		return fmt.Errorf("bucket %s already holds %d containers under prefix %q (another appliance's?): choose another prefix", t.Bucket, len(objs), t.Prefix)
	}
	opts := chunkstore.DefaultOptions()
	opts.Containers = tierOpener(t, cloudTierDir(e.data))
	eng, err := chunkstore.Open(ctx, e.data, opts)
	if err != nil {
		return err
	}
	if err := eng.Close(); err != nil {
		return err
	}
	if err := appliance.WriteCloud(filepath.Join(e.data, "appliance"), appliance.CloudConfig{Targets: []appliance.CloudTarget{t}, Containers: t.Name}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backstop: data directory %s keeps its containers on cloud target %s\n", e.data, t)
	return nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// cloudLs prints the targets without their secrets and, for the one
// holding the containers, what is staged and not uploaded yet.
func cloudLs(e *env, args []string) error {
	fs := e.flags(false)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := e.parseArgs(fs, args, cloudUsage, 0, 0, "takes no arguments"); err != nil {
		return err
	}
	c, err := appliance.ReadCloud(filepath.Join(e.data, "appliance"))
	if err != nil {
		return err
	}
	staged, err := filepath.Glob(filepath.Join(cloudTierDir(e.data), "staging", "*.c"))
	if err != nil {
		return err
	}
	type row struct {
		appliance.CloudTarget
		Containers     bool `json:"containers"`
		PendingUploads int  `json:"pending_uploads"`
	}
	rows := []row{}
	for _, t := range c.Targets {
		r := row{CloudTarget: t.Redacted(), Containers: t.Name == c.Containers}
		if r.Containers {
			r.PendingUploads = len(staged)
		}
		rows = append(rows, r)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		return errors.New("no cloud target: the containers are in local volumes")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tENDPOINT\tBUCKET\tPREFIX\tCONTAINERS\tPENDING UPLOADS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%d\n", r.Name, r.Endpoint, r.Bucket, r.Prefix, r.Containers, r.PendingUploads)
	}
	return tw.Flush()
}

// checkCloud sets the cloud part when the containers are on a cloud tier.
func (m *healthMonitor) checkCloud() {
	tier, ok := m.eng.Containers().(*objstore.Tier)
	if !ok {
		return
	}
	h := tier.Health()
	state, why := appliance.CloudHealth(appliance.CloudStatus{Target: tier.Name(), Degraded: h.Degraded, LastError: h.LastError,
		Pending: h.Pending, PendingBytes: h.PendingBytes, StagingBytes: h.StagingBytes})
	m.health.Set(appliance.ComponentCloud, state, why)
}

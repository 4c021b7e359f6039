package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/s3"
)

// s3Flags are serve's flags of the S3 front end.
type s3Flags struct {
	addr  string // "" is off
	plain bool   // plain HTTP instead of TLS
}

// addS3Flags registers --s3 and --s3-plain-http. The S3 front end is off
// by default: an administrator who wants it names its address.
func addS3Flags(fs *flag.FlagSet, f *s3Flags) {
	fs.StringVar(&f.addr, "s3", "", `address of the S3 front end, e.g. 0.0.0.0:9000 (TLS with the appliance's certificate; "" for none, the default)`)
	fs.BoolVar(&f.plain, "s3-plain-http", false, "serve S3 over plain HTTP instead of TLS (only on a trusted network)")
}

// buildS3 opens the S3 access keys (DIR/appliance/s3keys.json, which
// the REST API manages) and, with --s3, makes the S3 server.
func (a *frontEnds) buildS3(eng *chunkstore.Engine, state *appliance.State, f s3Flags, cert *tls.Certificate, log *slog.Logger) error {
	keys, err := appliance.OpenS3Keys(filepath.Join(eng.Dir(), "appliance", "s3keys.json"), nil)
	if err != nil {
		return err
	}
	a.s3keys = keys
	if f.addr == "" {
		return nil
	}
	o := s3.DefaultOptions()
	o.Addr, o.Logger, o.Policy, o.Failures = f.addr, log, a.core.Policy(), &a.failures
	if !f.plain {
		o.Certificate = cert
	}
	a.s3Plain = f.plain
	a.s3 = s3.New(eng, keys, state, o)
	a.list.add("s3 server", "s3", "s3", a.s3)
	return nil
}

// printS3 tells where S3 listens.
func (a *frontEnds) printS3(e *env, plain bool) {
	if a.s3 == nil {
		return
	}
	scheme := "https"
	if plain {
		scheme = "http"
	}
	fmt.Fprintf(e.stdout, "  S3: %s://%s (path-style; access keys from POST /api/v1/s3/keys)\n", scheme, a.s3.Addr())
}

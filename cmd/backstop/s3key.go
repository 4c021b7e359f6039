package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// cmdS3Key: backstop s3-key create|ls|rm, the S3 access keys through the
// REST API of a running appliance (POST/GET/DELETE /api/v1/s3/keys), as
// --user with $BACKSTOP_PASSWORD.
func cmdS3Key(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("backstop s3-key", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	base := fs.String("url", "https://127.0.0.1:8443", "the appliance's web address")
	user := os.Getenv("BACKSTOP_USER")
	if user == "" {
		user = "admin"
	}
	fs.StringVar(&e.remote.user, "user", user, "appliance user to log in as (password from BACKSTOP_PASSWORD)")
	forUser := fs.String("for", "", "create: whose key (an admin's choice; default the --user)")
	fs.StringVar(&e.remote.ca, "ca", "", "PEM certificate to trust (such as DATA/tls/cert.pem)")
	fs.BoolVar(&e.remote.insecure, "insecure", false, "do not verify the appliance's certificate")
	rest, err := e.parseArgs(fs, args, "Usage: backstop s3-key create [--for USER] | ls | rm ACCESS_KEY  [--url URL] [--user U] [--ca FILE | --insecure]\n\n"+
		"create prints the access key and its secret, shown only this once.", 1, 2, "takes create, ls or rm ACCESS_KEY")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	hc, err := e.remote.httpClient()
	if err != nil {
		return err
	}
	pw, ok := os.LookupEnv("BACKSTOP_PASSWORD")
	if !ok {
		return fmt.Errorf("set BACKSTOP_PASSWORD to the password of %s", e.remote.user)
	}
	body, _ := json.Marshal(map[string]string{"username": e.remote.user, "password": pw})
	var s struct{ Token string }
	if err := call(ctx, hc, http.MethodPost, *base+"/api/v1/sessions", "", body, &s); err != nil {
		return fmt.Errorf("log in as %s: %w", e.remote.user, err)
	}
	keys := *base + "/api/v1/s3/keys"
	switch {
	case rest[0] == "create" && len(rest) == 1:
		body, _ := json.Marshal(map[string]string{"user": *forUser})
		var k appliance.S3Key
		if err := call(ctx, hc, http.MethodPost, keys, s.Token, body, &k); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s\naccess key %s\nsecret key %s\n(the secret is shown only now)\n", k.User, k.Access, k.Secret)
	case rest[0] == "ls" && len(rest) == 1:
		var list []appliance.S3Key
		if err := call(ctx, hc, http.MethodGet, keys, s.Token, nil, &list); err != nil {
			return err
		}
		for _, k := range list {
			fmt.Fprintf(e.stdout, "%s  %s  %s\n", k.Access, k.User, k.Created.Format(time.RFC3339))
		}
	case rest[0] == "rm" && len(rest) == 2:
		var none struct{}
		if err := call(ctx, hc, http.MethodDelete, keys+"/"+rest[1], s.Token, nil, &none); err != nil && !strings.Contains(err.Error(), "unexpected end of JSON") {
			return err
		}
	default:
		return e.usageError(fs, "takes create, ls or rm ACCESS_KEY")
	}
	return nil
}

// httpClient is an HTTPS client trusting --ca (or nothing, --insecure).
func (r *remote) httpClient() (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: r.insecure}
	if r.ca != "" {
		pem, err := os.ReadFile(r.ca)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in %s", r.ca)
		}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}, nil
}

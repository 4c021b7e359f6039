package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// healthTimeout bounds the whole of backstop health: a check that hangs
// is a failed one.
const healthTimeout = 20 * time.Second

// cmdHealth: backstop health, for a container's HEALTHCHECK and for
// scripts. Without a password it checks that the appliance's web server
// answers; with one ($BACKSTOP_PASSWORD, user --user) it prints the
// appliance's health and fails when it is "failed".
func cmdHealth(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("backstop health", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	url := fs.String("url", "https://127.0.0.1:8443/api/v1/health", "the appliance's health URL")
	asJSON := fs.Bool("json", false, "print the health report as JSON")
	user := os.Getenv("BACKSTOP_USER")
	if user == "" {
		user = "admin"
	}
	fs.StringVar(&e.remote.user, "user", user, "appliance user (password from BACKSTOP_PASSWORD)")
	fs.StringVar(&e.remote.ca, "ca", "", "PEM certificate to trust (such as DATA/tls/cert.pem)")
	fs.BoolVar(&e.remote.insecure, "insecure", false, "do not verify the appliance's certificate (a check from the appliance's own host)")
	if _, err := e.parseArgs(fs, args, "Usage: backstop health [--url URL] [--ca FILE | --insecure] [--user U] [--json]\n\n"+
		"Exits 0 when the appliance answers (and, with $BACKSTOP_PASSWORD, is not failed), 1 otherwise.", 0, 0, "takes no arguments"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: e.remote.insecure}
	if e.remote.ca != "" {
		pem, err := os.ReadFile(e.remote.ca)
		if err != nil {
			return err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificate in %s", e.remote.ca)
		}
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	token := ""
	if pw, ok := os.LookupEnv("BACKSTOP_PASSWORD"); ok {
		base, _, _ := strings.Cut(*url, "/api/v1/")
		body, _ := json.Marshal(map[string]string{"username": e.remote.user, "password": pw})
		var s struct{ Token string }
		if err := call(ctx, hc, http.MethodPost, base+"/api/v1/sessions", "", body, &s); err != nil {
			return fmt.Errorf("log in as %s: %w", e.remote.user, err)
		}
		token = s.Token
	}
	var rep appliance.HealthReport
	err := call(ctx, hc, http.MethodGet, *url, token, nil, &rep)
	if token == "" && errors.Is(err, errNeedsLogin) {
		fmt.Fprintf(e.stdout, "the appliance answers at %s (set BACKSTOP_PASSWORD for its health)\n", *url)
		return nil
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(e.stdout).Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "health: %s\n", rep.State)
		for _, p := range rep.Components {
			if p.State != appliance.OK {
				fmt.Fprintf(e.stdout, "  %s: %s: %s\n", p.Name, p.State, p.Reason)
			}
		}
	}
	if rep.State == appliance.Failed {
		return exitError{code: 1}
	}
	return nil
}

// errNeedsLogin is call's error for a 401.
var errNeedsLogin = errors.New("the appliance wants a login")

// call does one JSON request and decodes the answer into out.
func call(ctx context.Context, hc *http.Client, method, url, token string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("the appliance does not answer: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading %s: %w", url, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return errNeedsLogin
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

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
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// The store commands reach an appliance through its REST API, not
// Catalyst: the API already has the store operations with their access
// policy and audit (docs/decisions.md, "Store commands over the REST API").

// defaultWebPort is serve's --web port, for a web URL derived from --server.
const defaultWebPort = "8443"

// webTimeout bounds one request of a store command.
const webTimeout = 30 * time.Second

// webClient calls the appliance's REST API as one user.
type webClient struct {
	base string // https://host:port/api/v1
	hc   *http.Client
	// token is the Bearer token: BACKSTOP_TOKEN, or a session this
	// command opened (session true: it logs out when done).
	token   string
	session bool
}

// apiError is an error answer of the API; it wraps the engine's sentinel
// of its code, so that errors.Is works as for a local store command.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func (e *apiError) Unwrap() error {
	switch e.code {
	case "not_found":
		return chunkstore.ErrNotFound
	case "invalid":
		return chunkstore.ErrInvalid
	}
	return nil
}

// webURL is --web-url, or https://HOST:8443 for --server HOST:PORT.
func (e *env) webURL(flagURL string) (string, error) {
	raw := flagURL
	if raw == "" {
		host, _, err := net.SplitHostPort(e.remote.server)
		if err != nil {
			host = e.remote.server
		}
		raw = "https://" + net.JoinHostPort(host, defaultWebPort)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("--web-url %q: want https://HOST:PORT, the appliance's web address", raw)
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/") + "/api/v1", nil
}

// webDial opens an API client: with BACKSTOP_TOKEN (an API token) as is,
// else it logs in as --user with BACKSTOP_PASSWORD or the terminal's
// password.
func (e *env) webDial(ctx context.Context, flagURL string) (*webClient, error) {
	base, err := e.webURL(flagURL)
	if err != nil {
		return nil, err
	}
	if e.remote.server == "" {
		e.remote.server = strings.TrimSuffix(base, "/api/v1") // the password prompt's
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: e.remote.insecure}
	if e.remote.ca != "" {
		pem, err := os.ReadFile(e.remote.ca)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca: no certificate in %s", e.remote.ca)
		}
	}
	w := &webClient{base: base, hc: &http.Client{Timeout: webTimeout, Transport: &http.Transport{TLSClientConfig: cfg}}}
	if tok := os.Getenv("BACKSTOP_TOKEN"); tok != "" {
		w.token = tok
		return w, nil
	}
	pw, err := e.password(ctx)
	if err != nil {
		return nil, err
	}
	var s struct {
		Token string `json:"token"`
	}
	if err := w.do(ctx, http.MethodPost, "/sessions", map[string]string{"username": e.remote.user, "password": pw}, &s); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusUnauthorized {
			return nil, fmt.Errorf("%s refused user %s: bad user or password (the password comes from BACKSTOP_PASSWORD, or is asked on the terminal; BACKSTOP_TOKEN takes an API token instead)", w.origin(), e.remote.user)
		}
		return nil, err
	}
	w.token, w.session = s.Token, true
	return w, nil
}

// origin is the appliance's web address, for messages.
func (w *webClient) origin() string { return strings.TrimSuffix(w.base, "/api/v1") }

// close ends the session webDial opened.
func (w *webClient) close(ctx context.Context) {
	if w.session {
		_ = w.do(ctx, http.MethodDelete, "/sessions/current", nil, nil)
	}
}

// do sends one JSON request to path (under /api/v1) and decodes the answer
// into out (if not nil); it returns the answer's headers.
func (w *webClient) do(ctx context.Context, method, path string, in, out any) error {
	_, err := w.doHeader(ctx, method, path, in, out)
	return err
}

func (w *webClient) doHeader(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return nil, w.unreachable(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", w.origin(), err)
	}
	if resp.StatusCode/100 != 2 {
		var eb struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(b, &eb) != nil || eb.Error.Message == "" {
			return nil, fmt.Errorf("%s answered %s (is it the appliance's web address?)", w.origin(), resp.Status)
		}
		return nil, &apiError{status: resp.StatusCode, code: eb.Error.Code, message: eb.Error.Message}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s answered something else than the appliance's API: %w", w.origin(), err)
		}
	}
	return resp.Header, nil
}

// unreachable words a request that got no answer.
func (w *webClient) unreachable(err error) error {
	msg := err.Error()
	var why string
	switch {
	case strings.Contains(msg, "x509: certificate signed by unknown authority"):
		why = "its certificate is not trusted (the appliance's certificate is self-signed: pass --ca DATA/tls/cert.pem, or --insecure)"
	case strings.Contains(msg, "x509:"):
		why = "its certificate does not fit: " + after(msg, "x509: ") + " (pass --ca with the appliance's certificate, or --insecure)"
	case strings.Contains(msg, "connection refused"):
		why = "nothing listens there (is backstop serve running? its web address is serve's --web, port 8443 by default; --web-url names another)"
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		why = "it speaks plain HTTP (use an http:// --web-url)"
	case strings.Contains(msg, "first record does not look like a TLS handshake"), strings.Contains(msg, "tls:"):
		why = "it does not speak TLS as the web server does (is it the web address? Catalyst's port is another)"
	case strings.Contains(msg, "no such host"):
		why = "no such host"
	case strings.Contains(msg, "EOF"), strings.Contains(msg, "connection reset"):
		why = "the connection was closed (is it the web address? Catalyst's port is another)"
	default:
		why = msg
	}
	return &plainError{msg: fmt.Sprintf("cannot reach the appliance at %s: %s", w.origin(), why), err: err}
}

// storeView is a store as GET /api/v1/stores answers it.
type storeView struct {
	chunkstore.StoreInfo
}

// stores lists every store the user may see, page by page.
func (w *webClient) stores(ctx context.Context) ([]chunkstore.StoreInfo, error) {
	var out []chunkstore.StoreInfo
	after := ""
	for {
		path := "/stores?limit=1000"
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		var page []storeView
		h, err := w.doHeader(ctx, http.MethodGet, path, nil, &page)
		if err != nil {
			return nil, err
		}
		for _, v := range page {
			out = append(out, v.StoreInfo)
		}
		if after = h.Get("X-Next-After"); after == "" || len(page) == 0 {
			return out, nil
		}
	}
}

// storeRemote runs store create|ls|set|rm against the appliance's API.
func storeRemote(ctx context.Context, e *env, sub string, fs *flag.FlagSet, f storeFlags, pos []string, asJSON bool, flagURL string) error {
	w, err := e.webDial(ctx, flagURL)
	if err != nil {
		return err
	}
	defer w.close(context.WithoutCancel(ctx))
	switch sub {
	case "ls":
		stores, err := w.stores(ctx)
		if err != nil {
			return err
		}
		return printStores(e, stores, asJSON)
	case "rm":
		var ae *apiError
		err := w.do(ctx, http.MethodDelete, "/stores/"+url.PathEscape(pos[0]), nil, nil)
		if errors.As(err, &ae) && ae.status == http.StatusConflict {
			return fmt.Errorf("%w (delete its items first: backstop rm --server HOST:PORT --store %s NAME...)", err, pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "store %s deleted\n", pos[0])
		return nil
	case "create":
		return storeCreateRemote(ctx, e, w, fs, f, pos[0])
	}
	var v storeView
	if err := w.do(ctx, http.MethodGet, "/stores/"+url.PathEscape(pos[0]), nil, &v); err != nil {
		return err
	}
	o := v.StoreOptions
	f.apply(fs, &o, false)
	if err := w.do(ctx, http.MethodPut, "/stores/"+url.PathEscape(pos[0])+"/options", o, &v); err != nil {
		return err
	}
	return printStores(e, []chunkstore.StoreInfo{v.StoreInfo}, false)
}

// storeCreateRemote is store create over the API: the domain is made when
// the appliance says it does not exist, as a local store create does.
func storeCreateRemote(ctx context.Context, e *env, w *webClient, fs *flag.FlagSet, f storeFlags, name string) error {
	var o chunkstore.StoreOptions
	f.apply(fs, &o, true)
	if err := o.Validate(); err != nil {
		return err
	}
	req := struct {
		Name      string `json:"name"`
		Domain    string `json:"domain"`
		NewDomain bool   `json:"new_domain"`
		chunkstore.StoreOptions
	}{Name: name, Domain: f.domain, StoreOptions: o}
	var v storeView
	err := w.do(ctx, http.MethodPost, "/stores", req, &v)
	if errors.Is(err, chunkstore.ErrNotFound) {
		req.NewDomain = true
		if err = w.do(ctx, http.MethodPost, "/stores", req, &v); err == nil {
			fmt.Fprintf(e.stdout, "domain %s created\n", f.domain)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "store %s created\n", name)
	return printStores(e, []chunkstore.StoreInfo{v.StoreInfo}, false)
}

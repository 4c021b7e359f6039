package main

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// plainError is an error in words a person can act on; the error it
// stands for stays reachable for errors.Is.
type plainError struct {
	msg string
	err error
}

func (p *plainError) Error() string { return p.msg }
func (p *plainError) Unwrap() error { return p.err }

// plainRemote says in plain words what went wrong talking to --server:
// connection, TLS and permission errors, and the gRPC codes Unavailable,
// Unauthenticated, PermissionDenied and NotFound, instead of grpc-go's
// texts (such as its ALPN message when --server is the web port).
func plainRemote(err error, r remote) error {
	st, ok := status.FromError(err)
	if err == nil || !ok {
		return err
	}
	msg, srv := st.Message(), r.server
	say := func(format string, args ...any) error {
		return &plainError{msg: fmt.Sprintf(format, args...), err: err}
	}
	switch st.Code() {
	case codes.Unavailable:
		return unavailable(err, msg, srv)
	case codes.Unauthenticated:
		return say("%s refused user %s: bad user or password (the password comes from BACKSTOP_PASSWORD, or is asked on the terminal)", srv, r.user)
	case codes.PermissionDenied:
		return say("permission denied on %s for user %s: %s (an administrator can grant it: a role, or the store's clients)", srv, r.user, trimPrefixes(msg))
	case codes.NotFound:
		return say("%s on %s", trimPrefixes(msg), srv)
	}
	return err
}

// unavailable words a connection that could not be made.
func unavailable(err error, msg, srv string) error {
	var why string
	switch {
	case strings.Contains(msg, "missing selected ALPN"), strings.Contains(msg, "server preface"):
		why = "it answers TLS but is not the Catalyst service (the web port? Catalyst is serve's --catalyst address, port 9387 by default)"
	case strings.Contains(msg, "x509: certificate signed by unknown authority"):
		why = "its certificate is not trusted (the appliance's certificate is self-signed: pass --ca DATA/tls/cert.pem, or --insecure)"
	case strings.Contains(msg, "x509:"):
		why = "its certificate does not fit: " + after(msg, "x509: ") + " (pass --ca with the appliance's certificate, or --insecure)"
	case strings.Contains(msg, "first record does not look like a TLS handshake"), strings.Contains(msg, "tls:"):
		why = "it does not speak TLS as the Catalyst service does (is it the Catalyst address?)"
	case strings.Contains(msg, "connection refused"):
		why = "nothing listens there (is backstop serve running, with --catalyst on that address?)"
	case strings.Contains(msg, "no such host"):
		why = "no such host"
	case strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "no route to host"), strings.Contains(msg, "network is unreachable"):
		why = "no answer (a wrong address, or a firewall in between)"
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "EOF"):
		why = "the connection was closed (is it the Catalyst address?)"
	default:
		why = after(msg, "desc = ")
	}
	return &plainError{msg: fmt.Sprintf("cannot reach the appliance at %s: %s", srv, why), err: err}
}

// after is s after the last sep (all of s when there is none), unquoted.
func after(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 {
		s = s[i+len(sep):]
	}
	return strings.Trim(s, `"`)
}

// trimPrefixes drops the package and sentinel prefixes of a server's
// message ("chunkstore: not found: store \"x\"" is "store \"x\" not
// found").
func trimPrefixes(msg string) string {
	for _, p := range []string{"chunkstore: ", "catalyst: ", "appliance: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if rest, ok := strings.CutPrefix(msg, "not found: "); ok {
		return rest + " not found"
	}
	return strings.TrimPrefix(msg, "permission denied: ")
}

// isPlain reports whether err is already in plain words.
func isPlain(err error) bool {
	var p *plainError
	return errors.As(err, &p)
}

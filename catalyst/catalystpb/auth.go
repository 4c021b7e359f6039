package catalystpb

import (
	"context"
	"encoding/base64"
)

// BasicAuth is the per-call credential a client sends: HTTP Basic in the
// "authorization" metadata, which the server checks on every call.
type BasicAuth struct {
	User, Password string
	// Insecure allows sending it without TLS (tests only).
	Insecure bool
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b BasicAuth) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(b.User+":"+b.Password))}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (b BasicAuth) RequireTransportSecurity() bool { return !b.Insecure }

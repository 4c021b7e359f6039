package s3

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// The x-amz-content-sha256 values that are not a hash of the payload.
const (
	unsignedPayload       = "UNSIGNED-PAYLOAD"
	streamingSigned       = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrail  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrai = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	sigAlgorithm          = "AWS4-HMAC-SHA256"
	emptySHA256           = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// maxSkew is how far a request's x-amz-date may be from the clock.
	maxSkew = 15 * time.Minute
)

// credential is what a verified signature gives the rest of the request:
// the key's user, and what the body's chunk signatures chain from.
type credential struct {
	user    string
	created time.Time // the key's
	secret  string
	date    string // x-amz-date
	scope   string // DATE/REGION/s3/aws4_request
	seed    string // the request's signature, the first chunk's previous one
	payload string // x-amz-content-sha256
}

// parseAuth splits an Authorization header of SigV4.
func parseAuth(h string) (access, scope string, signed []string, sig string, err error) {
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return "", "", nil, "", fmt.Errorf("%w: not AWS4-HMAC-SHA256", errAuthHeader)
	}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			access, scope, _ = strings.Cut(v, "/")
		case "SignedHeaders":
			signed = strings.Split(v, ";")
		case "Signature":
			sig = v
		}
	}
	if access == "" || scope == "" || len(signed) == 0 || sig == "" {
		return "", "", nil, "", fmt.Errorf("%w: incomplete", errAuthHeader)
	}
	return access, scope, signed, sig, nil
}

// verify checks r's SigV4 signature (Authorization header form) with the
// secret of its access key and returns the credential.
func (s *Server) verify(r *http.Request) (credential, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return credential{}, errAnonymous
	}
	access, scope, signed, sig, err := parseAuth(h)
	if err != nil {
		return credential{}, err
	}
	date := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return credential{}, fmt.Errorf("%w: x-amz-date %q", errAuthHeader, date)
	}
	if d := s.now().Sub(t); d > maxSkew || d < -maxSkew {
		return credential{}, errSkew
	}
	parts := strings.Split(scope, "/")
	if len(parts) != 4 || parts[0] != date[:8] || parts[2] != "s3" || parts[3] != "aws4_request" {
		return credential{}, fmt.Errorf("%w: credential scope %q", errAuthHeader, scope)
	}
	if !contains(signed, "host") {
		return credential{}, fmt.Errorf("%w: host is not signed", errAuthHeader)
	}
	key, err := s.keys.S3Secret(access)
	if err != nil {
		return credential{}, errUnknownKey
	}
	user, secret := key.User, key.Secret
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		return credential{}, fmt.Errorf("%w: no x-amz-content-sha256", errAuthHeader)
	}
	creq := canonicalRequest(r, signed, payload)
	sts := strings.Join([]string{sigAlgorithm, date, scope, hexSHA256([]byte(creq))}, "\n")
	want := hex.EncodeToString(hmacSHA256(signingKey(secret, parts[0], parts[1]), sts))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		s.log.Debug("s3: signature does not match", "access", access, "canonical_request", creq)
		return credential{}, errSignature
	}
	return credential{user: user, created: key.Created, secret: secret, date: date, scope: scope, seed: sig, payload: payload}, nil
}

// canonicalRequest is SigV4's canonical form of r.
func canonicalRequest(r *http.Request, signed []string, payload string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(uriEncode(r.URL.Path, false) + "\n")
	b.WriteString(canonicalQuery(r.URL.RawQuery) + "\n")
	for _, name := range signed {
		var v string
		if name == "host" {
			v = r.Host
		} else {
			vals := r.Header.Values(name)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		b.WriteString(name + ":" + v + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n" + payload)
	return b.String()
}

// canonicalQuery sorts and encodes a query string as SigV4 wants it.
func canonicalQuery(raw string) string {
	q, _ := url.ParseQuery(raw)
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		vs := q[k]
		sort.Strings(vs)
		for _, v := range vs {
			out = append(out, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	return strings.Join(out, "&")
}

// uriEncode is SigV4's URI encoding: every byte but the unreserved ones
// as %XX, and '/' too when slash.
func uriEncode(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !slash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func signingKey(secret, date, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, "s3")
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func hexSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// chunkSignature is the signature of one aws-chunked chunk whose data
// hashes to dataHash, after the chunk (or request) signed prev.
func (c credential) chunkSignature(prev, dataHash string) string {
	parts := strings.Split(c.scope, "/")
	sts := strings.Join([]string{"AWS4-HMAC-SHA256-PAYLOAD", c.date, c.scope, prev, emptySHA256, dataHash}, "\n")
	return hex.EncodeToString(hmacSHA256(signingKey(c.secret, parts[0], parts[1]), sts))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

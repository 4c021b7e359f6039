package catalyst

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/tap"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Users checks an appliance user's password.
type Users interface {
	Authenticate(name, password string) (appliance.User, error)
}

// LoginLimiter throttles password checks and audits the failures
// (appliance.Limiter, shared by every protocol).
type LoginLimiter interface {
	// Begin reserves one check of user's password from addr, or refuses
	// it; done reports the outcome.
	Begin(protocol, addr, user string) (done func(ok bool), err error)
}

// credTTL is how long a verified password is trusted without running
// argon2id again: a password change or user removal takes effect within it.
const credTTL = time.Minute

// authCache remembers recently verified credentials, so that a client
// opening many streams does not pay argon2id (tens of milliseconds, 64
// MiB) on each. It keeps a salted SHA-256 of the password, never the
// password.
type authCache struct {
	users  Users
	logins LoginLimiter
	now    func() time.Time
	salt   [32]byte
	mu     sync.Mutex
	ok     map[string]cached
}

type cached struct {
	sum     [32]byte
	user    appliance.User
	expires time.Time
}

func newAuthCache(users Users, logins LoginLimiter, now func() time.Time) *authCache {
	c := &authCache{users: users, logins: logins, now: now, ok: map[string]cached{}}
	rand.Read(c.salt[:])
	return c
}

// check verifies name's password; addr is the client's address. A
// password that matches the cache is not a guess and skips the limiter;
// any other goes through it.
func (c *authCache) check(addr, name, password string) (appliance.User, error) {
	h := sha256.New()
	h.Write(c.salt[:])
	h.Write([]byte(password))
	var sum [32]byte
	h.Sum(sum[:0])
	now := c.now()
	c.mu.Lock()
	e, ok := c.ok[name]
	c.mu.Unlock()
	if ok && now.Before(e.expires) && subtle.ConstantTimeCompare(e.sum[:], sum[:]) == 1 {
		return e.user, nil
	}
	done, err := c.logins.Begin("catalyst", addr, name)
	if err != nil {
		return appliance.User{}, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	u, err := c.users.Authenticate(name, password)
	done(err == nil)
	if err != nil {
		return appliance.User{}, ErrAuth
	}
	c.mu.Lock()
	if len(c.ok) > 4096 {
		clear(c.ok)
	}
	c.ok[name] = cached{sum: sum, user: u, expires: now.Add(credTTL)}
	c.mu.Unlock()
	return u, nil
}

type userKey struct{}

// tap authenticates a call when its headers arrive, before gRPC creates
// the stream or reads a byte of its messages (grpc.InTapHandle): a caller
// without valid credentials is refused with Unauthenticated (or
// ResourceExhausted when the login limiter throttles him) and makes the
// server buffer nothing. The user goes to the handlers in the returned
// context. gRPC runs this in the connection's reader, one call at a time:
// a password the cache knows costs a SHA-256; any other waits for an
// argon2id check, which holds up that connection's other calls only.
func (c *authCache) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	u, err := c.authenticate(ctx, info.Header)
	if err != nil {
		return ctx, toStatus(err)
	}
	return context.WithValue(ctx, userKey{}, u), nil
}

// authenticate checks the Basic credentials in a call's metadata; ctx
// tells the client's address.
func (c *authCache) authenticate(ctx context.Context, md metadata.MD) (appliance.User, error) {
	vals := md.Get("authorization")
	if len(vals) != 1 || !strings.HasPrefix(vals[0], "Basic ") {
		return appliance.User{}, ErrAuth
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(vals[0], "Basic "))
	if err != nil {
		return appliance.User{}, ErrAuth
	}
	name, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return appliance.User{}, ErrAuth
	}
	addr := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	return c.check(addr, name, password)
}

// authenticated is what the interceptors check: that tap authenticated
// the call (it always runs first; this only guards against a server
// built without it).
func authenticated(ctx context.Context) error {
	if _, ok := ctx.Value(userKey{}).(appliance.User); !ok {
		return toStatus(ErrAuth)
	}
	return nil
}

func (c *authCache) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := authenticated(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (c *authCache) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := authenticated(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}

func userFrom(ctx context.Context) appliance.User {
	u, _ := ctx.Value(userKey{}).(appliance.User)
	return u
}

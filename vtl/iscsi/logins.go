package iscsi

import "github.com/backstop-appliance/backstop/vtl/iscsi/wire"

// LoginLimiter throttles password checks and audits failed logins
// (appliance.Limiter, shared by every protocol).
type LoginLimiter interface {
	// Begin reserves one check of user's secret from addr, or refuses
	// it; done reports the outcome.
	Begin(protocol, addr, user string) (done func(ok bool), err error)
}

// checkCHAP verifies the initiator's CHAP response through the limiter
// (Options.Logins): a refused attempt fails with 0201h, authentication
// failure, as a wrong secret does, without the response being checked.
func (c *conn) checkCHAP(st *loginState, name string, kv wire.Text, out *wire.Text) error {
	lim := c.srv.opts.Logins
	if lim == nil {
		return c.chapVerify(st, name, kv, out)
	}
	done, err := lim.Begin("iscsi", c.nc.RemoteAddr().String(), name)
	if err != nil {
		return fail(loginAuthFailed, "CHAP of %q: %v", name, err)
	}
	err = c.chapVerify(st, name, kv, out)
	done(err == nil)
	return err
}

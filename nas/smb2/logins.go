package smb2

import "errors"

// LoginLimiter throttles password checks and audits failed logins
// (appliance.Limiter, shared by every protocol).
type LoginLimiter interface {
	// Begin reserves one check of user's password from addr, or refuses
	// it; done reports the outcome.
	Begin(protocol, addr, user string) (done func(ok bool), err error)
	// Refused audits a failed logon that checked no password.
	Refused(protocol, addr, user, reason string)
}

// checkNTLM checks an AUTHENTICATE_MESSAGE through the limiter
// (Options.Logins): the user's NT hash is looked up, and the proof
// checked, only if the limiter lets this attempt through; a refused one
// fails as a wrong password would, STATUS_LOGON_FAILURE.
func (c *conn) checkNTLM(n *ntlmServer, msg []byte) error {
	lim := c.srv.opts.Logins
	if lim == nil {
		return n.authenticate(msg, c.lookupHash)
	}
	addr := c.nc.RemoteAddr().String()
	var done func(bool)
	var refused bool
	err := n.authenticate(msg, func(user string) ([]byte, bool) {
		d, err := lim.Begin("smb", addr, user)
		if err != nil {
			refused = true
			return nil, false
		}
		done = d
		return c.lookupHash(user)
	})
	switch {
	case done != nil:
		done(err == nil)
	case refused:
		// The limiter audited it.
	case errors.Is(err, errNTLM):
		lim.Refused("smb", addr, "", "malformed NTLM AUTHENTICATE message")
	case err != nil:
		lim.Refused("smb", addr, "", "anonymous or NTLMv1 logon")
	}
	return err
}

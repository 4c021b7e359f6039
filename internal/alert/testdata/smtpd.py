# A real SMTP server for the alert tests (Debian python3-aiosmtpd): it
# writes every message it accepts to DIR/N.eml and, when USER is given,
# requires AUTH with USER/PASS (offered in the clear: the client is on
# loopback; only LOGIN when SMTPD_ONLY_LOGIN is set); with CERT and KEY it
# offers STARTTLS.
#
#   python3 smtpd.py PORT DIR [USER PASS [CERT KEY]]
import os, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, out = int(sys.argv[1]), sys.argv[2]
user = sys.argv[3] if len(sys.argv) > 4 else None
password = sys.argv[4] if len(sys.argv) > 4 else None
cert = sys.argv[5:7] if len(sys.argv) > 6 else None

class Handler:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Handler.n += 1
        path = os.path.join(out, "%d.eml" % Handler.n)
        with open(path + ".tmp", "wb") as f:
            f.write(("X-Envelope-From: %s\r\nX-Envelope-To: %s\r\nX-Auth: %s\r\nX-TLS: %s\r\n" % (
                envelope.mail_from, ",".join(envelope.rcpt_tos),
                session.authenticated, session.ssl is not None)).encode())
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK"

def auth(server, session, envelope, mechanism, data):
    ok = data.login.decode() == user and data.password.decode() == password
    return AuthResult(success=ok, handled=False)

kw = {}
if user:
    kw.update(authenticator=auth, auth_required=True, auth_require_tls=False)
    if os.environ.get("SMTPD_ONLY_LOGIN"):
        kw.update(auth_exclude_mechanism=["PLAIN"])
if cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert[0], cert[1])
    kw.update(tls_context=ctx, require_starttls=True)
c = Controller(Handler(), hostname="127.0.0.1", port=port, **kw)
c.start()
print("ready", flush=True)
try:
    sys.stdin.read()  # runs until the test closes stdin
finally:
    c.stop()

package alert

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// mailTimeout bounds a whole SMTP conversation when ctx has no deadline.
const mailTimeout = 30 * time.Second

// sendMail sends m as a plain-text e-mail: STARTTLS when the server offers
// it (or always, or never, by e.StartTLS), AUTH PLAIN or LOGIN when a
// user name is set (net/smtp refuses either in the clear except to
// localhost), then one message to every recipient.
func sendMail(ctx context.Context, e appliance.EmailTarget, m Message) error {
	port := e.Port
	if port == 0 {
		port = 587
	}
	addr := net.JoinHostPort(e.Host, strconv.Itoa(port))
	fail := func(step string, err error) error {
		return fmt.Errorf("%w: smtp %s: %s: %w", ErrDelivery, addr, step, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(mailTimeout)
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fail("dial", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, e.Host)
	if err != nil {
		return fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(helloName(m.Appliance)); err != nil {
		return fail("EHLO", err)
	}
	offered, _ := c.Extension("STARTTLS")
	switch {
	case e.StartTLS == "required" && !offered:
		return fail("STARTTLS", errors.New("required but the server does not offer it"))
	case e.StartTLS != "off" && offered:
		cfg, err := tlsConfig(e.Host, e.CAPEM)
		if err != nil {
			return err
		}
		if err := c.StartTLS(cfg); err != nil {
			return fail("STARTTLS", err)
		}
	}
	if e.Username != "" {
		if err := authenticate(c, e); err != nil {
			return fail("AUTH", err)
		}
	}
	from, _ := mail.ParseAddress(e.From)
	if err := c.Mail(from.Address); err != nil {
		return fail("MAIL FROM", err)
	}
	var to []string
	for _, a := range e.To {
		p, _ := mail.ParseAddress(a)
		if err := c.Rcpt(p.Address); err != nil {
			return fail("RCPT TO "+p.Address, err)
		}
		to = append(to, p.String())
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(compose(from.String(), to, m)); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return fail("end of DATA", err)
	}
	return c.Quit()
}

func helloName(host string) string {
	if host == "" || strings.ContainsAny(host, " \r\n") {
		return "localhost"
	}
	return host
}

// authenticate uses PLAIN when the server offers it, else LOGIN.
func authenticate(c *smtp.Client, e appliance.EmailTarget) error {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return errors.New("a user name is set but the server offers no AUTH")
	}
	for _, mech := range strings.Fields(strings.ToUpper(mechs)) {
		if mech == "PLAIN" {
			return c.Auth(smtp.PlainAuth("", e.Username, e.Password, e.Host))
		}
	}
	return c.Auth(&loginAuth{user: e.Username, pass: e.Password, host: e.Host})
}

// loginAuth is AUTH LOGIN, which net/smtp lacks, with PlainAuth's rule:
// never in the clear except to localhost. It answers the first challenge
// with the user name and the second with the password, whatever their
// text ("Username:", "User Name"...).
type loginAuth struct {
	user, pass, host string
	step             int
}

func (a *loginAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	local := s.Name == "localhost" || s.Name == "127.0.0.1" || s.Name == "::1"
	if !s.TLS && !local {
		return "", nil, errors.New("unencrypted connection")
	}
	if s.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(from []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected third server challenge %q", from)
}

// compose makes the RFC 5322 message: headers, then the text body in
// quoted-printable UTF-8.
func compose(from string, to []string, m Message) []byte {
	var b bytes.Buffer
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", from)
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject()))
	hdr("Date", m.Event.Time.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id)+"@"+helloName(m.Appliance)+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(m.Text()))
	_ = qp.Close()
	return b.Bytes()
}

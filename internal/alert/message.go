package alert

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Message is what every target is sent: the event and the appliance it
// comes from. It is the webhook's JSON document.
type Message struct {
	Appliance string          `json:"appliance"` // host name
	Test      bool            `json:"test,omitempty"`
	Event     appliance.Event `json:"event"`
}

// Subject is the one-line summary: e-mail subject.
func (m Message) Subject() string {
	prefix := "[backstop " + m.Appliance + "] "
	if m.Test {
		prefix += "test: "
	}
	return oneLine(prefix + strings.ToUpper(m.Event.Level) + " " + m.Event.Action + ": " + m.Event.Message)
}

// Text is the plain-text body of an e-mail.
func (m Message) Text() string {
	e := m.Event
	var b strings.Builder
	fmt.Fprintf(&b, "%s\r\n\r\n", e.Message)
	fmt.Fprintf(&b, "Appliance: %s\r\nTime:      %s\r\nLevel:     %s\r\nKind:      %s\r\nAction:    %s\r\n",
		m.Appliance, e.Time.UTC().Format(time.RFC3339), e.Level, e.Kind, e.Action)
	if e.Object != "" {
		fmt.Fprintf(&b, "Object:    %s\r\n", e.Object)
	}
	if e.Actor != "" {
		fmt.Fprintf(&b, "Actor:     %s\r\n", e.Actor)
	}
	if e.ID != 0 {
		fmt.Fprintf(&b, "Event:     %d\r\n", e.ID)
	}
	if m.Test {
		b.WriteString("\r\nThis is a test message sent from the Settings page or POST /api/v1/alerts/test.\r\n")
	}
	return b.String()
}

// oneLine replaces control characters so that a value cannot start a new
// header or log line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// tlsConfig trusts caPEM when given, else the system's roots.
func tlsConfig(host, caPEM string) (*tls.Config, error) {
	c := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, fmt.Errorf("%w: ca_pem holds no certificate", ErrDelivery)
		}
		c.RootCAs = pool
	}
	return c, nil
}

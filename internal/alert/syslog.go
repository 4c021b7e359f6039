package alert

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// syslogTimeout bounds a dial and a write when ctx has no deadline.
const syslogTimeout = 10 * time.Second

// sdID is the structured-data element of every message. 32473 is the
// private enterprise number RFC 5612 reserves for documentation.
const sdID = "backstop@32473"

// sendSyslog sends m to s.Address: one datagram over UDP, one
// octet-counted frame (RFC 6587 3.4.1) on a new connection over TCP.
func sendSyslog(ctx context.Context, s appliance.SyslogTarget, m Message, now time.Time) error {
	facility, _ := appliance.SyslogFacility(s.Facility)
	line := Format5424(facility, m, now)
	if s.Network == "tcp" {
		line = strconv.Itoa(len(line)) + " " + line
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, syslogTimeout)
		defer cancel()
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, s.Network, s.Address)
	if err != nil {
		return fmt.Errorf("%w: syslog %s %s: %w", ErrDelivery, s.Network, s.Address, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write([]byte(line)); err != nil {
		return fmt.Errorf("%w: syslog %s %s: %w", ErrDelivery, s.Network, s.Address, err)
	}
	return nil
}

// Format5424 is m as an RFC 5424 message:
//
//	<PRI>1 TIMESTAMP HOSTNAME backstop PROCID MSGID [backstop@32473 id="7" kind="system" ...] BOM MESSAGE
//
// PRI is facility×8 + severity (error 3, warning 4, info 6), MSGID the
// event's action, TIMESTAMP the event's time in UTC.
func Format5424(facility int, m Message, now time.Time) string {
	e := m.Event
	sev := 6
	switch e.Level {
	case appliance.LevelError:
		sev = 3
	case appliance.LevelWarning:
		sev = 4
	}
	t := e.Time
	if t.IsZero() {
		t = now
	}
	var sd strings.Builder
	sd.WriteString("[" + sdID)
	param := func(k, v string) {
		if v != "" {
			sd.WriteString(" " + k + `="` + sdEscape(v) + `"`)
		}
	}
	if e.ID != 0 {
		param("id", strconv.FormatInt(e.ID, 10))
	}
	param("level", e.Level)
	param("kind", e.Kind)
	param("actor", e.Actor)
	param("object", e.Object)
	if m.Test {
		param("test", "true")
	}
	sd.WriteString("]")
	return fmt.Sprintf("<%d>1 %s %s backstop %d %s %s \ufeff%s",
		facility*8+sev, t.UTC().Format("2006-01-02T15:04:05.000000Z"), header(m.Appliance, 255),
		os.Getpid(), header(e.Action, 32), sd.String(), oneLine(e.Message))
}

// header makes s a header field: printable US-ASCII without spaces, at
// most n bytes, "-" when empty.
func header(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r <= 32 || r >= 127 {
			return '_'
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	if s == "" {
		return "-"
	}
	return s
}

// sdEscape escapes '"', '\' and ']' in a parameter value (RFC 5424 6.3.3).
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(oneLine(s))
}

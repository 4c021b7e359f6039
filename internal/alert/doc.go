// Package alert delivers appliance events to the notification targets an
// administrator configures (settings.alerts in config.json; see
// docs/alerts.md): webhooks, e-mail over SMTP and syslog.
//
// A Dispatcher subscribes to appliance.State (State.Subscribe calls
// Notify for every recorded event). Notify never blocks: it puts the event
// on a bounded queue (Options.Queue, 1000) and, when the queue is full,
// drops the oldest one and counts it. One goroutine (Run) takes events
// off the queue and sends each to every enabled target whose rule it
// matches (Match: a level of at least the target's min_level, warning by
// default; its kinds and actions when given), the targets at once.
// Failures are logged and counted (Stats); nothing is retried after a
// message is given up on.
//
// Failed logins (action login.failed) reach the rules as info until one
// user's failures within Options.LoginWindow (15 minutes) reach
// settings.alerts.login_threshold (5): then as warning.
//
// DropDetector watches the dedup ratio of new backups per store and
// records a "dedup.drop" warning when it falls sharply (see its doc).
//
// # Webhook
//
// An HTTP POST of the Message as JSON (Content-Type application/json),
// retried after a transport error or a 408, 429 or 5xx answer with
// exponential back-off (1 s doubled up to 1 min) up to attempts (5)
// times, each bounded by timeout_seconds (10). ca_pem replaces the
// system's roots for https. Redirects are not followed.
//
//	{"appliance":"bs1","test":true,"event":{"id":7,"time":"2026-03-14T09:30:00Z",
//	 "level":"error","kind":"system","action":"verify.finish","object":"","message":"..."}}
//
// # E-mail
//
// SMTP to host:port (587): EHLO, STARTTLS when the server offers it
// (starttls "auto"), always ("required": a server without it is an
// error) or never ("off"); AUTH PLAIN, or LOGIN when the server lacks
// PLAIN, when a username is set (never in the clear except to
// localhost); then one message to every address in to. The message is
// text/plain UTF-8 in quoted-printable, Subject
// "[backstop HOST] LEVEL action: message".
//
// # Syslog
//
// RFC 5424 over UDP (one datagram per message) or TCP (a new connection
// per message, octet-counting framing of RFC 6587: "LEN SP MSG"):
//
//	<PRI>1 2026-03-14T09:30:00.000000Z HOST backstop PID ACTION [backstop@32473 id="7" level="error" kind="system" object="..."] BOM MESSAGE
//
// PRI is facility × 8 + severity (error 3, warning 4, info 6); the
// facility is local0 unless set. 32473 is the enterprise number RFC 5612
// reserves for examples. Control characters in the message become spaces.
package alert

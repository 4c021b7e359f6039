// Package web is the appliance's HTTPS server: the REST API under /api/v1,
// its OpenAPI document, Prometheus metrics at /metrics, sessions, TLS and
// the embedded web UI.
//
// The server depends on the engine and on the appliance state through small
// interfaces declared here (statsSource, storeAdmin, itemAdmin, verifier,
// housekeeper, userAdmin, settingsStore, eventLog); cmd/backstop wires the
// real ones.
//
// # Wire format
//
// Every request and response body under /api/v1 is JSON. Request bodies are
// at most 1 MiB and may not carry unknown fields. Errors are
//
//	{"error": {"code": "not_found", "message": "..."}}
//
// with codes invalid (400), unauthenticated (401), forbidden and csrf (403),
// not_found (404), method_not_allowed (405), conflict and blackout (409),
// rate_limited (429) and internal (500). An internal error's details only go
// to the log. openapi.json, embedded and served at /api/v1/openapi.json,
// describes every endpoint.
//
// # Sessions
//
// POST /api/v1/sessions exchanges a user name and password for a random
// token, returned in the body and as the cookie backstop_session (HttpOnly,
// Secure, SameSite=Strict). A request authenticates with
// "Authorization: Bearer TOKEN" or with the cookie; a cookie-authenticated
// POST, PUT, PATCH or DELETE must also carry "X-CSRF-Token" with the
// session's csrf_token. Sessions live in memory only: they expire after 15
// minutes unused and 24 hours at most, and a restart ends them all.
//
// # Background jobs
//
// Verify and housekeeping run in the background on one job runner (job.go):
// one run of each at a time, and never both at once (they take turns, as
// the engine's maintenance lock demands; starting one while the other runs
// answers 409 conflict). A job's state is idle, running, paused, blackout
// (running, but waiting for a blackout window to end), done, failed or
// cancelled. Pause and blackout windows hold the engine inside its progress
// callback (verify) or its Wait callback between sweep batches
// (housekeeping); a job waiting out a window looks at the clock again every
// Options.MaintenanceTick. Cancel ends a run through its context and
// returns once it has stopped; Shutdown cancels any run. Neither may start
// inside a blackout window (409 blackout). Each run records a system event
// when it starts and when it ends, and when it starts and stops waiting
// for a window.
//
// Automatic housekeeping (Settings.Housekeeping, on and hourly by default):
// every MaintenanceTick the server looks whether interval_minutes have
// passed on its clock since its last dry run; if so, outside blackout
// windows and while neither job runs, it runs a dry run and starts
// housekeeping when the dry run found space to reclaim.
//
// # Files
//
// With no certificate supplied, the server keeps a self-signed one in its
// TLS directory (DATA/tls): cert.pem (the certificate, PEM) and key.pem (the
// ECDSA P-256 private key, PKCS#8 PEM, mode 0600), generated on first start
// and valid for 10 years.
package web

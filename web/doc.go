// Package web is the appliance's HTTPS server: the REST API under /api/v1,
// its OpenAPI document, Prometheus metrics at /metrics, sessions and the
// embedded web UI. It is a mapping from HTTP onto the appliance core
// (internal/appliance): the core runs verify and housekeeping, keeps the
// health shown in GET /api/v1/status, decides access (every route asks its
// Policy) and sorts errors into kinds, which errors.go maps to statuses and
// codes.
//
// The server depends on the engine, the appliance state and the core
// through small interfaces declared here (statsSource, storeAdmin,
// itemAdmin, userAdmin, settingsStore, eventLog, housekeeping,
// verification, healthReporter, accessPolicy); cmd/backstop wires the real
// ones and gives it the appliance's certificate (appliance.Certificate).
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
// /api/v1/verify and /api/v1/housekeeping start, pause, resume and cancel
// the core's jobs (see internal/appliance): starting one while the other
// runs, or pausing one that does not run, answers 409 conflict; starting
// one inside a blackout window 409 blackout.
package web

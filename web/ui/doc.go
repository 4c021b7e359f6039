// Package ui holds the appliance's web UI: a single-page application written
// as plain HTML, CSS and JavaScript modules, embedded into the binary so that
// `go run` needs no build step and nothing is fetched at run time.
//
// # Layout
//
// FS holds the directory static/, which the web server serves at "/" (and
// static/index.html for every unknown path outside /api, so that the
// application's own routes such as /stores/NAME survive a reload):
//
//	static/index.html       the page shell; loads app.css and app.js
//	static/app.js           session handling, navigation and routing
//	static/api.js           fetch wrapper: cookie session, X-CSRF-Token, errors
//	static/dom.js           element builder, dialogs, toasts
//	static/format.js        sizes (KiB, MiB, GiB), rates, times, durations
//	static/chart.js         SVG line chart and capacity gauge
//	static/pages/*.js       one module per page
//	static/logo.svg         logo, also used as the favicon
//
// The application talks only to the REST API under /api/v1. It keeps the
// session's CSRF token in sessionStorage and sends it as X-CSRF-Token on
// every request that changes something; the session itself is the HttpOnly
// cookie set by POST /api/v1/sessions.
//
// # Tests
//
// e2e/ holds browser tests that drive Debian's chromium with playwright-core
// against the real appliance binary; e2e/run.sh installs what they need.
package ui

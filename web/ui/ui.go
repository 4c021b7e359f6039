package ui

import "embed"

// FS holds the web UI's static files under "static/".
//
//go:embed static
var FS embed.FS

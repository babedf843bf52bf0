// Package web holds the browser side: directup.js, the dependency-free client module
// served at /directup.js, and index.html, local mode's demo page.
package web

import "embed"

// Files are the client module and the demo page.
//
//go:embed directup.js index.html
var Files embed.FS

// Package server assembles keyhaven's HTTP server: the middleware every
// request crosses (request ids, access log, panic recovery, body limit),
// the health endpoint, the mounting of each API dialect, and graceful
// start and shutdown.
package server

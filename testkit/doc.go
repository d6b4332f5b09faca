// Package testkit is what Kalends' tests share: an in-process server on a
// random loopback port over a temporary store, authenticated clients, and
// golden request/response files.
//
// The server is assembled from the same parts as `kalends serve` (the Pebble
// log, the projections, the credential store, the DAV handler), so a test
// that passes here exercises the real stack, not a fake of it.
//
// This package must never be imported by non-test code.
package testkit

// Package dav is Kalends' HTTP face: WebDAV (RFC 4918), CalDAV (RFC 4791) and
// their extensions, on net/http and encoding/xml.
//
// A write is easy to follow: the handler parses the request, reads the state
// it needs from one projections.View, asks domain to decide, appends the
// decided events to the log with the expected revision the view showed, waits
// until the projections have applied the append (read-your-writes), and
// answers. A conflicting append is decided again against newer state.
//
// Multistatus bodies are streamed: each response element is written as soon
// as it is known, so a PROPFIND of ten thousand objects holds one at a time.
//
// Errors come from one catalog (errors.go) that maps domain conditions to the
// RFC's status and precondition element in a DAV:error body.
//
// This package must never write to Pebble directly, never keep state that the
// log does not have (everything it reads comes from projections), and never
// answer a request before authenticating and authorizing it.
package dav

// Command kalends is Kalends' one binary: `kalends serve` runs the CalDAV
// server over a data directory, and the operator commands (`kalends user
// ...`, later restore, audit, verify) act on the same directory.
//
// The embedded log is locked by the process that opened it, so operator
// commands first try the running server's admin socket (<data>/admin.sock,
// JSON over HTTP, see admin.go) and open the directory themselves only when
// no server answers. Both paths run the same userOps code.
//
// Settings come from flags, then KALENDS_* environment variables, then an
// optional TOML file, then defaults (config.go).
//
// This package wires things together and must never hold domain rules or
// write to the log except through dav.Backend; on the server path it logs
// through zerolog only, never to stdout.
package main

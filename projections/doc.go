// Package projections holds Kalends' read models: Pebble key spaces derived
// from the event log, and the projector that keeps them up to date.
//
// Everything here is derived state. It is written without fsync, resumes from
// a checkpoint stored in the same batch as the data it covers, and can be
// deleted at any time: opening an empty or outdated store replays the log.
// Replaying the same log must give byte-identical keys and values, so nothing
// written here may depend on the wall clock, randomness or map order: times
// come from event metadata.
//
// This package must never append to the log, never decide anything (that is
// domain's job: it only applies decided facts), and never serve HTTP.
package projections

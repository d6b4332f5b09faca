// Package logtest is the contract every eventlog adapter must pass: one suite,
// run by each adapter's own tests with a function that opens a fresh, empty
// log, so that the embedded log, KurrentDB and NATS JetStream are held to the
// same rules (expected revisions, dense revisions, global order, hash chain,
// metadata round-trip, live subscriptions, close).
//
// It must never depend on an adapter's internals (only on package eventlog),
// and never assume dense positions: only the embedded log promises them.
package logtest

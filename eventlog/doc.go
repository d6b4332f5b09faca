// Package eventlog is the port to Kalends' only source of truth: an append-only,
// hash-chained log of events grouped into streams.
//
// A stream is the history of one aggregate (a calendar URL, a principal). Each
// event in a stream has a dense Revision starting at 0; each event in the whole
// log has a global Position that only grows. Writers append to one stream with
// an ExpectedRevision (optimistic concurrency); readers read one stream, or the
// whole log from a Position, or subscribe to it and are woken as new events
// become durable.
//
// The shape of the port is chosen so that distributed engines fit behind it
// unchanged: KurrentDB (dense per-stream revisions, $all positions,
// SubscribeToAll) and NATS JetStream (one stream, a subject per aggregate,
// expected-last-subject-sequence, global stream sequence). Positions are
// therefore monotonic but not promised to be dense.
//
// Tamper evidence: every Record carries Hash = SHA-256 over its predecessor
// *in the same stream* and its own content (see ChainHash). The chain is per
// stream, not global, because only a per-stream order is serialised by every
// engine (the expected-revision check); a global chain would need a global lock
// that KurrentDB and JetStream clusters do not have. Whole-log truncation is
// detected against an exported head digest (issue: time travel and audit).
//
// Adapters live in sub-packages (pebblelog is the embedded default). Every
// adapter must pass the contract suite in eventlog/logtest.
//
// This package must never import anything else of Kalends, never interpret
// event data (it is opaque bytes here), and never delete or rewrite an event.
package eventlog

// Package pebblelog is the embedded eventlog adapter, Kalends' default store:
// the whole log lives in one Pebble database on local disk and no other
// service is needed.
//
// # Durability and group commit
//
// Every append is handed to a single committer goroutine. It takes all
// requests queued while the previous commit was in flight, checks each one's
// expected revisions in arrival order (a request sees the effects of the
// requests accepted before it in the same group), assigns revisions, global
// positions and chain hashes, and writes the whole group in one Pebble batch
// committed with pebble.Sync. Only after that fsync are the callers answered,
// and only after they are answered are subscribers woken. Concurrent PUTs thus
// share one fsync instead of queueing for one each. A request whose check
// fails gets an *eventlog.ConflictError and does not affect the others; if the
// commit itself fails, every request of the group fails and no in-memory
// state moves.
//
// Because the committer is the only writer, positions are dense (1, 2, 3, …)
// and the stream heads it caches in memory can never be stale: the cache is a
// copy of the persisted head keys, filled on a miss.
//
// Readers never see past the durable head, the position of the last event
// whose commit returned. Pebble may make a batch visible to iterators before
// its fsync completes, so every read is bounded by that head, not by what the
// iterator would show.
//
// # Key layout
//
// All integers in keys are big-endian so that byte order is numeric order.
// A stream name is written as uvarint(len) followed by its bytes: names are
// opaque, may contain any byte, and the length prefix keeps one stream's keys
// from being a prefix of another's.
//
//	'e' position(8)                 → record (see below)
//	'i' len(stream) stream rev(8)   → position(8)            stream index
//	'h' len(stream) stream          → last rev(8) hash(32)   stream head
//
// The event keys are the log: ReadAll and Subscribe are one forward scan over
// the 'e' prefix. The stream index turns a stream read into a scan of that
// stream's keys plus a point lookup per record. The stream head is what an
// expected-revision check needs, in one point read. The log head is not
// stored: it is the last 'e' key, found once at Open, so it can never
// disagree with the events.
//
// # Record encoding
//
// A record value is a hand-written binary encoding, cheap to decode during a
// rebuild (no reflection, no field names):
//
//	format(1) = 1
//	uvarint len, stream
//	uvarint revision
//	prevHash(32) hash(32)
//	uvarint len, type
//	uvarint schemaVersion
//	uvarint len, data
//	uvarint len, principal / onBehalfOf / requestID / userAgent / remoteAddr
//	varint unix seconds, uvarint nanoseconds
//
// The position is the key and is not repeated. Time is stored as seconds and
// nanoseconds, not UnixNano, so that every time.Time (including the zero
// value) round-trips; its location is not kept and records come back in UTC.
//
// This package must never delete or rewrite a stored event, never interpret
// event data, and never answer an append before its batch is fsynced.
package pebblelog

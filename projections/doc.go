// Package projections holds Kalends' read models: Pebble key spaces derived
// from the event log, and the projector that keeps them up to date.
//
// Everything here is derived state. It is written without fsync, resumes from
// a checkpoint stored in the same batch as the data it covers, and can be
// deleted at any time: opening an empty, outdated or half-rebuilt store
// replays the log. (A rebuild from empty writes the time-range index last,
// for each object's last version only; it marks the store incomplete until
// then, so it starts over rather than resume: see Rebuild.)
// Replaying the same log must give byte-identical keys and values, so nothing
// written here may depend on the wall clock, randomness or map order: times
// come from event metadata.
//
// The projector (Store.Run, Store.Apply) applies each batch of records from
// the log in one Pebble batch that also carries the new checkpoint, so a
// crash loses nothing but work that the log replays. (An
// IndexHorizonAdvanced, which re-indexes open-ended recurrences from what
// is stored, begins a Pebble batch of its own: see timerange.go.) It refuses a log that
// contradicts itself (an event for a calendar that does not exist, a gap in
// a stream's revisions, an event type it does not know): serving wrong
// answers quietly would be worse than stopping.
//
// Sync tokens are calendar stream revisions. The change index keeps, per
// calendar incarnation, one entry per member name: its latest change, a
// tombstone if it was deleted. An incremental sync therefore reads only what
// changed since its token however old the token is, and nothing is ever
// pruned. A token older than the calendar's Incarnation refers to members
// the index no longer knows (they went with the calendar's deletion) and
// must be refused by the caller. The key layout is documented in keys.go.
//
// This package must never append to the log, never decide anything (that is
// domain's job: it only applies decided facts), and never serve HTTP.
package projections

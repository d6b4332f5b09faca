package eventlog

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Position is an event's place in the whole log. Positions only grow; 0 means
// "before the first event", so reading or subscribing from 0 yields everything.
type Position uint64

// Revision is an event's dense, 0-based place in its stream.
type Revision uint64

// ExpectedRevision is the optimistic-concurrency condition of an append.
// Non-negative values demand that the stream's last event has exactly that
// revision; the named negatives are the special cases every engine offers.
type ExpectedRevision int64

const (
	// Any appends whatever the stream's state (still serialised per stream).
	Any ExpectedRevision = -1
	// NoStream demands that the stream has no events yet.
	NoStream ExpectedRevision = -2
	// StreamExists demands that the stream has at least one event.
	StreamExists ExpectedRevision = -3
)

// Exactly is the expectation that the stream's last revision is r.
func Exactly(r Revision) ExpectedRevision { return ExpectedRevision(r) }

func (e ExpectedRevision) String() string {
	switch e {
	case Any:
		return "any"
	case NoStream:
		return "no-stream"
	case StreamExists:
		return "stream-exists"
	}
	return fmt.Sprintf("revision %d", int64(e))
}

// Metadata says who did something, for whom, when and from where. It is part
// of every event so that audit needs nothing outside the log.
type Metadata struct {
	// Principal is the authenticated principal that made the request
	// (Operator for the operator acting through the CLI, System for the
	// server acting on its own).
	Principal string `json:"principal,omitempty"`
	// OnBehalfOf is the principal whose data was changed (the owner, when a
	// delegate or sharee acted). Equal to Principal for one's own data.
	OnBehalfOf string    `json:"onBehalfOf,omitempty"`
	Time       time.Time `json:"time"`
	RequestID  string    `json:"requestId,omitempty"`
	UserAgent  string    `json:"userAgent,omitempty"`
	RemoteAddr string    `json:"remoteAddr,omitempty"`
}

// Operator is the Principal recorded for changes made through the CLI.
const Operator = "@operator"

// System is the Principal recorded for events the server appends on its
// own, no one having asked: the time-range index's horizon.
const System = "@system"

// Event is what a writer proposes: a typed, versioned, opaque payload.
type Event struct {
	Type          string
	SchemaVersion uint16
	Data          []byte
	Meta          Metadata
}

// Record is an event as stored: the Event plus where it landed and its hash.
type Record struct {
	Stream   string
	Revision Revision
	Position Position
	Event
	// PrevHash is the Hash of the previous record in the same stream (zero for
	// revision 0); Hash is ChainHash(PrevHash, this record).
	PrevHash [32]byte
	Hash     [32]byte
}

// ChainHash computes a record's hash from its stream predecessor's hash and
// its own content. The Position is deliberately left out: distributed engines
// assign it only after the append, while the hash must be known before.
// The encoding is length-prefixed so that no two distinct records collide by
// concatenation.
func ChainHash(prev [32]byte, stream string, rev Revision, ev Event) [32]byte {
	h := sha256.New()
	var buf [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(b)))
		h.Write(buf[:])
		h.Write(b)
	}
	h.Write(prev[:])
	field([]byte(stream))
	binary.BigEndian.PutUint64(buf[:], uint64(rev))
	h.Write(buf[:])
	field([]byte(ev.Type))
	binary.BigEndian.PutUint64(buf[:], uint64(ev.SchemaVersion))
	h.Write(buf[:])
	field(ev.Data)
	m := ev.Meta
	for _, s := range []string{m.Principal, m.OnBehalfOf, m.RequestID, m.UserAgent, m.RemoteAddr} {
		field([]byte(s))
	}
	// Seconds and nanoseconds, not UnixNano, which overflows outside the
	// years 1678–2262 and would let two distinct times hash alike.
	binary.BigEndian.PutUint64(buf[:], uint64(m.Time.Unix()))
	h.Write(buf[:])
	binary.BigEndian.PutUint64(buf[:], uint64(m.Time.Nanosecond()))
	h.Write(buf[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// AppendResult says where an append landed.
type AppendResult struct {
	// FirstRevision and LastRevision bound the revisions given to the batch.
	FirstRevision, LastRevision Revision
	// Position is the global position of the batch's last event. Waiting for a
	// projection to reach it gives read-your-writes.
	Position Position
}

// StreamAppend is one stream's part of a multi-stream append.
type StreamAppend struct {
	Stream   string
	Expected ExpectedRevision
	Events   []Event
}

// ErrConflict is matched (errors.Is) by every *ConflictError.
var ErrConflict = errors.New("eventlog: expected revision does not hold")

// ErrClosed is returned by every call on a closed log or subscription.
var ErrClosed = errors.New("eventlog: closed")

// ConflictError reports a failed expected-revision check. Actual is -1 when
// the stream does not exist.
type ConflictError struct {
	Stream   string
	Expected ExpectedRevision
	Actual   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventlog: stream %q: expected %v, actual %d", e.Stream, e.Expected, e.Actual)
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// CheckExpected decides an expected-revision check against a stream whose last
// revision is last (exists=false: no events). Adapters share it so that every
// engine agrees on the rules.
func CheckExpected(stream string, exp ExpectedRevision, last Revision, exists bool) error {
	ok := false
	switch {
	case exp == Any:
		ok = true
	case exp == NoStream:
		ok = !exists
	case exp == StreamExists:
		ok = exists
	case exp >= 0:
		ok = exists && Revision(exp) == last
	}
	if ok {
		return nil
	}
	actual := int64(-1)
	if exists {
		actual = int64(last)
	}
	return &ConflictError{Stream: stream, Expected: exp, Actual: actual}
}

// Log is the port. Implementations are safe for concurrent use.
type Log interface {
	// Append atomically appends events to one stream if expected holds. When
	// it returns nil the events are durable (fsynced, or quorum-acknowledged).
	// An empty events slice is an error.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events []Event) (AppendResult, error)

	// ReadStream calls fn for each record of stream with Revision >= from, in
	// order, until fn returns an error (which is returned) or the stream ends.
	// A stream that does not exist reads as empty.
	ReadStream(ctx context.Context, stream string, from Revision, fn func(Record) error) error

	// ReadAll calls fn for each record with Position > after, in order,
	// until fn returns an error or the durable end of the log is reached.
	ReadAll(ctx context.Context, after Position, fn func(Record) error) error

	// Subscribe delivers every record with Position > after, first the
	// history and then the live tail, in order, each only once it is durable.
	Subscribe(ctx context.Context, after Position) (Subscription, error)

	// Head is the position of the last durable event (0 if none).
	Head(ctx context.Context) (Position, error)

	Close() error
}

// MultiStreamAppender is an optional capability: an atomic append to several
// streams, all expectations checked together. The embedded log has it; where
// an engine lacks it, callers fall back to ordered single-stream appends.
type MultiStreamAppender interface {
	AppendMulti(ctx context.Context, appends []StreamAppend) ([]AppendResult, error)
}

// Subscription is a cursor over the log that blocks at the durable end.
type Subscription interface {
	// Next returns the next records in order (at least one), waiting until
	// some are durable or ctx is done. Adapters may return several at once so
	// that consumers can apply them in one batch.
	Next(ctx context.Context) ([]Record, error)
	Close() error
}

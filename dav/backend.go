package dav

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

// Backend executes commands the way every write in Kalends runs: read a
// consistent view, decide, append with the view's revision as the
// expectation, wait for the projections (read-your-writes). The HTTP handlers
// and the operator CLI share it.
type Backend struct {
	log    eventlog.Log
	store  *projections.Store
	limits domain.Limits

	// queuesMu guards queues: each calendar stream with commands waiting
	// for, or in, a batch (batch.go). It is never held across I/O.
	queuesMu sync.Mutex
	queues   map[string]*calendarQueue
}

// NewBackend returns a Backend over a log and its projections.
func NewBackend(log eventlog.Log, store *projections.Store, limits domain.Limits) *Backend {
	return &Backend{log: log, store: store, limits: limits, queues: map[string]*calendarQueue{}}
}

// streamAppend is one stream's share of a decided change.
type streamAppend struct {
	stream   string
	expected eventlog.ExpectedRevision
	events   []domain.Event
}

// maxAttempts bounds re-deciding under contention. Each conflict means
// another writer made progress, so a bound is only a guard against a bug.
const maxAttempts = 16

// execute runs decide against a fresh view until its appends land without a
// conflict, then waits until the projections include them. It serves
// writes that span streams (a new principal with its calendar, a MOVE
// between calendars); writes to one calendar go through onCalendar. decide returns no
// appends for a no-op. A conflict means the view was older than the stream:
// waiting for the projections to reach the log's head and deciding again
// gives the answer a serial execution would have given (design.md,
// invariant 4), including a 412 for an If-Match that no longer holds.
func (b *Backend) execute(ctx context.Context, meta eventlog.Metadata, decide func(v *projections.View) ([]streamAppend, error)) error {
	for attempt := 0; ; attempt++ {
		v := b.store.View()
		appends, err := decide(v)
		if err == nil {
			err = v.Err()
		}
		v.Close()
		if err != nil || len(appends) == 0 {
			return err
		}
		pos, err := b.commit(ctx, meta, appends)
		if err == nil {
			return b.store.WaitFor(ctx, pos)
		}
		if !errors.Is(err, eventlog.ErrConflict) || attempt+1 >= maxAttempts {
			return err
		}
		if err := b.catchUp(ctx); err != nil {
			return err
		}
	}
}

// commit appends the decided events. Several streams go in one atomic
// append where the log can do that; otherwise they are appended in the
// order given, which callers choose so that a crash in between duplicates
// rather than loses (a MOVE writes the destination first).
func (b *Backend) commit(ctx context.Context, meta eventlog.Metadata, appends []streamAppend) (eventlog.Position, error) {
	encoded := make([]eventlog.StreamAppend, len(appends))
	for i, a := range appends {
		encoded[i] = eventlog.StreamAppend{Stream: a.stream, Expected: a.expected, Events: make([]eventlog.Event, len(a.events))}
		for j, e := range a.events {
			typ, schema, data, err := domain.Encode(e)
			if err != nil {
				return 0, fmt.Errorf("encode %s: %w", typ, err)
			}
			encoded[i].Events[j] = eventlog.Event{Type: typ, SchemaVersion: schema, Data: data, Meta: meta}
		}
	}
	if multi, ok := b.log.(eventlog.MultiStreamAppender); ok && len(encoded) > 1 {
		results, err := multi.AppendMulti(ctx, encoded)
		if err != nil {
			return 0, err
		}
		return lastPosition(results), nil
	}
	var pos eventlog.Position
	for _, a := range encoded {
		res, err := b.log.Append(ctx, a.Stream, a.Expected, a.Events)
		if err != nil {
			return 0, err
		}
		pos = max(pos, res.Position)
	}
	return pos, nil
}

func lastPosition(results []eventlog.AppendResult) eventlog.Position {
	var pos eventlog.Position
	for _, r := range results {
		pos = max(pos, r.Position)
	}
	return pos
}

// calendarExpectation is the expected revision for appending to a calendar's
// stream as the view saw it: exactly its last revision, or no stream at all.
func calendarExpectation(cal projections.Calendar, found bool) eventlog.ExpectedRevision {
	if !found {
		return eventlog.NoStream
	}
	return eventlog.Exactly(cal.Revision)
}

// CreatePrincipal creates a principal and, unless defaultCalendar is "",
// its first calendar, so that a client that never creates one has somewhere
// to write.
func (b *Backend) CreatePrincipal(ctx context.Context, meta eventlog.Metadata, p domain.PrincipalCreated, defaultCalendar string) error {
	return b.execute(ctx, meta, func(v *projections.View) ([]streamAppend, error) {
		_, exists, err := v.Principal(p.Name)
		if err != nil {
			return nil, err
		}
		created, err := domain.DecideCreatePrincipal(p.Name, p.DisplayName, p.Email, exists)
		if err != nil {
			return nil, err
		}
		appends := []streamAppend{{stream: domain.PrincipalStream(p.Name), expected: eventlog.NoStream, events: []domain.Event{created}}}
		if defaultCalendar == "" {
			return appends, nil
		}
		cal, found, err := v.Calendar(p.Name, defaultCalendar)
		if err != nil {
			return nil, err
		}
		calCreated, err := domain.DecideCreateCalendar(p.Name, defaultCalendar, found && !cal.Deleted, nil, nil)
		if err != nil {
			return nil, err
		}
		return append(appends, streamAppend{domain.CalendarStream(p.Name, defaultCalendar), calendarExpectation(cal, found), []domain.Event{calCreated}}), nil
	})
}

// DisablePrincipal stops a principal from authenticating; its data stays.
func (b *Backend) DisablePrincipal(ctx context.Context, meta eventlog.Metadata, name string) error {
	return b.execute(ctx, meta, func(v *projections.View) ([]streamAppend, error) {
		p, exists, err := v.Principal(name)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, &domain.PreconditionError{Condition: domain.NotFound, Reason: "no principal " + name}
		}
		if p.Disabled {
			return nil, nil
		}
		return []streamAppend{{domain.PrincipalStream(name), eventlog.StreamExists, []domain.Event{&domain.PrincipalDisabled{Name: name}}}}, nil
	})
}

// AdvanceIndexHorizon appends an IndexHorizonAdvanced if one is due at
// meta.Time (domain.DecideIndexHorizon), and waits until the projections
// have applied it, re-indexing the open-ended recurrences. It returns the
// event's Through, or the zero time when none was due. Every node sharing a
// log may call it: the stream's expected revision lets one append win, and
// the others re-decide against the horizon it set and append nothing.
func (b *Backend) AdvanceIndexHorizon(ctx context.Context, meta eventlog.Metadata) (time.Time, error) {
	var through time.Time
	err := b.execute(ctx, meta, func(v *projections.View) ([]streamAppend, error) {
		through = time.Time{}
		h, found, err := v.IndexHorizon()
		if err != nil {
			return nil, err
		}
		ev := domain.DecideIndexHorizon(meta.Time, h.Through)
		if ev == nil {
			return nil, nil
		}
		through = ev.Through
		expected := eventlog.NoStream
		if found {
			expected = eventlog.Exactly(h.Revision)
		}
		return []streamAppend{{domain.IndexHorizonStream, expected, []domain.Event{ev}}}, nil
	})
	return through, err
}

package projections

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// history builds log records the way a log would number them: dense
// revisions per stream, growing positions, times from a fixed clock.
type history struct {
	t    testing.TB
	pos  eventlog.Position
	revs map[string]eventlog.Revision
}

var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func newHistory(t testing.TB) *history {
	return &history{t: t, revs: map[string]eventlog.Revision{}}
}

func (h *history) rec(stream string, ev domain.Event) eventlog.Record {
	h.t.Helper()
	typ, schema, data, err := domain.Encode(ev)
	if err != nil {
		h.t.Fatal(err)
	}
	rev, seen := h.revs[stream]
	if seen {
		rev++
	}
	h.revs[stream] = rev
	h.pos++
	return eventlog.Record{
		Stream: stream, Revision: rev, Position: h.pos,
		Event: eventlog.Event{Type: typ, SchemaVersion: schema, Data: data, Meta: eventlog.Metadata{
			Principal: "alice", OnBehalfOf: "alice", Time: h.at(h.pos),
		}},
	}
}

// at is the metadata time given to the record at pos.
func (h *history) at(pos eventlog.Position) time.Time {
	return epoch.Add(time.Duration(pos) * time.Second)
}

func (h *history) cal(owner, name string, ev domain.Event) eventlog.Record {
	return h.rec(domain.CalendarStream(owner, name), ev)
}

func put(name, uid, data string) *domain.ObjectPut {
	return &domain.ObjectPut{Name: name, UID: uid, Component: "VEVENT", ETag: domain.ETagOf([]byte(data)), Data: data}
}

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t testing.TB) *Store {
	s := openStore(t, t.TempDir())
	closeAtEnd(t, s)
	return s
}

// closeAtEnd closes s after the views that the test opens later.
func closeAtEnd(t testing.TB, s *Store) {
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Error(err)
		}
	})
}

func apply(t testing.TB, s *Store, recs ...eventlog.Record) {
	t.Helper()
	if err := s.Apply(recs); err != nil {
		t.Fatal(err)
	}
}

// view opens a view that the test closes for the caller.
func view(t testing.TB, s *Store) *View {
	v := s.View()
	t.Cleanup(func() { v.Close() })
	return v
}

// fakeLog is the smallest eventlog.Log that Run needs: records kept in
// memory, subscriptions that wait for appends.
type fakeLog struct {
	mu      sync.Mutex
	recs    []eventlog.Record
	appends chan struct{} // closed and replaced on every append
	after   []eventlog.Position
}

func newFakeLog() *fakeLog { return &fakeLog{appends: make(chan struct{})} }

// add publishes records that the caller numbered.
func (l *fakeLog) add(recs ...eventlog.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, recs...)
	close(l.appends)
	l.appends = make(chan struct{})
}

func (l *fakeLog) Append(context.Context, string, eventlog.ExpectedRevision, []eventlog.Event) (eventlog.AppendResult, error) {
	panic("projections never append")
}

func (l *fakeLog) ReadStream(context.Context, string, eventlog.Revision, func(eventlog.Record) error) error {
	panic("not used by the projector")
}

func (l *fakeLog) ReadAll(context.Context, eventlog.Position, func(eventlog.Record) error) error {
	panic("not used by the projector")
}

func (l *fakeLog) Head(context.Context) (eventlog.Position, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.recs) == 0 {
		return 0, nil
	}
	return l.recs[len(l.recs)-1].Position, nil
}

func (l *fakeLog) Close() error { return nil }

func (l *fakeLog) Subscribe(_ context.Context, after eventlog.Position) (eventlog.Subscription, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.after = append(l.after, after)
	return &fakeSub{log: l, after: after}, nil
}

type fakeSub struct {
	log   *fakeLog
	after eventlog.Position
}

func (s *fakeSub) Next(ctx context.Context) ([]eventlog.Record, error) {
	for {
		s.log.mu.Lock()
		var out []eventlog.Record
		for _, r := range s.log.recs {
			if r.Position > s.after {
				out = append(out, r)
			}
		}
		wait := s.log.appends
		s.log.mu.Unlock()
		if len(out) > 0 {
			s.after = out[len(out)-1].Position
			return out, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *fakeSub) Close() error { return nil }

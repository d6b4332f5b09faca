package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
	"github.com/rs/zerolog"
)

// memLog writes recs to an in-memory embedded log, which numbers them
// 1..len(recs) as the history did.
func memLog(t testing.TB, recs []eventlog.Record) eventlog.Log {
	t.Helper()
	l, err := pebblelog.Open("log", pebblelog.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, r := range recs {
		res, err := l.Append(context.Background(), r.Stream, eventlog.Any, []eventlog.Event{r.Event})
		if err != nil {
			t.Fatal(err)
		}
		if res.Position != r.Position {
			t.Fatalf("log put record %d at %d", r.Position, res.Position)
		}
	}
	return l
}

// manyRecords is more than two rebuild batches: a calendar of small
// objects, one in four replaced and one in eight deleted afterwards.
func manyRecords(t *testing.T) []eventlog.Record {
	h := newHistory(t)
	recs := twoCalendars(h)
	for i := range 2*rebuildBatchRecords + 100 {
		name := fmt.Sprintf("%d.ics", i%(rebuildBatchRecords+rebuildBatchRecords/4))
		recs = append(recs, h.cal("alice", "work", put(name, "uid-"+name, fmt.Sprint("v", i))))
	}
	for i := 0; i < rebuildBatchRecords; i += 8 {
		recs = append(recs, h.cal("alice", "work", &domain.ObjectDeleted{Name: fmt.Sprintf("%d.ics", i)}))
	}
	return recs
}

func TestRebuildMatchesApply(t *testing.T) {
	recs := manyRecords(t)
	log := memLog(t, recs)
	head := recs[len(recs)-1].Position

	want := newStore(t)
	apply(t, want, recs...)

	got := newStore(t)
	var calls []eventlog.Position
	err := Rebuild(context.Background(), log, got, head, func(done, total eventlog.Position) {
		if total != head {
			t.Errorf("progress total %d, want %d", total, head)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Checkpoint() != head {
		t.Fatalf("checkpoint %d, want %d", got.Checkpoint(), head)
	}
	if diffs := digest(t, got).Diff(digest(t, want)); len(diffs) != 0 {
		t.Fatalf("rebuilt store differs from the applied one: %v", groups(diffs))
	}
	// Large batches: a handful of Applies, not one per subscription chunk.
	if len(calls) < 3 || len(calls) > 4 || calls[len(calls)-1] != head {
		t.Fatalf("progress after each batch: %v", calls)
	}
}

// Rebuild stops at upTo, and a later Rebuild resumes from the checkpoint.
func TestRebuildUpToAndResume(t *testing.T) {
	recs := manyRecords(t)
	log := memLog(t, recs)
	mid := eventlog.Position(rebuildBatchRecords + 17)

	want := newStore(t)
	apply(t, want, recs[:mid]...)
	got := newStore(t)
	if err := Rebuild(context.Background(), log, got, mid, nil); err != nil {
		t.Fatal(err)
	}
	if got.Checkpoint() != mid {
		t.Fatalf("checkpoint %d, want %d", got.Checkpoint(), mid)
	}
	if diffs := digest(t, got).Diff(digest(t, want)); len(diffs) != 0 {
		t.Fatalf("differs at %d: %v", mid, groups(diffs))
	}

	head := recs[len(recs)-1].Position
	apply(t, want, recs[mid:]...)
	if err := Rebuild(context.Background(), log, got, head, nil); err != nil {
		t.Fatal(err)
	}
	if diffs := digest(t, got).Diff(digest(t, want)); len(diffs) != 0 {
		t.Fatalf("differs after resuming: %v", groups(diffs))
	}
}

func TestRebuildErrors(t *testing.T) {
	h := newHistory(t)
	recs := []eventlog.Record{
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "work", &domain.ObjectDeleted{Name: "never-put.ics"}),
	}
	log := memLog(t, recs)
	if err := Rebuild(context.Background(), log, newStore(t), 2, nil); err == nil || !strings.Contains(err.Error(), "never-put.ics") {
		t.Fatalf("inconsistent log: %v", err)
	}
	short := memLog(t, recs[:1])
	if err := Rebuild(context.Background(), short, newStore(t), 5, nil); err == nil || !strings.Contains(err.Error(), "ends at 1") {
		t.Fatalf("rebuild past the head of the log: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Rebuild(ctx, short, newStore(t), 1, nil); err == nil {
		t.Fatal("cancelled rebuild succeeded")
	}
}

// A projector far behind the log (here: empty) catches up through Rebuild
// before it subscribes, and says so.
func TestRunCatchesUpThroughRebuild(t *testing.T) {
	defer func(gap eventlog.Position) { catchUpGap = gap }(catchUpGap)
	catchUpGap = 100
	recs := manyRecords(t)
	log := memLog(t, recs)
	head := recs[len(recs)-1].Position
	logged := &lockedBuffer{}
	s, err := Open(t.TempDir(), Options{Logger: zerolog.New(logged)})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, log) }()
	// Run subscribes, and says so, only once the catch-up is over; the
	// checkpoint alone reaches the head before Rebuild has returned.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(logged.String(), "projector running") {
		if time.Now().After(deadline) {
			t.Fatalf("the projector never subscribed: %s", logged.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.Checkpoint() != head {
		t.Fatalf("checkpoint %d, want %d", s.Checkpoint(), head)
	}
	if !strings.Contains(logged.String(), "projections caught up") {
		t.Errorf("no catch-up through Rebuild: %s", logged.String())
	}
	want := newStore(t)
	apply(t, want, recs...)
	if diffs := digest(t, s).Diff(digest(t, want)); len(diffs) != 0 {
		t.Fatalf("caught-up store differs: %v", groups(diffs))
	}
}

// lockedBuffer is a log destination a test may read while the store writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// failingLog fails reading past a position, as a disk or a network might.
type failingLog struct {
	eventlog.Log
	after eventlog.Position
}

var errUnreadable = errors.New("unreadable")

func (l failingLog) ReadAll(ctx context.Context, from eventlog.Position, fn func(eventlog.Record) error) error {
	return l.Log.ReadAll(ctx, from, func(r eventlog.Record) error {
		if r.Position > l.after {
			return errUnreadable
		}
		return fn(r)
	})
}

// A rebuild from empty writes the time-range index last, so one that stops
// halfway leaves a store Open wipes rather than resumes: resuming would
// serve the objects applied so far without their index.
func TestInterruptedRebuildStartsOver(t *testing.T) {
	recs := manyRecords(t)
	log := memLog(t, recs)
	head := recs[len(recs)-1].Position
	want := newStore(t)
	apply(t, want, recs...)
	for _, bulk := range []bool{false, true} {
		dir := t.TempDir()
		s, err := Open(dir, Options{Bulk: bulk})
		if err != nil {
			t.Fatal(err)
		}
		err = Rebuild(context.Background(), failingLog{log, eventlog.Position(rebuildBatchRecords + 10)}, s, head, nil)
		if !errors.Is(err, errUnreadable) || s.Checkpoint() == 0 {
			t.Fatalf("bulk %v: the rebuild should fail after its first batch: %v at %d", bulk, err, s.Checkpoint())
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(dir, Options{Bulk: bulk})
		if err != nil {
			t.Fatal(err)
		}
		closeAtEnd(t, s)
		if cp, kvs := s.Checkpoint(), dump(t, s); cp != 0 || len(kvs) != 1 {
			t.Fatalf("bulk %v: reopened at %d with %d keys, want an empty store", bulk, cp, len(kvs))
		}
		if err := Rebuild(context.Background(), log, s, head, nil); err != nil {
			t.Fatalf("bulk %v: %v", bulk, err)
		}
		if diffs := digest(t, s).Diff(digest(t, want)); len(diffs) != 0 {
			t.Fatalf("bulk %v: rebuilt store differs: %v", bulk, groups(diffs))
		}
	}
}

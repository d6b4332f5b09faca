package projections

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// churn is a history of every kind of calendar event over two batches of
// batch records and a bit: puts that replace, rename (a name taking another
// UID) and move objects between calendars, deletions, property changes, a
// calendar deleted and re-created both across batches and within one, its
// new incarnation written to before the batch ends, and the index horizon
// advanced within a batch, right after a calendar's re-creation, at both
// ends of a batch (the second time behind the horizon in effect), and again
// and again. It leaves the horizon at finalHorizon.
func churn(t *testing.T, batch int) []eventlog.Record {
	h := newHistory(t)
	recs := twoCalendars(h)
	r := rand.New(rand.NewPCG(7, 11))
	g := genCalendar{r: r}
	cals := []string{"work", "home"}
	live := map[string][]string{}
	clearAt := map[int]bool{batch - 60: false, 2*batch + 41: false} // → done
	horizon := epoch.AddDate(2, 0, 0)
	advanceAt := map[int]time.Time{
		100:           horizon.AddDate(0, 0, 60),
		batch - 8:     horizon.AddDate(0, 0, 200),
		batch - 1:     horizon.AddDate(0, 0, 100),
		batch:         horizon.AddDate(1, 0, 0),
		2*batch - 1:   horizon.AddDate(1, 0, 1),
		2*batch + 42:  horizon.AddDate(2, 0, 0),
		2*batch + 300: finalHorizon,
	}
	// due reports, once, the first planned position that recs has reached:
	// a move appends two records, so a position may be stepped over.
	due := func(planned map[int]bool) (int, bool) {
		for _, at := range slices.Sorted(maps.Keys(planned)) {
			if !planned[at] && at <= len(recs) {
				planned[at] = true
				return at, true
			}
		}
		return 0, false
	}
	advanced := map[int]bool{}
	for at := range advanceAt {
		advanced[at] = false
	}
	for i := 0; len(recs) < 2*batch+400; i++ {
		if at, ok := due(advanced); ok {
			recs = append(recs, advance(h, advanceAt[at]))
			continue
		}
		cal := cals[r.IntN(2)]
		names := live[cal]
		at, clear := due(clearAt)
		switch n := r.IntN(100); {
		case clear:
			// Each clear takes its own calendar, so that the first one's
			// re-created calendar, written to within the same batch, is
			// not wiped again by the second.
			cal = cals[at%2]
			recs = append(recs, h.cal("alice", cal, &domain.CalendarDeleted{}),
				h.cal("alice", cal, &domain.CalendarCreated{Owner: "alice", Name: cal}))
			live[cal] = nil
		case n < 8 && len(names) > 0:
			k := r.IntN(len(names))
			recs = append(recs, h.cal("alice", cal, &domain.ObjectDeleted{Name: names[k]}))
			live[cal] = append(names[:k], names[k+1:]...)
		case n < 11 && len(names) > 0:
			other := cals[0]
			if other == cal {
				other = cals[1]
			}
			k := r.IntN(len(names))
			name := names[k]
			if contains(live[other], name) {
				continue
			}
			_, data := g.object("m" + name)
			recs = append(recs, h.cal("alice", cal, &domain.ObjectDeleted{Name: name, MovedTo: "alice/" + other + "/" + name}))
			p := put(name, "m"+name, data)
			p.CopiedFrom = "alice/" + cal + "/" + name
			recs = append(recs, h.cal("alice", other, p))
			live[cal] = append(names[:k], names[k+1:]...)
			live[other] = append(live[other], name)
		case n < 12:
			recs = append(recs, h.cal("alice", cal, &domain.CalendarPropertiesChanged{
				Set: []domain.Property{{Space: "DAV:", Local: "displayname", XML: fmt.Sprint("v", i)}}}))
		default:
			// Names repeat; a repeated name takes a fresh UID one time in
			// five, which moves the UID index.
			name := fmt.Sprintf("%d.ics", r.IntN(3000))
			uid := "u" + name
			if r.IntN(5) == 0 {
				uid = fmt.Sprint("u", name, "-", i)
			}
			_, data := g.object(uid)
			recs = append(recs, h.cal("alice", cal, put(name, uid, data)))
			if !contains(live[cal], name) {
				live[cal] = append(live[cal], name)
			}
		}
	}
	return recs
}

var finalHorizon = epoch.AddDate(4, 0, 1)

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// A rebuild into a bulk store (overlay, sorted runs, ingestion, one final
// compaction) and one into an ordinary store (overlay, batches) both equal
// applying the same history in batches of 500.
func TestBulkRebuildMatchesApply(t *testing.T) {
	defer func(n int) { rebuildBatchRecords = n }(rebuildBatchRecords)
	rebuildBatchRecords = 1024
	recs := churn(t, rebuildBatchRecords)
	rebuildsMatch(t, recs, appliedInBatches(t, recs, 500))
}

// TestIndexHorizonBatching: however the log is cut into batches, horizon
// events included, the projections are the same bytes.
func TestIndexHorizonBatching(t *testing.T) {
	recs := churn(t, 250)
	want := appliedInBatches(t, recs, 500)
	if h, _, _ := view(t, want).IndexHorizon(); !h.Through.Equal(finalHorizon) {
		t.Fatalf("the history left the horizon at %v", h.Through)
	}
	for _, n := range []int{7, 1} {
		if diffs := digest(t, appliedInBatches(t, recs, n)).Diff(digest(t, want)); len(diffs) != 0 {
			t.Fatalf("applied in batches of %d, the store differs from batches of 500: %v", n, groups(diffs))
		}
	}
	rebuildsMatch(t, recs, want)
}

func appliedInBatches(t *testing.T, recs []eventlog.Record, n int) *Store {
	s := newStore(t)
	for i := 0; i < len(recs); i += n {
		apply(t, s, recs[i:min(i+n, len(recs))]...)
	}
	return s
}

// rebuildsMatch rebuilds recs into a bulk store and into an ordinary one,
// and compares both with want.
func rebuildsMatch(t *testing.T, recs []eventlog.Record, want *Store) {
	log := memLog(t, recs)
	head := recs[len(recs)-1].Position
	for _, bulk := range []bool{false, true} {
		got, err := Open(t.TempDir(), Options{Bulk: bulk})
		if err != nil {
			t.Fatal(err)
		}
		closeAtEnd(t, got)
		if err := Rebuild(context.Background(), log, got, head, nil); err != nil {
			t.Fatal(err)
		}
		if diffs := digest(t, got).Diff(digest(t, want)); len(diffs) != 0 {
			t.Fatalf("bulk %v: rebuilt store differs from the applied one: %v", bulk, groups(diffs))
		}
	}
}

// TestBulkOverlayLimit: a rebuild whose overlay outgrows its limit goes on
// with ordinary batches, which read the DB, so they must come after the
// last sorted run's ingestion, not race it (slowRuns makes the race lose).
func TestBulkOverlayLimit(t *testing.T) {
	defer func(n int) { rebuildBatchRecords = n }(rebuildBatchRecords)
	defer func(n int) { bulkOverlayLimit = n }(bulkOverlayLimit)
	rebuildBatchRecords, bulkOverlayLimit = 1024, 0
	recs := manyRecords(t) // no horizon event, which would wait for the run
	want := appliedInBatches(t, recs, 500)
	got, err := Open("db", Options{Bulk: true, FS: slowRuns{vfs.NewMem()}})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, got)
	if err := Rebuild(context.Background(), memLog(t, recs), got, recs[len(recs)-1].Position, nil); err != nil {
		t.Fatal(err)
	}
	if diffs := digest(t, got).Diff(digest(t, want)); len(diffs) != 0 {
		t.Fatalf("rebuilt store differs from the applied one: %v", groups(diffs))
	}
}

// slowRuns is a filesystem on which writing a sorted run takes a while.
type slowRuns struct{ vfs.FS }

func (fs slowRuns) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if strings.HasSuffix(name, "rebuild-run.sst") {
		time.Sleep(100 * time.Millisecond)
	}
	return fs.FS.Create(name, c)
}

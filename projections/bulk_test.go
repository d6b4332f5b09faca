package projections

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// churn is a history of every kind of calendar event over a few rebuild
// batches: puts that replace, rename (a name taking another UID) and move
// objects between calendars, deletions, property changes, and a calendar
// deleted and re-created both across batches and within one, its new
// incarnation written to before the batch ends.
func churn(t *testing.T) []eventlog.Record {
	h := newHistory(t)
	recs := twoCalendars(h)
	r := rand.New(rand.NewPCG(7, 11))
	g := genCalendar{r: r}
	cals := []string{"work", "home"}
	live := map[string][]string{}
	clearAt := map[int]bool{rebuildBatchRecords - 20: true, 2*rebuildBatchRecords + 40: true}
	for i := 0; len(recs) < 2*rebuildBatchRecords+400; i++ {
		cal := cals[r.IntN(2)]
		names := live[cal]
		switch n := r.IntN(100); {
		case clearAt[len(recs)]:
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
// applying the same history record by record.
func TestBulkRebuildMatchesApply(t *testing.T) {
	recs := churn(t)
	log := memLog(t, recs)
	head := recs[len(recs)-1].Position
	want := newStore(t)
	for i := 0; i < len(recs); i += 500 {
		apply(t, want, recs[i:min(i+500, len(recs))]...)
	}
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

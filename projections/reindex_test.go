package projections

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/kalends/kalends/eventlog"
)

// TestRebuildIndexMatchesApply: over the churn history (puts replacing and
// moving objects, deletions, a calendar deleted and re-created, the horizon
// advanced again and again), rebuilding the index of a store whose index
// was wiped and spoiled gives back every byte that applying wrote, whether
// objects wait for their last version or are indexed at once (and again).
func TestRebuildIndexMatchesApply(t *testing.T) {
	recs := churn(t, 250)
	want := appliedInBatches(t, recs, 500)
	wantKeys := dump(t, want)
	if len(indexKeys(t, want)) == 0 {
		t.Fatal("the history indexes nothing")
	}
	log := memLog(t, recs)
	defer func(n, w int) { reindexPendingBytes, reindexWindow = n, w }(reindexPendingBytes, reindexWindow)
	// A window of one calendar sorts the second while the first is written.
	for _, c := range []struct{ pending, window int }{{1 << 30, 64}, {20 << 10, 1}, {1, 2}} {
		t.Run(fmt.Sprintf("pending %d window %d", c.pending, c.window), func(t *testing.T) {
			reindexPendingBytes, reindexWindow = c.pending, c.window
			got := appliedInBatches(t, recs, 500)
			spoilIndex(t, got)
			var reached bool
			err := RebuildIndex(context.Background(), log, got, func(done, total eventlog.Position) {
				reached = reached || done == total
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reached {
				t.Error("progress never reached the checkpoint")
			}
			if diffs := digest(t, got).Diff(digest(t, want)); len(diffs) != 0 {
				t.Fatalf("the rebuilt index differs in %v", groups(diffs))
			}
			if gotKeys := dump(t, got); !reflect.DeepEqual(gotKeys, wantKeys) {
				t.Fatalf("%d keys after RebuildIndex, %d applied, or different bytes", len(gotKeys), len(wantKeys))
			}
		})
	}
}

// spoilIndex deletes the store's index and leaves a key no object has.
func spoilIndex(t *testing.T, s *Store) {
	b := s.db.NewBatch()
	for _, span := range indexTables() {
		if err := b.DeleteRange(span[0], span[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Set(timeKey("alice", "work", 0, 20000, "stale.ics"), []byte{0}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if len(indexKeys(t, s)) != 1 {
		t.Fatal("the index was not spoiled")
	}
}

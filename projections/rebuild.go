package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/kalends/kalends/eventlog"
)

// Rebuild batches are far larger than what a subscription hands Run (a
// thousand records): every Apply pays a fixed cost (a Pebble commit, the
// calendar records rewritten at flush, decoder workers started), and a
// rebuild has no reader waiting for the checkpoint to move. They stay well
// under the memtable (64 MB) so that a batch never becomes a flushable
// ingest of its own. (A variable so that tests can cross batch
// boundaries with fewer records.)
var rebuildBatchRecords = 8192

const rebuildBatchBytes = 16 << 20

// errRebuildDone stops ReadAll once upTo is reached.
var errRebuildDone = errors.New("rebuild reached its end")

// Rebuild feeds store from log, from the store's checkpoint up to and
// including position upTo (pass the log's Head for everything), in large
// batches through Apply. Reading the log and applying overlap: one
// goroutine reads and fills the next batch while the caller's goroutine
// applies the previous one. progress, if not nil, is called after each
// applied batch with the position reached and upTo.
//
// It is Run without the subscription: for replaying history into a fresh
// or scratch store as fast as possible, not for following a live log.
func Rebuild(ctx context.Context, log eventlog.Log, store *Store, upTo eventlog.Position, progress func(done, total eventlog.Position)) error {
	from := store.Checkpoint()
	if from >= upTo {
		return nil
	}
	if from == 0 {
		store.beginBulk()
		defer store.endBulk() // again on the error paths, which already have their error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches, readErr := readBatches(ctx, log, from, upTo)
	// Decoding (and indexing) a batch is independent of the store, so the
	// next batch decodes on every core while the applier, a single
	// goroutine, applies and writes the one before.
	var ahead *decoder
	for batch := range batches {
		next := decode(batch, true)
		if ahead != nil {
			if err := applyAhead(store, ahead, progress, upTo); err != nil {
				next.stop()
				cancel()
				for range batches {
				}
				return err
			}
		}
		ahead = next
	}
	if ahead != nil {
		if err := applyAhead(store, ahead, progress, upTo); err != nil {
			return err
		}
	}
	if err := store.endBulk(); err != nil {
		return err
	}
	if err := <-readErr; err != nil {
		return fmt.Errorf("projections: rebuild: read the log after %d: %w", store.Checkpoint(), err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if cp := store.Checkpoint(); cp < upTo {
		return fmt.Errorf("projections: rebuild: the log ends at %d, before %d", cp, upTo)
	}
	if store.bulkStore {
		return store.compactAll(ctx)
	}
	return nil
}

// readBatches reads the log's records after from up to and including upTo
// in one goroutine, handing them on in batches while it reads the next;
// the error channel gets its outcome once batches is closed. Cancel ctx to
// stop it early, and drain batches.
func readBatches(ctx context.Context, log eventlog.Log, from, upTo eventlog.Position) (<-chan []eventlog.Record, <-chan error) {
	batches := make(chan []eventlog.Record, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		var batch []eventlog.Record
		size := 0
		send := func() bool {
			select {
			case batches <- batch:
				batch, size = make([]eventlog.Record, 0, rebuildBatchRecords), 0
				return true
			case <-ctx.Done():
				return false
			}
		}
		err := log.ReadAll(ctx, from, func(r eventlog.Record) error {
			if r.Position > upTo {
				return errRebuildDone
			}
			batch = append(batch, r)
			size += len(r.Data)
			if (len(batch) >= rebuildBatchRecords || size >= rebuildBatchBytes) && !send() {
				return ctx.Err()
			}
			return nil
		})
		if errors.Is(err, errRebuildDone) {
			err = nil
		}
		if err == nil && len(batch) > 0 {
			send()
		}
		readErr <- err
	}()
	return batches, readErr
}

func applyAhead(store *Store, dec *decoder, progress func(done, total eventlog.Position), upTo eventlog.Position) error {
	if err := store.applyDecoded(dec); err != nil {
		return err
	}
	if progress != nil {
		progress(store.Checkpoint(), upTo)
	}
	return nil
}

// beginBulk makes the following Applies share one complete overlay: the
// store holds nothing yet, so everything applying can read is what the
// rebuild itself writes.
func (s *Store) beginBulk() {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.bulk = newOverlay(true)
}

// endBulk waits for the last bulk run's ingestion, and drops the overlay.
func (s *Store) endBulk() error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	err := s.awaitIngest()
	s.bulk = nil
	return err
}

// compactAll flushes a bulk store and compacts it once, so that it is served
// from a tidy LSM rather than from every run the rebuild ingested into L0.
func (s *Store) compactAll(ctx context.Context) error {
	if err := s.db.Flush(); err != nil {
		return err
	}
	return s.db.Compact(ctx, []byte{0x00}, []byte{0xff}, true)
}

package projections

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

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
//
// From an empty store, the time-range index is written at the end, by
// the same reindexer as RebuildIndex's, so that each object is indexed
// once, for its last version, on every core, and the sorted runs carry no
// index keys. Until then the store is marked incomplete: a rebuild from
// empty that stops is started over by the next Open, not resumed.
func Rebuild(ctx context.Context, log eventlog.Log, store *Store, upTo eventlog.Position, progress func(done, total eventlog.Position)) error {
	from := store.Checkpoint()
	if from >= upTo {
		return nil
	}
	var later *reindexer
	if from == 0 {
		if err := store.beginBulk(); err != nil {
			return err
		}
		defer store.endBulk() // again on the error paths, which already have their error
		later = newReindexer()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches, readErr := readBatches(ctx, log, from, upTo)
	// Decoding (and indexing, if the applier does) a batch is independent
	// of the store, so the next batch decodes on every core while the
	// applier, a single goroutine, applies and writes the one before.
	err := pipeline(batches, cancel, later == nil, func(dec *decoder) error {
		return applyAhead(store, dec, later, progress, upTo)
	})
	if err != nil {
		return err
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
	if later != nil {
		if err := store.completeBulk(ctx, later); err != nil {
			return err
		}
	}
	if store.bulkStore {
		return store.compactAll(ctx)
	}
	return nil
}

// pipeline decodes each batch on every core (indexing its puts if index)
// while consume takes the batch before, in order. At consume's first error
// it cancels the reading, drains what was read and returns that error.
func pipeline(batches <-chan []eventlog.Record, cancel func(), index bool, consume func(*decoder) error) error {
	var ahead *decoder
	for batch := range batches {
		next := decode(batch, index)
		if ahead != nil {
			if err := consume(ahead); err != nil {
				next.stop()
				cancel()
				for range batches {
				}
				return err
			}
		}
		ahead = next
	}
	if ahead == nil {
		return nil
	}
	return consume(ahead)
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

func applyAhead(store *Store, dec *decoder, later *reindexer, progress func(done, total eventlog.Position), upTo eventlog.Position) error {
	if err := store.applyDecoded(dec); err != nil {
		return err
	}
	if later != nil {
		if err := later.foldAll(dec); err != nil {
			return err
		}
	}
	if progress != nil {
		progress(store.Checkpoint(), upTo)
	}
	return nil
}

// beginBulk makes the following Applies share one complete overlay: the
// store holds nothing yet, so everything applying can read is what the
// rebuild itself writes. They also leave the time-range index to the
// rebuild's reindexer, so the store is marked incomplete until
// completeBulk: should the rebuild stop before, Open wipes it and serving
// starts over rather than resume from a checkpoint with objects missing
// from the index.
func (s *Store) beginBulk() error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if err := s.setSchema(incompleteSchema); err != nil {
		return err
	}
	s.bulk, s.indexLater = newOverlay(true), true
	return nil
}

// completeBulk writes the index a rebuild left to later, once every
// record is applied, and marks the store complete.
func (s *Store) completeBulk(ctx context.Context, later *reindexer) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if err := later.ingest(ctx, s); err != nil {
		return err
	}
	return s.setSchema(schemaVersion)
}

// endBulk waits for the last bulk run's ingestion, and drops the overlay.
func (s *Store) endBulk() error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	err := s.awaitIngest()
	s.bulk, s.indexLater = nil, false
	return err
}

// setSchema records the projection schema of what the store holds,
// durably: a bulk store has no write-ahead log, so its memtable is flushed.
func (s *Store) setSchema(v uint64) error {
	val := binary.AppendUvarint(nil, v)
	if s.bulkStore {
		if err := s.db.Set(schemaKey, val, pebble.NoSync); err != nil {
			return err
		}
		return s.db.Flush()
	}
	return s.db.Set(schemaKey, val, pebble.Sync)
}

// compactAll flushes a bulk store and compacts it once, so that it is served
// from a tidy LSM rather than from every run the rebuild ingested into L0.
func (s *Store) compactAll(ctx context.Context) error {
	if err := s.db.Flush(); err != nil {
		return err
	}
	return s.db.Compact(ctx, []byte{0x00}, []byte{0xff}, true)
}

package projections

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// writes is where an applier's writes go: a Pebble batch for an ordinary
// Apply, a sortedRun for a bulk store's rebuild.
type writes interface {
	Set(key, value []byte, _ *pebble.WriteOptions) error
	// SetString sets an object body straight from its event.
	SetString(key []byte, value string) error
	Delete(key []byte, _ *pebble.WriteOptions) error
	DeleteRange(start, end []byte, _ *pebble.WriteOptions) error
}

// batchWrites is a Pebble batch as writes.
type batchWrites struct{ *pebble.Batch }

// SetString copies the body into the batch once, with no []byte of it made
// on the way.
func (b batchWrites) SetString(key []byte, value string) error {
	op := b.SetDeferred(len(key), len(value))
	copy(op.Key, key)
	copy(op.Value, value)
	return op.Finish()
}

// sortedRun is one batch of a bulk store's rebuild, written as one sstable
// and ingested instead of committed: no memtable, whose skiplist insertions
// were a fifth of a million-event rebuild, and no flushes, which stalled it.
//
// Writes are appended in order and sorted once at the end; of several
// writes to one key the last wins, because every key of an ingested sstable
// carries the same sequence number. For the same reason the run's range
// deletions delete keys of earlier runs and never its own: a DeleteRange
// drops only the run's writes made before it, so a calendar deleted and
// re-created within one run keeps what the new one wrote.
type sortedRun struct {
	entries []runEntry
	ranges  []runRange
	// arena holds keys and small values in large chunks rather than one
	// allocation each.
	arena []byte
}

type runEntry struct {
	key, val []byte
	seq      int // order of the write within the run
	deleted  bool
}

type runRange struct {
	start, end []byte
	seq        int // writes before it, in its range, are dropped
}

const runArenaChunk = 1 << 20

func newSortedRun() *sortedRun { return &sortedRun{} }

func (r *sortedRun) keep(b []byte) []byte {
	if len(b) > cap(r.arena)-len(r.arena) {
		r.arena = make([]byte, 0, max(runArenaChunk, len(b)))
	}
	n := len(r.arena)
	r.arena = append(r.arena, b...)
	return r.arena[n:len(r.arena):len(r.arena)]
}

func (r *sortedRun) add(key, val []byte, deleted bool) {
	r.entries = append(r.entries, runEntry{key: r.keep(key), val: val, seq: len(r.entries), deleted: deleted})
}

func (r *sortedRun) Set(key, value []byte, _ *pebble.WriteOptions) error {
	r.add(key, r.keep(value), false)
	return nil
}

// SetString keeps a view of the body rather than a copy: the event that
// holds it outlives the run, and the sstable writer only reads it.
func (r *sortedRun) SetString(key []byte, value string) error {
	r.add(key, unsafe.Slice(unsafe.StringData(value), len(value)), false)
	return nil
}

func (r *sortedRun) Delete(key []byte, _ *pebble.WriteOptions) error {
	r.add(key, nil, true)
	return nil
}

func (r *sortedRun) DeleteRange(start, end []byte, _ *pebble.WriteOptions) error {
	r.ranges = append(r.ranges, runRange{start: r.keep(start), end: r.keep(end), seq: len(r.entries)})
	return nil
}

// dropped reports whether a range deletion made after e covers it.
func (r *sortedRun) dropped(e *runEntry) bool {
	for _, rg := range r.ranges {
		if e.seq < rg.seq && bytes.Compare(rg.start, e.key) <= 0 && bytes.Compare(e.key, rg.end) < 0 {
			return true
		}
	}
	return false
}

// ingest writes the run as an sstable at path (on fs) and ingests it.
func (r *sortedRun) ingest(ctx context.Context, db *pebble.DB, fs vfs.FS, path string, wo sstable.WriterOptions) error {
	slices.SortFunc(r.entries, func(a, b runEntry) int {
		if c := bytes.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	spans := make([][2][]byte, len(r.ranges))
	for i, rg := range r.ranges {
		spans[i] = [2][]byte{rg.start, rg.end}
	}
	return ingestTable(ctx, db, fs, path, wo, spans, func(w *sstable.Writer) error {
		for i := range r.entries {
			e := &r.entries[i]
			if i+1 < len(r.entries) && bytes.Equal(e.key, r.entries[i+1].key) || r.dropped(e) {
				continue // a later write to the key wins, or a later range deletion
			}
			var err error
			if e.deleted {
				err = w.Delete(e.key)
			} else {
				err = w.Set(e.key, e.val)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// ingestTable writes one sstable at path (on fs), its point keys by
// writePoints in key order and then the range deletions of deleted, and
// ingests it into db. Every key of an ingested table carries one sequence
// number, so its range deletions remove what db held before, never the
// table's own keys.
func ingestTable(ctx context.Context, db *pebble.DB, fs vfs.FS, path string, wo sstable.WriterOptions,
	deleted [][2][]byte, writePoints func(*sstable.Writer) error) error {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	defer fs.Remove(path) // Ingest links or copies it into the store
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
	if err := writePoints(w); err != nil {
		w.Close()
		return err
	}
	for _, span := range fragment(deleted) {
		if err := w.DeleteRange(span[0], span[1]); err != nil {
			w.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return db.Ingest(ctx, []string{path})
}

// fragment sorts spans and merges the overlapping ones, as an sstable's
// range deletions must be.
func fragment(spans [][2][]byte) [][2][]byte {
	slices.SortFunc(spans, func(a, b [2][]byte) int { return bytes.Compare(a[0], b[0]) })
	var out [][2][]byte
	for _, s := range spans {
		if n := len(out); n > 0 && bytes.Compare(s[0], out[n-1][1]) <= 0 {
			if bytes.Compare(s[1], out[n-1][1]) > 0 {
				out[n-1][1] = s[1]
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

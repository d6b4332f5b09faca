package projections

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// RebuildIndex replaces the time-range index of store (its 't', 'e', 'i'
// and 'h' tables) with one computed afresh from log up to the store's
// checkpoint, and leaves every other projection as it is. It is for when
// only what the index is computed with has changed: the IANA time zone
// database (a country dropping daylight saving time moves every instance
// of every event in its zones) or the recurrence evaluation of a new
// release. Nothing else in the projections depends on either, and the
// index is most of what a full rebuild costs.
//
// The index is current state: what it holds for an object is a function
// of the object's last version, that version's time and the horizon
// (timerange.go). So RebuildIndex reads the log once and keeps, per live
// object, the data of its latest version, and indexes each object once it
// knows the version that lasts, on every core. The data held waiting is
// bounded by reindexPendingBytes; past it, what is held is indexed at
// once, and indexed again should a later version come. An object cut at a
// horizon keeps its data, and is indexed again at the end if the horizon
// moved past its own, which is what each IndexHorizonAdvanced does when
// applied (a cut index only ever grows with the horizon: see indexUpTo).
//
// The new index is written as one sstable, in key order, that also
// range-deletes the old one, and ingested: a reader sees the old index or
// the new, never a mix. TestRebuildIndexMatchesApply holds the result to
// the very bytes that applying the log writes.
//
// It holds the store's apply lock throughout, so it is for a store that
// nothing applies to (the server stopped, as `kalends rebuild --index`
// requires): a projector waiting for the lock would find its work undone
// by the ingestion.
func RebuildIndex(ctx context.Context, log eventlog.Log, store *Store, progress func(done, total eventlog.Position)) error {
	store.applyMu.Lock()
	defer store.applyMu.Unlock()
	if err := store.awaitIngest(); err != nil {
		return err
	}
	upTo := store.Checkpoint()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches, readErr := readBatches(ctx, log, 0, upTo)
	x := newReindexer()
	err := pipeline(batches, cancel, false, func(dec *decoder) error {
		defer dec.stop()
		if err := x.foldAll(dec); err != nil {
			return err
		}
		if progress != nil {
			progress(dec.records[len(dec.records)-1].Position, upTo)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := <-readErr; err != nil {
		return fmt.Errorf("projections: rebuild the index: read the log: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return x.ingest(ctx, store)
}

// ingest completes the index and replaces store's with it. The caller
// holds the store's apply lock.
func (x *reindexer) ingest(ctx context.Context, store *Store) error {
	x.finish()
	return ingestTable(ctx, store.db, store.fs, store.fs.PathJoin(store.dir, "reindex.sst"), store.runOpts, indexTables(), x.write)
}

// reindexPendingBytes bounds the object data RebuildIndex holds before
// indexing it. (A variable so that tests can cross it.)
var reindexPendingBytes = 1 << 30

// reindexWindow is how many calendars' time keys are sorted at once while
// the ones before are written. (A variable so that tests can cross it.)
var reindexWindow = 64

// indexTables are the spans of the index's tables, which RebuildIndex
// replaces whole.
func indexTables() [][2][]byte {
	var spans [][2][]byte
	for _, t := range []byte{tagOpenEnded, tagHorizon, tagTimeIndex, tagTime} {
		spans = append(spans, [2][]byte{{t}, {t + 1}})
	}
	return spans
}

// reindexer is RebuildIndex's state as it reads the log: every live object
// of every live calendar, and the horizon in effect.
type reindexer struct {
	cals         map[string]*reindexCalendar // calendarMember(owner, cal) →
	horizon      IndexHorizon
	horizonFound bool
	pending      []*reindexObject // not indexed yet, in the order put
	pendingBytes int
}

type reindexCalendar struct {
	owner, name string
	objects     map[string]*reindexObject
}

type reindexObject struct {
	// data is the object's text while it waits to be indexed, and after
	// that if its index is cut at a horizon; "" otherwise.
	data    string
	horizon time.Time // what data is indexed up to
	ti      timeIndex
	waiting bool // in pending, and not replaced since
}

func newReindexer() *reindexer {
	return &reindexer{cals: map[string]*reindexCalendar{}}
}

// foldAll folds dec's records, waiting for each to be decoded.
func (x *reindexer) foldAll(dec *decoder) error {
	for i, r := range dec.records {
		ev, _, err := dec.event(i)
		if err == nil {
			err = x.fold(r, ev)
		}
		if err != nil {
			return fmt.Errorf("projections: index %s revision %d at position %d: %w", r.Stream, r.Revision, r.Position, err)
		}
	}
	return nil
}

// fold takes one record into x. The log is one the store's projections
// have applied, so it is not checked again.
func (x *reindexer) fold(r eventlog.Record, ev domain.Event) error {
	switch e := ev.(type) {
	case *domain.PrincipalCreated, *domain.PrincipalDisabled:
		return nil
	case *domain.IndexHorizonAdvanced:
		// As advanceHorizon keeps it; re-indexing is left to finish.
		if through := time.Unix(e.Through.Unix(), 0).UTC(); through.After(x.horizon.Through) {
			x.horizon.Through = through
		}
		x.horizon.Revision, x.horizonFound = r.Revision, true
		return nil
	}
	owner, name, err := calendarOf(r.Stream)
	if err != nil {
		return err
	}
	member := calendarMember(owner, name)
	cal := x.cals[member]
	if _, created := ev.(*domain.CalendarCreated); cal == nil && !created {
		return fmt.Errorf("%s to calendar %s/%s, which does not exist", r.Type, owner, name)
	}
	switch e := ev.(type) {
	case *domain.CalendarCreated:
		x.cals[member] = &reindexCalendar{owner: owner, name: name, objects: map[string]*reindexObject{}}
	case *domain.CalendarDeleted:
		for _, o := range cal.objects {
			x.drop(o)
		}
		delete(x.cals, member)
	case *domain.ObjectPut:
		// The horizon apply uses: the put's own, or the one in effect.
		horizon := objectHorizon(r.Meta.Time)
		if x.horizon.Through.After(horizon) {
			horizon = x.horizon.Through
		}
		if old := cal.objects[e.Name]; old != nil {
			x.drop(old)
		}
		o := &reindexObject{data: e.Data, horizon: horizon, waiting: true}
		cal.objects[e.Name] = o
		x.pending = append(x.pending, o)
		if x.pendingBytes += len(e.Data); x.pendingBytes > reindexPendingBytes {
			x.indexPending()
		}
	case *domain.ObjectDeleted:
		x.drop(cal.objects[e.Name])
		delete(cal.objects, e.Name)
	}
	return nil
}

// drop forgets an object replaced or deleted before it was indexed.
func (x *reindexer) drop(o *reindexObject) {
	if o != nil && o.waiting {
		o.waiting = false
		x.pendingBytes -= len(o.data)
		o.data = ""
	}
}

// indexPending indexes, on every core, the objects waiting.
func (x *reindexer) indexPending() {
	parallel(x.pending, 64, func(o *reindexObject) {
		if o.waiting {
			o.indexUpTo(o.horizon)
			o.waiting = false
		}
	})
	x.pending, x.pendingBytes = x.pending[:0], 0
}

// indexUpTo indexes o's data up to horizon, keeping the data only if the
// index is cut there. A cut index stays cut, or becomes evaluated for every
// query, at any later horizon (more instances can only pass
// maxIndexInstances), so indexing again at the last horizon gives what
// applying each IndexHorizonAdvanced in turn does.
func (o *reindexObject) indexUpTo(horizon time.Time) {
	o.ti, o.horizon = indexObject(o.data, horizon), horizon
	if o.ti.from == never || o.ti.from == always {
		o.data = ""
	}
}

// finish indexes what still waits, then, up to the horizon in effect,
// every object cut at an earlier one.
func (x *reindexer) finish() {
	x.indexPending()
	var behind []*reindexObject
	for _, cal := range x.cals {
		for _, o := range cal.objects {
			if o.data != "" && o.ti.horizon < x.horizon.Through.Unix() {
				behind = append(behind, o)
			}
		}
	}
	parallel(behind, 64, func(o *reindexObject) { o.indexUpTo(x.horizon.Through) })
}

// write writes the index in key order: the tables are 'e' < 'h' < 'i' <
// 't', and within each, calendars in the order of their members (which no
// member is a prefix of another's), names in byte order.
func (x *reindexer) write(w *sstable.Writer) error {
	members := slices.Sorted(maps.Keys(x.cals))
	names := make([][]string, len(members))
	for i, m := range members {
		names[i] = slices.Sorted(maps.Keys(x.cals[m].objects))
	}
	perObject := func(table byte, value func(*reindexObject) []byte) error {
		for i, m := range members {
			for _, name := range names[i] {
				if v := value(x.cals[m].objects[name]); v != nil {
					if err := w.Set(memberKey(table, x.cals[m].owner, x.cals[m].name, name), v); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := perObject(tagOpenEnded, func(o *reindexObject) []byte { return openEndedValue(&o.ti) }); err != nil {
		return err
	}
	if x.horizonFound {
		if err := w.Set(horizonKey, encodeIndexHorizon(x.horizon)); err != nil {
			return err
		}
	}
	if err := perObject(tagTimeIndex, func(o *reindexObject) []byte { return encodeTimeIndexRecord(&o.ti) }); err != nil {
		return err
	}
	// A calendar's 't' keys go by level and bucket before name, so they
	// are sorted per calendar: a window of calendars at a time, on every
	// core, while the window before is written.
	window := reindexWindow
	sorted := make([][]bucketRef, len(members))
	ready := make(chan int, 1) // the first calendar of a sorted window
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(ready)
		for lo := 0; lo < len(members); lo += window {
			idx := make([]int, 0, window)
			for i := lo; i < min(lo+window, len(members)); i++ {
				idx = append(idx, i)
			}
			parallel(idx, 1, func(i int) { sorted[i] = x.cals[members[i]].bucketRefs(names[i]) })
			select {
			case ready <- lo:
			case <-stop:
				return
			}
		}
	}()
	for lo := range ready {
		for i := lo; i < min(lo+window, len(members)); i++ {
			cal := x.cals[members[i]]
			for _, ref := range sorted[i] {
				if err := w.Set(timeKey(cal.owner, cal.name, ref.ti.level, ref.bucket, ref.name), bucketValue(ref.ti, ref.bucket)); err != nil {
					return err
				}
			}
			sorted[i] = nil
		}
	}
	return nil
}

// bucketRef is one 't' key of a calendar, before it is made.
type bucketRef struct {
	bucket int64
	name   string
	ti     *timeIndex
}

// bucketRefs lists the calendar's 't' keys in key order: by level, bucket
// (biased big-endian, so in numeric order) and name. names are the
// calendar's objects' names.
func (c *reindexCalendar) bucketRefs(names []string) []bucketRef {
	var refs []bucketRef
	for _, name := range names {
		ti := &c.objects[name].ti
		for _, b := range ti.buckets {
			refs = append(refs, bucketRef{bucket: b, name: name, ti: ti})
		}
	}
	slices.SortFunc(refs, func(a, b bucketRef) int {
		return cmp.Or(cmp.Compare(a.ti.level, b.ti.level), cmp.Compare(a.bucket, b.bucket), strings.Compare(a.name, b.name))
	})
	return refs
}

// parallel calls fn on every item, on every core, handing out chunk items
// at a time.
func parallel[T any](items []T, chunk int, fn func(T)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (len(items)+chunk-1)/chunk) {
		wg.Go(func() {
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= len(items) {
					return
				}
				for _, it := range items[lo:min(lo+chunk, len(items))] {
					fn(it)
				}
			}
		})
	}
	wg.Wait()
}

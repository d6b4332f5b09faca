package projections

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/rs/zerolog"
)

// schemaVersion names the key layout and value encodings. Change it with
// any change to either: a store written under another version is wiped at
// Open and rebuilt from the log, which is cheaper and safer than migrating
// derived state.
const schemaVersion = 4 // 4: the index horizon ('h', and 'e' values that carry it)

// incompleteSchema marks a store that a rebuild from empty is still
// filling: its time-range index is written last (see beginBulk), so Open
// wipes such a store like one of another schema.
const incompleteSchema = 0

// ErrClosed is returned by WaitFor and Apply once the store is closed.
var ErrClosed = errors.New("projections: closed")

// Options configure a Store.
type Options struct {
	Logger zerolog.Logger
	// FS is the filesystem Pebble uses; nil means the disk. As-of views
	// (asof.go) pass vfs.NewMem() for a store that lives as long as its use.
	FS vfs.FS
	// Bulk opens the store for one Rebuild and Close, nothing else: no
	// write-ahead log and no compactions while it fills (Rebuild compacts
	// once at its end); a rebuild writes it as ingested sorted runs. A
	// crash before the rebuild ends leaves it marked incomplete, and the
	// next Open wipes it (see beginBulk).
	Bulk bool
}

// Store is the projection database and its projector.
type Store struct {
	db  *pebble.DB
	log zerolog.Logger

	// applyMu serialises Apply and Close.
	applyMu sync.Mutex

	// mu covers the commit of a batch together with the checkpoint it
	// carries, so that a View's snapshot and checkpoint always agree.
	mu     sync.RWMutex
	cp     eventlog.Position
	closed bool
	// moved is closed and replaced whenever cp advances or the store
	// closes: WaitFor sleeps on it instead of polling.
	moved chan struct{}

	principals principalCache
	parsed     parsedCache
	data       dataCache
	members    memberCache

	// bulkStore: opened with Options.Bulk, so without a WAL, and rebuilt
	// by ingesting sortedRuns. dir, fs and runOpts are where and how those
	// runs, and RebuildIndex's table, are written.
	bulkStore bool
	dir       string
	fs        vfs.FS
	runOpts   sstable.WriterOptions
	// applied is the position of the last record handed to a commit: the
	// checkpoint, or ahead of it while a bulk run is being ingested.
	// ingesting receives that ingest's outcome. Both guarded by applyMu.
	applied   eventlog.Position
	ingesting chan error

	// bulk is the complete overlay a rebuild into an empty store keeps
	// across its batches (see overlay); nil otherwise. indexLater is set
	// with it: such a rebuild writes the time-range index at its end.
	// Both guarded by applyMu.
	bulk       *overlay
	indexLater bool
}

// bulkOverlayLimit bounds the bytes of a rebuild's overlay, which holds
// some 200 bytes per event applied (see overlay): past it, the rebuild goes
// on reading the DB like an ordinary Apply. (A variable so that tests can
// cross it.)
var bulkOverlayLimit = 2 << 30

// Open opens (or creates) the projection store in dir. A store written by an
// incompatible projection schema is wiped, so the projector rebuilds it.
func Open(dir string, opts Options) (*Store, error) {
	o := pebbleOptions(opts)
	// The DB keeps its own reference to the cache; ours ends here.
	defer o.Cache.Unref()
	db, err := pebble.Open(dir, o)
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", dir, err)
	}
	s := &Store{db: db, log: opts.Logger, moved: make(chan struct{}), bulkStore: opts.Bulk, dir: dir, fs: o.FS}
	o.EnsureDefaults()
	s.runOpts = o.MakeWriterOptions(0, db.TableFormat())
	if s.cp, err = s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("projections: open %s: %w", dir, err)
	}
	s.applied = s.cp
	s.log.Debug().Uint64("checkpoint", uint64(s.cp)).Msg("projections opened")
	return s, nil
}

// pebbleOptions tune Pebble for the projector's access pattern: every
// applied event looks up keys that mostly do not exist yet (a new object's
// metadata, its change pointer), so Bloom filters on every level spare those
// misses a read per level; and the memtable is large enough that a batch
// of a thousand 1 KB objects does not force a flush. Pebble's default 8 MB
// block cache could not even hold those filters once a rebuild had written
// a few hundred thousand events, and every lookup became a read syscall.
func pebbleOptions(opts Options) *pebble.Options {
	o := &pebble.Options{
		Cache:        pebble.NewCache(128 << 20),
		Logger:       pebbleLogger{opts.Logger},
		MemTableSize: 64 << 20,
		FS:           opts.FS,
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	if opts.Bulk {
		// Every ingested run lands in L0 until the one compaction at the
		// end; no number of them may stop writes.
		o.DisableWAL = true
		o.DisableAutomaticCompactions = true
		o.L0StopWritesThreshold = math.MaxInt32
	}
	return o
}

// load returns the stored checkpoint, first wiping a store of another schema.
func (s *Store) load() (eventlog.Position, error) {
	var stored uint64
	found, err := get(s.db, schemaKey, func(v []byte) error {
		var n int
		if stored, n = binary.Uvarint(v); n != len(v) {
			return errCorrupt
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if found && stored == schemaVersion {
		var cp eventlog.Position
		_, err := get(s.db, checkpointKey, func(v []byte) (err error) {
			cp, err = decodePosition(v)
			return err
		})
		return cp, err
	}
	switch {
	case found && stored == incompleteSchema:
		s.log.Info().Msg("a rebuild of the projections was interrupted: rebuilding from the log")
	case found:
		s.log.Info().Uint64("stored", stored).Uint64("current", schemaVersion).
			Msg("projection schema changed: rebuilding from the log")
	}
	// Every key starts with an ASCII tag, so [0x00, 0xff) is everything.
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange([]byte{0x00}, []byte{0xff}, nil); err != nil {
		return 0, err
	}
	if err := b.Set(schemaKey, binary.AppendUvarint(nil, schemaVersion), nil); err != nil {
		return 0, err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return 0, err
	}
	if found {
		// Drop the old data's files now rather than when compaction gets there.
		return 0, s.db.Compact(context.Background(), []byte{0x00}, []byte{0xff}, true)
	}
	return 0, nil
}

// Close closes the store. Run must have returned first, and every View be
// closed.
func (s *Store) Close() error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	ingestErr := s.awaitIngest()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.moved)
	s.mu.Unlock()
	if s.bulkStore {
		// Without a WAL, what is still in the memtable lives nowhere else.
		if err := s.db.Flush(); err != nil {
			return errors.Join(ingestErr, err, s.db.Close())
		}
	}
	return errors.Join(ingestErr, s.db.Close())
}

// Run feeds the projections from log, starting after the stored checkpoint,
// until ctx is done or an error occurs (which is returned; the projections
// are then stale and the server must stop).
func (s *Store) Run(ctx context.Context, log eventlog.Log) error {
	if err := s.catchUp(ctx, log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	from := s.Checkpoint()
	sub, err := log.Subscribe(ctx, from)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("projections: subscribe after %d: %w", from, err)
	}
	defer sub.Close()
	s.log.Info().Uint64("after", uint64(from)).Msg("projector running")
	for {
		records, err := sub.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("projections: read the log: %w", err)
		}
		if err := s.Apply(records); err != nil {
			return err
		}
	}
}

// catchUpGap is how far behind the log the store must be for Run to catch
// up through Rebuild's large batches (and, from empty, its overlay) rather
// than the subscription's small ones: a new or wiped store on a long log.
var catchUpGap eventlog.Position = 50_000

func (s *Store) catchUp(ctx context.Context, log eventlog.Log) error {
	head, err := log.Head(ctx)
	from := s.Checkpoint()
	if err != nil || head < from+catchUpGap {
		return err
	}
	s.log.Info().Uint64("from", uint64(from)).Uint64("to", uint64(head)).Msg("projections catching up with the log")
	start := time.Now()
	if err := Rebuild(ctx, log, s, head, nil); err != nil {
		return err
	}
	took := time.Since(start)
	s.log.Info().Dur("took", took).Float64("events_per_s", math.Round(float64(head-from)/took.Seconds())).Msg("projections caught up")
	return nil
}

// Apply applies records (in log order, starting right after the checkpoint)
// in one batch together with the new checkpoint, then wakes waiters.
// Leading records at or before the checkpoint are skipped, so that
// re-delivery after a restart is harmless. Nothing is written unless every
// record applies, except that an IndexHorizonAdvanced begins a batch of its
// own (see applyDecoded): the batches before a failing one stay applied.
func (s *Store) Apply(records []eventlog.Record) error {
	cp := s.Checkpoint()
	for len(records) > 0 && records[0].Position <= cp {
		records = records[1:]
	}
	if len(records) == 0 {
		return nil
	}
	return s.applyDecoded(decode(records, true))
}

// applyDecoded is Apply once dec has been started on the records: Rebuild
// starts decoding a batch while the one before it is being applied.
//
// The records are applied in units, each committed (or ingested) with its
// checkpoint: an IndexHorizonAdvanced begins a new one, because it reads
// the index and the objects' data from the DB (timerange.go), which must
// therefore hold every record before it. Such events come monthly, so the
// units are nearly always the whole batch.
func (s *Store) applyDecoded(dec *decoder) error {
	defer dec.stop()
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	records := dec.records
	for lo := 0; lo < len(records); {
		hi := lo + 1
		for hi < len(records) && records[hi].Type != domain.TypeIndexHorizonAdvanced {
			hi++
		}
		if err := s.applyUnit(dec, lo, hi); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

// applyUnit applies dec's records [lo, hi) in one batch, or one sorted run
// in a bulk store's rebuild.
func (s *Store) applyUnit(dec *decoder, lo, hi int) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	horizon := dec.records[lo].Type == domain.TypeIndexHorizonAdvanced
	run := s.bulkStore && s.bulk != nil
	if horizon || !run {
		// Applying it reads the DB, which must hold every run before it:
		// a horizon reads it, and so does a unit without the complete
		// overlay (dropped past bulkOverlayLimit while a run is ingested);
		// a batch committed before that ingest would also be overwritten by
		// it, and publish a checkpoint the ingest then moves back.
		if err := s.awaitIngest(); err != nil {
			return err
		}
	}
	cp := s.applied
	ov := s.bulk
	if ov == nil {
		ov = newOverlay(false)
	}
	var w writes
	if run {
		w = newSortedRun()
	} else {
		b := s.db.NewBatch()
		defer b.Close()
		w = batchWrites{b}
	}
	committed := false
	defer func() {
		// A failed batch leaves the overlay ahead of the DB; a big one
		// leaves it too big to keep.
		if !committed || s.bulk != nil && s.bulk.size > bulkOverlayLimit {
			s.bulk = nil
		}
	}()
	a, err := newApplier(s.db, w, ov)
	if err != nil {
		return fmt.Errorf("projections: apply: %w", err)
	}
	a.indexLater = s.indexLater
	for i := lo; i < hi; i++ {
		r := dec.records[i]
		if r.Position <= cp {
			return fmt.Errorf("projections: position %d follows %d", r.Position, cp)
		}
		ev, index, err := dec.event(i)
		if err == nil {
			err = a.apply(r, ev, index)
		}
		if err != nil {
			return fmt.Errorf("projections: apply %s revision %d at position %d: %w", r.Stream, r.Revision, r.Position, err)
		}
		cp = r.Position
	}
	if err := a.flush(cp); err != nil {
		return fmt.Errorf("projections: apply: %w", err)
	}
	records := dec.records[lo:hi]
	if run {
		// The run is sorted, written and ingested while the next unit is
		// applied: nothing a bulk rebuild applies reads the DB (the overlay
		// is complete), and nothing reads a bulk store while it fills.
		if err := s.awaitIngest(); err != nil {
			return err
		}
		done := make(chan error, 1)
		s.ingesting = done
		go func() { done <- s.ingestRun(w.(*sortedRun), cp, records) }()
		s.applied, committed = cp, true
		if horizon {
			return s.awaitIngest()
		}
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := w.(batchWrites).Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("projections: commit: %w", err)
	}
	s.applied, committed = cp, true
	s.publishLocked(cp, records)
	return nil
}

// publishLocked makes cp the checkpoint once records are in the DB, and
// wakes WaitFor. s.mu must be held.
func (s *Store) publishLocked(cp eventlog.Position, records []eventlog.Record) {
	s.cp = cp
	s.principals.invalidateIfPrincipals(records)
	close(s.moved)
	s.moved = make(chan struct{})
}

// ingestRun ingests a bulk run of records, up to cp, and publishes it.
func (s *Store) ingestRun(run *sortedRun, cp eventlog.Position, records []eventlog.Record) error {
	if err := run.ingest(context.Background(), s.db, s.fs, s.fs.PathJoin(s.dir, "rebuild-run.sst"), s.runOpts); err != nil {
		return fmt.Errorf("projections: commit: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishLocked(cp, records)
	return nil
}

// awaitIngest waits for the bulk run being ingested, if any. A failed one
// leaves the overlay and applied ahead of the DB, so both are reset. The
// caller holds applyMu.
func (s *Store) awaitIngest() error {
	if s.ingesting == nil {
		return nil
	}
	err := <-s.ingesting
	s.ingesting = nil
	if err != nil {
		s.bulk = nil
		s.applied = s.Checkpoint()
	}
	return err
}

// Checkpoint is the position of the last applied record.
func (s *Store) Checkpoint() eventlog.Position {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cp
}

// WaitFor blocks until the projections have applied pos (read-your-writes).
func (s *Store) WaitFor(ctx context.Context, pos eventlog.Position) error {
	for {
		s.mu.RLock()
		cp, closed, moved := s.cp, s.closed, s.moved
		s.mu.RUnlock()
		switch {
		case cp >= pos:
			return nil
		case closed:
			return ErrClosed
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// View opens a consistent read snapshot. Close it when done.
func (s *Store) View() *View {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return &View{snap: s.db.NewSnapshot(), cp: s.cp, parsed: &s.parsed, data: &s.data, members: &s.members}
}

// View is a consistent snapshot of every projection. It is safe for
// concurrent use.
type View struct {
	snap    *pebble.Snapshot
	cp      eventlog.Position
	parsed  *parsedCache // the store's; nil for views that keep none
	data    *dataCache   // likewise
	members *memberCache // likewise

	errMu sync.Mutex
	err   error
}

// Close releases the snapshot.
func (v *View) Close() error { return v.snap.Close() }

// Checkpoint is the log position this view reflects.
func (v *View) Checkpoint() eventlog.Position { return v.cp }

// Principal looks up a principal.
func (v *View) Principal(name string) (Principal, bool, error) {
	var p Principal
	found, err := get(v.snap, principalKey(name), func(val []byte) (err error) {
		p, err = decodePrincipal(name, val)
		return err
	})
	return p, found, err
}

// Principals lists every principal in name order.
func (v *View) Principals(fn func(Principal) error) error {
	prefix := []byte{tagPrincipal}
	return v.scan(prefix, func(key, val []byte) error {
		p, err := decodePrincipal(string(key[len(prefix):]), val)
		if err != nil {
			return err
		}
		return fn(p)
	})
}

// Calendar looks up a calendar record, deleted or not.
func (v *View) Calendar(owner, name string) (Calendar, bool, error) {
	var c Calendar
	found, err := get(v.snap, calendarKey(owner, name), func(val []byte) (err error) {
		c, err = decodeCalendar(owner, name, val)
		return err
	})
	return c, found, err
}

// Calendars lists the owner's live calendars in name order.
func (v *View) Calendars(owner string, fn func(Calendar) error) error {
	return v.CalendarsEver(owner, func(c Calendar) error {
		if c.Deleted {
			return nil
		}
		return fn(c)
	})
}

// CalendarsEver lists every calendar the owner ever had, in name order:
// the live ones and those whose last incarnation is deleted.
func (v *View) CalendarsEver(owner string, fn func(Calendar) error) error {
	prefix := ownerPrefix(owner)
	return v.scan(prefix, func(key, val []byte) error {
		c, err := decodeCalendar(owner, string(key[len(prefix):]), val)
		if err != nil {
			return err
		}
		return fn(c)
	})
}

// Object looks up a live object, with its data.
func (v *View) Object(owner, cal, name string) (Object, bool, error) {
	o, found, err := v.ObjectMeta(owner, cal, name)
	if !found || err != nil {
		return o, found, err
	}
	found, err = get(v.snap, memberKey(tagData, owner, cal, name), func(val []byte) error {
		o.Data = string(val)
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("projections: object %s/%s/%s has no data: %w", owner, cal, name, errCorrupt)
	}
	return o, err == nil, err
}

// WithData returns o, a live object of the calendar read without its data,
// with its data.
func (v *View) WithData(owner, cal string, o Object) (Object, error) {
	err := fillData(v.data, &o, func() (string, error) {
		var data string
		found, err := get(v.snap, memberKey(tagData, owner, cal, o.Name), func(val []byte) error {
			data = string(val)
			return nil
		})
		if err == nil && !found {
			err = errCorrupt
		}
		return data, err
	})
	if err != nil {
		err = fmt.Errorf("projections: object %s/%s/%s has no data: %w", owner, cal, o.Name, err)
	}
	return o, err
}

// ObjectMeta looks up a live object without reading its data.
func (v *View) ObjectMeta(owner, cal, name string) (Object, bool, error) {
	var o Object
	found, err := get(v.snap, memberKey(tagObject, owner, cal, name), func(val []byte) (err error) {
		o, err = decodeObjectMeta(name, val)
		return err
	})
	return o, found, err
}

// ObjectByUID looks up a live object by UID, without its data.
func (v *View) ObjectByUID(owner, cal, uid string) (Object, bool, error) {
	var name string
	found, err := get(v.snap, memberKey(tagUID, owner, cal, uid), func(val []byte) error {
		name = string(val)
		return nil
	})
	if !found || err != nil {
		return Object{}, false, err
	}
	return v.ObjectMeta(owner, cal, name)
}

// Objects lists a calendar's live objects in name order, with or without data.
func (v *View) Objects(owner, cal string, withData bool, fn func(Object) error) error {
	prefix := calPrefix(tagObject, owner, cal)
	each := func(key, val []byte) error {
		o, err := decodeObjectMeta(string(key[len(prefix):]), val)
		if err != nil {
			return err
		}
		return fn(o)
	}
	if !withData {
		return v.scan(prefix, each)
	}
	// The data table holds exactly the names of the metadata table, so a
	// second iterator walking it in step reads every body sequentially.
	dataPrefix := calPrefix(tagData, owner, cal)
	data, err := v.snap.NewIter(&pebble.IterOptions{LowerBound: dataPrefix, UpperBound: prefixEnd(dataPrefix)})
	if err != nil {
		return err
	}
	data.First()
	err = v.scan(prefix, func(key, val []byte) error {
		o, err := decodeObjectMeta(string(key[len(prefix):]), val)
		if err != nil {
			return err
		}
		if !data.Valid() || !bytes.Equal(data.Key()[len(dataPrefix):], key[len(prefix):]) {
			return errors.Join(data.Error(), fmt.Errorf("projections: object %s/%s/%s has no data: %w", owner, cal, o.Name, errCorrupt))
		}
		body, err := data.ValueAndErr()
		if err != nil {
			return err
		}
		o.Data = string(body)
		data.Next()
		return fn(o)
	})
	return errors.Join(err, data.Close())
}

// Changes lists, in revision order, every member of the calendar's current
// incarnation changed after revision `after`, each name once with its latest
// change (deleted members as tombstones). Its cost is O(changes since after),
// not O(calendar).
//
// Changes does not judge the token: a caller holding one from before the
// calendar's Incarnation must refuse it (DAV:valid-sync-token), since the
// members of the earlier incarnation are gone without tombstones.
func (v *View) Changes(owner, cal string, after eventlog.Revision, fn func(Change) error) error {
	if after == math.MaxUint64 {
		return nil
	}
	prefix := calPrefix(tagChange, owner, cal)
	return v.scanRange(changeKey(owner, cal, after+1), prefixEnd(prefix), func(key, val []byte) error {
		rev, err := decodeRevision(key[len(prefix):])
		if err != nil {
			return err
		}
		c, err := decodeChange(rev, val)
		if err != nil {
			return err
		}
		return fn(c)
	})
}

func (v *View) scan(prefix []byte, fn func(key, val []byte) error) error {
	return v.scanRange(prefix, prefixEnd(prefix), fn)
}

// scanRange calls fn for each key in [lower, upper); key and val are valid
// only during the call.
func (v *View) scanRange(lower, upper []byte, fn func(key, val []byte) error) error {
	it, err := v.snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		val, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), val)
		}
		if err != nil {
			return errors.Join(err, it.Close())
		}
	}
	return it.Close()
}

// Contents adapts the view to domain.CalendarContents for one calendar.
// A lookup error surfaces there as "not found" and is kept for Err, which the
// caller checks before acting on the decision.
func (v *View) Contents(owner, cal string) domain.CalendarContents {
	return contents{v: v, owner: owner, cal: cal}
}

// Err is the first read error met through Contents.
func (v *View) Err() error {
	v.errMu.Lock()
	defer v.errMu.Unlock()
	return v.err
}

func (v *View) keep(err error) {
	v.errMu.Lock()
	defer v.errMu.Unlock()
	if v.err == nil {
		v.err = err
	}
}

type contents struct {
	v          *View
	owner, cal string
}

func (c contents) Object(name string) (domain.ObjectInfo, bool) {
	return c.answer(c.v.ObjectMeta(c.owner, c.cal, name))
}

func (c contents) ObjectByUID(uid string) (domain.ObjectInfo, bool) {
	return c.answer(c.v.ObjectByUID(c.owner, c.cal, uid))
}

func (c contents) answer(o Object, found bool, err error) (domain.ObjectInfo, bool) {
	if err != nil {
		c.v.keep(err)
		return domain.ObjectInfo{}, false
	}
	return o.Info(), found
}

// pebbleLogger routes Pebble's messages into the server's log. Pebble's
// informational chatter is debug detail for us.
type pebbleLogger struct{ l zerolog.Logger }

func (p pebbleLogger) Infof(format string, args ...any)  { p.l.Debug().Msgf(format, args...) }
func (p pebbleLogger) Errorf(format string, args ...any) { p.l.Error().Msgf(format, args...) }

// Fatalf must not return, even when the logger is disabled: Pebble calls it
// where continuing would corrupt the store.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.WithLevel(zerolog.FatalLevel).Msg(msg)
	panic("pebble: " + msg)
}

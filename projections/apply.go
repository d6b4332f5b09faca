package projections

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// applier turns one unit of Apply's records into one Pebble batch, or one
// sorted run in a bulk store's rebuild (bulk.go). Later records
// must read what earlier ones in the same batch wrote (a rename is a put and
// a delete of the same UID), so the batch's writes to the tables that
// applying reads back are kept in an overlay in front of the DB: cheaper
// than an indexed batch, whose every read builds a merged iterator over the
// batch and the whole LSM.
//
// The projector applies decided facts and does not re-decide them, but it
// does refuse a log that contradicts itself (an object put into a calendar
// that does not exist, a gap in a stream's revisions): projecting such a
// log would silently serve wrong answers, while an error stops the server
// with the offending record named.
type applier struct {
	db *pebble.DB
	w  writes
	ov *overlay
	// Every calendar-stream event rewrites its calendar's record (Revision,
	// Modified). Records are cached for the batch and written once at flush,
	// in first-touch order so that the batch itself is deterministic.
	cals  map[string]*Calendar
	order []string
	// horizon is the index horizon in effect (timerange.go), read once per
	// unit: only a unit's first record can change it.
	horizon      IndexHorizon
	horizonFound bool
	// indexLater leaves the time-range index alone: a rebuild from empty
	// writes it at its end (see Rebuild).
	indexLater bool
}

// readBack marks the tables whose keys applying reads: principals,
// calendars, member states, UIDs and time-index records. Everything else
// (metadata, bodies, the change index, index buckets) is only ever written
// or deleted by key, so it bypasses the overlay.
var readBack = [256]bool{tagPrincipal: true, tagCalendar: true, tagMember: true, tagUID: true, tagTimeIndex: true}

func newApplier(db *pebble.DB, w writes, ov *overlay) (*applier, error) {
	a := &applier{db: db, w: w, ov: ov, cals: map[string]*Calendar{}}
	var err error
	a.horizonFound, err = get(db, horizonKey, func(v []byte) (err error) {
		a.horizon, err = decodeIndexHorizon(v)
		return err
	})
	return a, err
}

func (a *applier) set(key, val []byte) error {
	if readBack[key[0]] {
		a.ov.put(key, val, false)
	}
	return a.w.Set(key, val, nil)
}

func (a *applier) del(key []byte) error {
	switch {
	case !readBack[key[0]]:
	case a.ov.complete:
		a.ov.forget(key)
	default:
		a.ov.put(key, nil, true)
	}
	return a.w.Delete(key, nil)
}

// get is the package's get, reading through the overlay.
func (a *applier) get(key []byte, fn func([]byte) error) (bool, error) {
	if val, deleted, found := a.ov.lookup(key); found {
		if deleted {
			return false, nil
		}
		return true, fn(val)
	}
	if a.ov.complete {
		return false, nil
	}
	for _, c := range a.ov.cleared {
		if bytes.HasPrefix(key[1:], []byte(c)) {
			return false, nil
		}
	}
	return get(a.db, key, fn)
}

// apply applies one decoded record; index is its precomputed time-range
// index when it is an ObjectPut (see decoder).
func (a *applier) apply(r eventlog.Record, ev domain.Event, index *timeIndex) error {
	switch e := ev.(type) {
	case *domain.PrincipalCreated:
		return a.principalCreated(r, e)
	case *domain.PrincipalDisabled:
		return a.principalDisabled(r, e)
	case *domain.IndexHorizonAdvanced:
		return a.advanceHorizon(r, e)
	}

	owner, name, err := calendarOf(r.Stream)
	if err != nil {
		return err
	}
	cal, err := a.calendar(owner, name)
	if err != nil {
		return err
	}
	if e, ok := ev.(*domain.CalendarCreated); ok {
		return a.calendarCreated(r, owner, name, cal, e)
	}
	if cal == nil || cal.Deleted {
		return fmt.Errorf("%s to calendar %s/%s, which does not exist", r.Type, owner, name)
	}
	if r.Revision != cal.Revision+1 {
		return fmt.Errorf("revision %d follows %d in %s", r.Revision, cal.Revision, r.Stream)
	}
	cal.Revision = r.Revision
	cal.Modified = r.Meta.Time
	switch e := ev.(type) {
	case *domain.CalendarPropertiesChanged:
		cal.Props = domain.ChangeProperties(cal.Props, e.Set, e.Remove)
	case *domain.CalendarDeleted:
		cal.Deleted = true
		return a.clearCalendar(owner, name)
	case *domain.ObjectPut:
		if !a.indexLater && a.horizon.Through.After(objectHorizon(r.Meta.Time)) {
			// The decoder did not know the horizon in effect: see timerange.go.
			ti := indexObject(e.Data, a.horizon.Through)
			index = &ti
		}
		return a.putObject(r, owner, name, e, index)
	case *domain.ObjectDeleted:
		return a.deleteObject(r, owner, name, e)
	case *domain.CalendarRestored:
		// A marker for audit: the events after it do the restoring.
	default:
		return fmt.Errorf("event type %s is not projected by this version", r.Type)
	}
	return nil
}

func (a *applier) principalCreated(r eventlog.Record, e *domain.PrincipalCreated) error {
	if err := checkPrincipalStream(r, e.Name); err != nil {
		return err
	}
	key := principalKey(e.Name)
	found, err := a.get(key, func([]byte) error { return nil })
	if err != nil {
		return err
	}
	if found {
		return fmt.Errorf("principal %q created twice", e.Name)
	}
	p := Principal{Name: e.Name, DisplayName: e.DisplayName, Email: e.Email, Created: r.Meta.Time}
	return a.set(key, encodePrincipal(p))
}

func (a *applier) principalDisabled(r eventlog.Record, e *domain.PrincipalDisabled) error {
	if err := checkPrincipalStream(r, e.Name); err != nil {
		return err
	}
	key := principalKey(e.Name)
	var p Principal
	found, err := a.get(key, func(v []byte) (err error) {
		p, err = decodePrincipal(e.Name, v)
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("principal %q disabled but never created", e.Name)
	}
	p.Disabled = true
	return a.set(key, encodePrincipal(p))
}

func checkPrincipalStream(r eventlog.Record, name string) error {
	if r.Stream != domain.PrincipalStream(name) {
		return fmt.Errorf("%s for principal %q in stream %s", r.Type, name, r.Stream)
	}
	return nil
}

// calendarOf parses the owner and name out of a calendar stream. Both must
// be free of 0x00, the key separator.
func calendarOf(stream string) (owner, name string, err error) {
	rest, ok := strings.CutPrefix(stream, "cal:")
	if ok {
		owner, name, ok = strings.Cut(rest, "/")
	}
	if !ok || owner == "" || name == "" || strings.ContainsRune(rest, sep) || domain.CalendarStream(owner, name) != stream {
		return "", "", fmt.Errorf("%q is not a calendar stream", stream)
	}
	return owner, name, nil
}

// calendar returns the batch's copy of a calendar record, nil if none.
func (a *applier) calendar(owner, name string) (*Calendar, error) {
	key := string(calendarKey(owner, name))
	if c, ok := a.cals[key]; ok {
		return c, nil
	}
	var c *Calendar
	_, err := a.get([]byte(key), func(v []byte) error {
		dc, err := decodeCalendar(owner, name, v)
		c = &dc
		return err
	})
	if err != nil || c == nil {
		return nil, err
	}
	a.remember(key, c)
	return c, nil
}

func (a *applier) remember(key string, c *Calendar) {
	if _, ok := a.cals[key]; !ok {
		a.order = append(a.order, key)
	}
	a.cals[key] = c
}

func (a *applier) calendarCreated(r eventlog.Record, owner, name string, prev *Calendar, e *domain.CalendarCreated) error {
	if e.Owner != owner || e.Name != name {
		return fmt.Errorf("CalendarCreated for %s/%s in stream %s", e.Owner, e.Name, r.Stream)
	}
	var want eventlog.Revision
	if prev != nil {
		if !prev.Deleted {
			return fmt.Errorf("calendar %s/%s created while it exists", owner, name)
		}
		want = prev.Revision + 1
	}
	if r.Revision != want {
		return fmt.Errorf("revision %d of %s, want %d", r.Revision, r.Stream, want)
	}
	a.remember(string(calendarKey(owner, name)), &Calendar{
		Owner: owner, Name: name, Stream: r.Stream,
		Revision: r.Revision, Incarnation: r.Revision,
		Components: e.Components, Props: domain.ChangeProperties(nil, e.Props, nil),
		Created: r.Meta.Time, Modified: r.Meta.Time,
	})
	return nil
}

// clearCalendar uses range deletions: one batch entry each, however large
// the calendar.
func (a *applier) clearCalendar(owner, name string) error {
	member := calendarMember(owner, name)
	a.ov.forgetCalendar(member)
	if !a.ov.complete {
		a.ov.cleared = append(a.ov.cleared, member)
	}
	for _, t := range calendarTables {
		prefix := calPrefix(t, owner, name)
		if err := a.w.DeleteRange(prefix, prefixEnd(prefix), nil); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) putObject(r eventlog.Record, owner, cal string, e *domain.ObjectPut, ti *timeIndex) error {
	stateKey, prev, found, err := a.member(owner, cal, e.Name)
	if err != nil {
		return err
	}
	if found && !prev.deleted && prev.uid != e.UID {
		if err := a.dropUID(owner, cal, prev.uid, e.Name); err != nil {
			return err
		}
	}
	meta := Object{UID: e.UID, Component: e.Component, ETag: e.ETag, Size: len(e.Data),
		Modified: r.Meta.Time, Revision: r.Revision}
	if err := a.set(memberKey(tagObject, owner, cal, e.Name), encodeObjectMeta(meta)); err != nil {
		return err
	}
	// Bodies are never read back while applying, so they bypass the overlay
	// and go straight from the event to the writes.
	if err := a.w.SetString(memberKey(tagData, owner, cal, e.Name), e.Data); err != nil {
		return err
	}
	if err := a.set(memberKey(tagUID, owner, cal, e.UID), []byte(e.Name)); err != nil {
		return err
	}
	if err := a.writeTimeIndex(owner, cal, e.Name, ti); err != nil {
		return err
	}
	return a.recordChange(owner, cal, e.Name, stateKey, prev, found, memberState{rev: r.Revision, uid: e.UID})
}

func (a *applier) deleteObject(r eventlog.Record, owner, cal string, e *domain.ObjectDeleted) error {
	stateKey, prev, found, err := a.member(owner, cal, e.Name)
	if err != nil {
		return err
	}
	if !found || prev.deleted {
		return fmt.Errorf("%s deletes %q, which does not exist", r.Stream, e.Name)
	}
	if err := a.del(memberKey(tagObject, owner, cal, e.Name)); err != nil {
		return err
	}
	if err := a.del(memberKey(tagData, owner, cal, e.Name)); err != nil {
		return err
	}
	if err := a.dropUID(owner, cal, prev.uid, e.Name); err != nil {
		return err
	}
	if err := a.writeTimeIndex(owner, cal, e.Name, nil); err != nil {
		return err
	}
	return a.recordChange(owner, cal, e.Name, stateKey, prev, found, memberState{rev: r.Revision, deleted: true})
}

// member reads a name's state: one lookup answers whether it is live, which
// UID it holds and where its change-index entry is.
func (a *applier) member(owner, cal, name string) (key []byte, st memberState, found bool, err error) {
	key = memberKey(tagMember, owner, cal, name)
	found, err = a.get(key, func(v []byte) (err error) {
		st, err = decodeMemberState(v)
		return err
	})
	return key, st, found, err
}

// dropUID removes uid from the index unless another name took it over
// earlier in the batch: a rename puts the new name before deleting the old.
func (a *applier) dropUID(owner, cal, uid, name string) error {
	key := memberKey(tagUID, owner, cal, uid)
	var holds bool
	if _, err := a.get(key, func(v []byte) error { holds = string(v) == name; return nil }); err != nil || !holds {
		return err
	}
	return a.del(key)
}

// recordChange makes st the name's state and its change the name's only
// entry in the change index.
func (a *applier) recordChange(owner, cal, name string, stateKey []byte, prev memberState, found bool, st memberState) error {
	if found {
		if err := a.del(changeKey(owner, cal, prev.rev)); err != nil {
			return err
		}
	}
	if err := a.set(changeKey(owner, cal, st.rev), encodeChange(name, st.deleted)); err != nil {
		return err
	}
	return a.set(stateKey, encodeMemberState(st))
}

// flush writes the cached calendar records and the checkpoint.
func (a *applier) flush(cp eventlog.Position) error {
	for _, key := range a.order {
		if err := a.set([]byte(key), encodeCalendar(*a.cals[key])); err != nil {
			return err
		}
	}
	return a.set(checkpointKey, encodePosition(cp))
}

// decoder decodes records on every core while the applier consumes them in
// order: JSON decoding costs about as much as applying, and each record
// decodes independently. Workers claim chunks in log order, so the chunk the
// applier needs next is always the first to be worked on.
type decoder struct {
	records []eventlog.Record
	events  []domain.Event
	// indexes holds each ObjectPut's time-range index: a pure function of
	// the event (up to its own horizon, which the applier corrects where the
	// horizon in effect is later), and the costliest part of applying one (it
	// parses and expands the object), so the workers compute it beside the
	// decoding instead of the applier doing it serially.
	indexes []*timeIndex
	// index is false when no time-range index is wanted (RebuildIndex
	// indexes an object only once it knows the version that lasts).
	index   bool
	errs    []error
	ready   []chan struct{} // closed when its chunk is decoded
	next    atomic.Int64    // the next chunk to claim
	stopped atomic.Bool
	wg      sync.WaitGroup
}

// decodeChunk is small enough that the applier starts almost at once, large
// enough that claiming a chunk costs nothing next to decoding it.
const decodeChunk = 64

func decode(records []eventlog.Record, index bool) *decoder {
	chunks := (len(records) + decodeChunk - 1) / decodeChunk
	d := &decoder{
		records: records,
		index:   index,
		events:  make([]domain.Event, len(records)),
		indexes: make([]*timeIndex, len(records)),
		errs:    make([]error, len(records)),
		ready:   make([]chan struct{}, chunks),
	}
	for c := range d.ready {
		d.ready[c] = make(chan struct{})
	}
	for range min(runtime.GOMAXPROCS(0), chunks) {
		d.wg.Go(d.work)
	}
	return d
}

func (d *decoder) work() {
	for !d.stopped.Load() {
		c := int(d.next.Add(1) - 1)
		if c >= len(d.ready) {
			return
		}
		for i := c * decodeChunk; i < min((c+1)*decodeChunk, len(d.records)); i++ {
			r := d.records[i]
			d.events[i], d.errs[i] = domain.Decode(r.Type, r.SchemaVersion, r.Data)
			if put, ok := d.events[i].(*domain.ObjectPut); ok && d.index {
				ti := indexObject(put.Data, objectHorizon(r.Meta.Time))
				d.indexes[i] = &ti
			}
		}
		close(d.ready[c])
	}
}

// event waits for record i to be decoded.
func (d *decoder) event(i int) (domain.Event, *timeIndex, error) {
	<-d.ready[i/decodeChunk]
	return d.events[i], d.indexes[i], d.errs[i]
}

// stop abandons what is not decoded yet and waits for the workers.
func (d *decoder) stop() {
	d.stopped.Store(true)
	d.wg.Wait()
}

// reader is what batches, snapshots and the DB share.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

// get calls fn with key's value, valid only during the call, and reports
// whether the key exists.
func get(r reader, key []byte, fn func([]byte) error) (bool, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = fn(v)
	closer.Close()
	return true, err
}

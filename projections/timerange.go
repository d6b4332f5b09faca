package projections

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	ical "github.com/emersion/go-ical"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// The time-range index answers "which objects may have an instance in
// [start, end)?" by reading O(answer) keys rather than the calendar. It is
// a superset, never exact: callers re-check every candidate with
// domain.MatchObject, so the index may err towards including an object but
// never leave one out.
//
// Each object's instances are expanded once, when it is put, and reduced to
// the time buckets they touch. Buckets come in levels of growing width
// (1 day, 8 days, 64 days, … 8^5 days); an object uses the finest level at
// which it touches at most maxBuckets of them, so a single meeting writes
// one or two keys and a daily series over years a few dozen, and a query
// for [S, E) reads, at each level, the buckets from S's to E's:
//
//	't' owner 0x00 cal 0x00 level (1 byte) bucket (8 bytes, biased BE) name
//	    → 1 byte (1 = exact busy periods follow) + the object's busy
//	      periods that intersect the bucket (see freebusy.go)
//	'e' owner 0x00 cal 0x00 name → from (8 bytes, biased BE): instances at
//	    or after from are not in 't' and are evaluated on the fly; then,
//	    for an object cut at a horizon rather than evaluated for every
//	    query, that horizon (8 bytes, biased BE Unix seconds)
//	'i' owner 0x00 cal 0x00 name → what the object wrote to 't' and 'e',
//	    so that replacing or deleting it removes exactly that
//	'h' → the horizon in effect (see below): the last revision of
//	    domain.IndexHorizonStream (uvarint) and the latest Through
//
// Nothing here may depend on the wall clock, yet unbounded recurrences
// cannot be expanded for ever. The horizon is therefore taken from the log,
// in two ways. An object's instances are indexed up to
// domain.IndexHorizonYears after the time of the record that put it. And the
// server appends a domain.IndexHorizonAdvanced about monthly, whose Through
// (now plus those years) becomes the horizon in effect: applying it
// re-indexes up to Through every object whose 'e' entry holds an earlier
// horizon, and a later put is indexed up to the later of its own horizon
// and the one in effect. Everything after an object's horizon is its 'e'
// entry's business: a query past it evaluates the object on the fly,
// correct but slower, which with a running server only queries more than
// some two years ahead meet. Bounded objects (no RRULE, or only COUNT/UNTIL
// rules) within maxIndexInstances have no horizon.
//
// Re-indexing reads the 'e' and 'd' tables, which the applier writes
// without reading back (they are not in the overlay), so an
// IndexHorizonAdvanced is applied as the first record of a unit of its own
// (see Store.applyDecoded): what came before it is committed, or ingested,
// and the DB shows it. Its own writes go through the applier like any
// other, so a rebuild's complete overlay stays complete. The decoder
// indexes puts ahead of applying and cannot know the horizon an earlier
// record of the batch advanced; the applier re-indexes a put itself in the
// rare case that the horizon in effect is past the put's own (its time
// was behind the server's that advanced it). Every object's index is thus
// a function of the log up to its record, whatever the batches.
//
// Floating times and DATE values are read in the query's timezone, which
// the projector cannot know. Such objects are expanded in UTC and every
// span widened by floatingSlack, more than any UTC offset (±16 h, LMT
// included) plus any change of offset within an instance. An object that
// mixes floating and fixed values in what identifies its instances (DTSTART,
// RECURRENCE-ID, RDATE, EXDATE) can have a different set of instances in
// each zone, so it is evaluated on the fly for every query ('e' from the
// beginning of time), as are objects that fail to parse or expand, those
// holding components other than VEVENT, VTODO and VJOURNAL, and VTODOs
// without DTSTART or DUE, which RFC 4791 §9.9 places by CREATED and
// COMPLETED or in every range.
const (
	bucketLevels      = 6
	baseBucket        = 24 * 60 * 60 // seconds; each level is 8 times wider
	maxBuckets        = 64
	maxIndexInstances = 5000
	floatingSlack     = 48 * time.Hour
)

// objectHorizon is the horizon of an object put at time at, before the
// horizon in effect is taken into account.
func objectHorizon(at time.Time) time.Time {
	return at.UTC().AddDate(domain.IndexHorizonYears, 0, 0)
}

// always is the 'e' value of an object evaluated for every query.
const always = math.MinInt64

func bucketWidth(level int) int64 {
	return baseBucket << (3 * level)
}

// floorDiv rounds towards minus infinity, so that instants before 1970 fall
// in the bucket that contains them.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// biased maps int64 order onto byte order.
func biased(v int64) uint64 { return uint64(v) ^ 1<<63 }

func unbiased(v uint64) int64 { return int64(v ^ 1<<63) }

func timeKey(owner, cal string, level int, bucket int64, name string) []byte {
	k := append(calPrefix(tagTime, owner, cal), byte(level))
	k = binary.BigEndian.AppendUint64(k, biased(bucket))
	return append(k, name...)
}

// timeIndex is what one object contributes to the index.
type timeIndex struct {
	level   int
	buckets []int64 // ascending
	from    int64   // the 'e' entry; math.MaxInt64 when there is none
	// horizon is where the expansion was cut (Unix seconds), when from is
	// neither never nor always.
	horizon int64
	// exact reports that periods are the object's busy time before from
	// whatever the query's timezone: no floating values.
	exact   bool
	periods []domain.BusyPeriod
}

const never = math.MaxInt64

// indexObject expands data into its index entry, unbounded recurrences up
// to horizon.
func indexObject(data string, horizon time.Time) timeIndex {
	obj, err := domain.ParseTiming([]byte(data))
	if err != nil {
		return timeIndex{from: always}
	}
	for _, c := range obj.Components {
		switch c.Name {
		case ical.CompEvent, ical.CompToDo, ical.CompJournal:
		default:
			return timeIndex{from: always}
		}
	}
	floating, mixed := zoneDependence(obj)
	if mixed {
		return timeIndex{from: always}
	}
	var slack time.Duration
	if floating {
		slack = floatingSlack
	}
	lim := domain.ExpandLimits{MaxInstances: maxIndexInstances}
	var tr domain.TimeRange
	ti := timeIndex{from: never, exact: !floating}
	cut := func() {
		tr.End, ti.from, ti.horizon = horizon, horizon.Add(-slack).Unix(), horizon.Unix()
	}
	if unbounded(obj) {
		cut()
	}
	ins, err := obj.Instances(tr, time.UTC, lim)
	if err != nil && tr.End.IsZero() {
		// Bounded, but with more instances than we index: stop at the horizon.
		cut()
		ins, err = obj.Instances(tr, time.UTC, lim)
	}
	if err != nil {
		return timeIndex{from: always}
	}
	spans := make([][2]int64, len(ins))
	for i, in := range ins {
		if in.Start.IsZero() {
			return timeIndex{from: always}
		}
		s, e := in.Start, in.End
		if e.Before(s) {
			s, e = e, s
		}
		spans[i] = [2]int64{s.Add(-slack).Unix(), e.Add(slack).Unix()}
	}
	if ti.exact {
		ti.periods = domain.BusyOfInstances(ins, tr)
		for _, p := range ti.periods {
			err = errors.Join(err, knownBusyType(p.Type))
		}
		if err != nil {
			ti.exact, ti.periods = false, nil
		}
	}
	ti.level, ti.buckets = chooseBuckets(spans)
	return ti
}

// chooseBuckets picks the finest level at which spans (sorted by start,
// inclusive at both ends) touch at most maxBuckets buckets; the widest
// level takes any number.
func chooseBuckets(spans [][2]int64) (int, []int64) {
	if len(spans) == 0 {
		return 0, nil
	}
	for level := 0; ; level++ {
		w := bucketWidth(level)
		var out []int64
		last := int64(math.MinInt64)
		for _, sp := range spans {
			b0, b1 := floorDiv(sp[0], w), floorDiv(sp[1], w)
			for b := max(b0, last+1); b <= b1; b++ {
				out = append(out, b)
				if len(out) > maxBuckets && level < bucketLevels-1 {
					break
				}
			}
			last = max(last, b1)
			if len(out) > maxBuckets && level < bucketLevels-1 {
				break
			}
		}
		if len(out) <= maxBuckets || level == bucketLevels-1 {
			return level, out
		}
	}
}

// unbounded reports an RRULE with neither COUNT nor UNTIL.
func unbounded(obj *domain.Object) bool {
	for _, c := range obj.Components {
		for _, p := range c.Props.Values(ical.PropRecurrenceRule) {
			v := strings.ToUpper(p.Value)
			if !strings.Contains(v, "COUNT=") && !strings.Contains(v, "UNTIL=") {
				return true
			}
		}
	}
	return false
}

// Properties whose values place instances in time, and the subset of them
// that decides which instances exist (and so must agree on their kind).
var (
	timeProps = []string{ical.PropDateTimeStart, ical.PropRecurrenceID, ical.PropRecurrenceDates,
		ical.PropExceptionDates, ical.PropDateTimeEnd, ical.PropDue}
	identityProps = 4 // the first four of timeProps
)

// zoneDependence reports whether any of obj's times is read in the query's
// timezone (a floating DATE-TIME, a DATE, a TZID nothing defines), and
// whether such values are mixed with fixed ones among those that identify
// instances.
func zoneDependence(obj *domain.Object) (floating, mixed bool) {
	var vtz []*ical.Component
	for _, c := range obj.Calendar.Children {
		if c.Name == ical.CompTimezone {
			vtz = append(vtz, c)
		}
	}
	var idFloating, idFixed bool
	for _, c := range obj.Components {
		for i, name := range timeProps {
			for _, p := range c.Props.Values(name) {
				tzid := p.Params.Get(ical.PropTimezoneID)
				known := tzid != "" && resolves(tzid, vtz)
				for _, v := range strings.FieldsFunc(p.Value, func(r rune) bool { return r == ',' || r == '/' }) {
					v = strings.TrimSpace(v)
					if v == "" || strings.ContainsAny(v[:1], "Pp+-") {
						continue // the duration half of a PERIOD
					}
					f := !strings.HasSuffix(strings.ToUpper(v), "Z") && (len(v) == 8 || !known)
					floating = floating || f
					if i < identityProps {
						idFloating, idFixed = idFloating || f, idFixed || !f
					}
				}
			}
		}
	}
	return floating, idFloating && idFixed
}

func resolves(tzid string, vtz []*ical.Component) bool {
	_, err := domain.ResolveTZID(tzid, vtz)
	return err == nil
}

// writeTimeIndex replaces what name contributed to the index with ti; a nil
// ti removes it. The time keys are never read while applying, so they go
// straight into the batch; the 'i' record that lists them goes through the
// overlay, since a later record of the batch may replace the object again.
func (a *applier) writeTimeIndex(owner, cal, name string, ti *timeIndex) error {
	if a.indexLater {
		return nil
	}
	recKey := memberKey(tagTimeIndex, owner, cal, name)
	var prev []byte
	if _, err := a.get(recKey, func(v []byte) error { prev = slices.Clone(v); return nil }); err != nil {
		return err
	}
	if prev != nil {
		level, hasFrom, buckets, err := decodeTimeIndexRecord(prev)
		if err != nil {
			return err
		}
		for _, b := range buckets {
			if err := a.w.Delete(timeKey(owner, cal, level, b, name), nil); err != nil {
				return err
			}
		}
		if hasFrom {
			if err := a.w.Delete(memberKey(tagOpenEnded, owner, cal, name), nil); err != nil {
				return err
			}
		}
	}
	if ti == nil {
		if prev == nil {
			return nil
		}
		return a.del(recKey)
	}
	err := eachTimeKey(owner, cal, name, ti, func(key, val []byte) error { return a.w.Set(key, val, nil) })
	if err != nil {
		return err
	}
	if val := openEndedValue(ti); val != nil {
		if err := a.w.Set(memberKey(tagOpenEnded, owner, cal, name), val, nil); err != nil {
			return err
		}
	}
	return a.set(recKey, encodeTimeIndexRecord(ti))
}

// eachTimeKey calls fn with each 't' key of name's index entry ti, in key
// order, and its value.
func eachTimeKey(owner, cal, name string, ti *timeIndex, fn func(key, val []byte) error) error {
	for _, b := range ti.buckets {
		if err := fn(timeKey(owner, cal, ti.level, b, name), bucketValue(ti, b)); err != nil {
			return err
		}
	}
	return nil
}

// bucketValue is the 't' value of ti's bucket b.
func bucketValue(ti *timeIndex, b int64) []byte {
	w := bucketWidth(ti.level)
	return encodeBucketPeriods(ti, b*w, (b+1)*w)
}

// openEndedValue is ti's 'e' value, nil when it has none.
func openEndedValue(ti *timeIndex) []byte {
	if ti.from == never {
		return nil
	}
	val := binary.BigEndian.AppendUint64(nil, biased(ti.from))
	if ti.from != always {
		val = binary.BigEndian.AppendUint64(val, biased(ti.horizon))
	}
	return val
}

// decodeOpenEnded reads an 'e' value: from, and the horizon if the object
// was cut at one (cut false: it is evaluated for every query).
func decodeOpenEnded(val []byte) (from, horizon int64, cut bool, err error) {
	switch len(val) {
	case 16:
		horizon, cut = unbiased(binary.BigEndian.Uint64(val[8:])), true
	case 8:
	default:
		return 0, 0, false, errCorrupt
	}
	return unbiased(binary.BigEndian.Uint64(val)), horizon, cut, nil
}

// advanceHorizon applies an IndexHorizonAdvanced: it re-indexes up to
// Through every object cut at an earlier horizon, and makes Through the
// horizon in effect for the puts that follow. It reads the 'e' and 'd'
// tables from the DB, so it must be the first record of its unit (see
// Store.applyDecoded). A Through at or before the horizon in effect (two
// nodes, two clocks) changes nothing but the stream's revision.
func (a *applier) advanceHorizon(r eventlog.Record, e *domain.IndexHorizonAdvanced) error {
	if r.Stream != domain.IndexHorizonStream {
		return fmt.Errorf("%s in stream %s", r.Type, r.Stream)
	}
	var want eventlog.Revision
	if a.horizonFound {
		want = a.horizon.Revision + 1
	}
	if r.Revision != want {
		return fmt.Errorf("revision %d of %s, want %d", r.Revision, r.Stream, want)
	}
	a.horizon.Revision, a.horizonFound = r.Revision, true
	// The index keeps horizons in whole seconds.
	if through := time.Unix(e.Through.Unix(), 0).UTC(); through.After(a.horizon.Through) {
		if !a.indexLater {
			if err := a.reindexOpenEnded(through); err != nil {
				return err
			}
		}
		a.horizon.Through = through
	}
	return a.set(horizonKey, encodeIndexHorizon(a.horizon))
}

// reindexOpenEnded indexes up to through every object whose 'e' entry holds
// an earlier horizon, in key order.
func (a *applier) reindexOpenEnded(through time.Time) error {
	prefix := []byte{tagOpenEnded}
	it, err := a.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok && err == nil; ok = it.Next() {
		err = a.reindexIfBehind(it, through)
	}
	return errors.Join(err, it.Close())
}

func (a *applier) reindexIfBehind(it *pebble.Iterator, through time.Time) error {
	val, err := it.ValueAndErr()
	if err != nil {
		return err
	}
	_, horizon, cut, err := decodeOpenEnded(val)
	if err != nil || !cut || horizon >= through.Unix() {
		return err
	}
	owner, rest, ok1 := strings.Cut(string(it.Key()[1:]), string(rune(sep)))
	cal, name, ok2 := strings.Cut(rest, string(rune(sep)))
	if !ok1 || !ok2 {
		return errCorrupt
	}
	var data string
	found, err := get(a.db, memberKey(tagData, owner, cal, name), func(v []byte) error {
		data = string(v)
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("the index names %s/%s/%s, which has no data: %w", owner, cal, name, errCorrupt)
	}
	if err != nil {
		return err
	}
	ti := indexObject(data, through)
	return a.writeTimeIndex(owner, cal, name, &ti)
}

func encodeTimeIndexRecord(ti *timeIndex) []byte {
	e := enc{byte(ti.level)}.bool(ti.from != never).uvarint(uint64(len(ti.buckets)))
	prev := int64(0)
	for _, b := range ti.buckets {
		e = binary.AppendVarint(e, b-prev)
		prev = b
	}
	return e
}

func decodeTimeIndexRecord(v []byte) (level int, hasFrom bool, buckets []int64, err error) {
	if len(v) == 0 {
		return 0, false, nil, errCorrupt
	}
	d := dec{b: v[1:]}
	hasFrom = d.bool()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return 0, false, nil, errCorrupt
	}
	prev := int64(0)
	for range n {
		delta, k := binary.Varint(d.b)
		if k <= 0 {
			return 0, false, nil, errCorrupt
		}
		d.b = d.b[k:]
		prev += delta
		buckets = append(buckets, prev)
	}
	return int(v[0]), hasFrom, buckets, d.done()
}

// IndexHorizon is the horizon the log last advanced the index to; found is
// false while it never did.
func (v *View) IndexHorizon() (h IndexHorizon, found bool, err error) {
	found, err = get(v.snap, horizonKey, func(val []byte) (err error) {
		h, err = decodeIndexHorizon(val)
		return err
	})
	return h, found, err
}

// Candidate is an object ObjectsOverlapping offers, with what the index
// alone knows of it.
type Candidate struct {
	Object
	// EventInRange reports that the index proves a VEVENT instance of the
	// object overlaps the range in any query timezone: one of the exact
	// busy periods stored with it does (freebusy.go), and busy time is only
	// ever taken from VEVENT instances. A filter that asks nothing else
	// then needs no evaluation, and the object no parse. False proves
	// nothing: transparent, cancelled, zero-length and floating instances
	// have no exact busy period, so the caller must evaluate the object.
	EventInRange bool
}

// ObjectsOverlapping calls fn, in name order, for every live object of the
// calendar that may have an instance overlapping tr (RFC 4791 §9.9, in any
// query timezone), each once: a superset of the matches, which the caller
// must check unless the candidate's EventInRange answers its question. Its
// cost is O(candidates + objects indexed as open-ended), not O(calendar).
func (v *View) ObjectsOverlapping(owner, cal string, tr domain.TimeRange, withData bool, fn func(Candidate) error) error {
	var cands []candidate
	err := v.timeCandidates(owner, cal, tr, func(name []byte, bucketVal []byte) error {
		c := candidate{name: string(name)}
		if bucketVal != nil {
			var err error
			if c.proven, err = bucketOverlaps(bucketVal, tr); err != nil {
				return err
			}
		}
		cands = append(cands, c)
		return nil
	})
	if err != nil {
		return err
	}
	// Name order, each name once, proven if any of its entries proves it.
	slices.SortFunc(cands, func(a, b candidate) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return boolOrder(b.proven) - boolOrder(a.proven)
	})
	cands = slices.CompactFunc(cands, func(a, b candidate) bool { return a.name == b.name })
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = c.name
	}
	cached, err := v.cachedMeta(owner, cal, names)
	if err != nil {
		return err
	}
	r, err := v.newObjectReader(owner, cal, withData)
	if err != nil {
		return err
	}
	for i, c := range cands {
		var o Object
		if cached != nil && cached[i].Name != "" {
			o, err = r.withData(cached[i])
		} else {
			o, err = r.read(c.name)
		}
		if err == nil {
			err = fn(Candidate{Object: o, EventInRange: c.proven})
		}
		if err != nil {
			return errors.Join(err, r.close())
		}
	}
	return r.close()
}

type candidate struct {
	name   string
	proven bool
}

func boolOrder(b bool) int {
	if b {
		return 1
	}
	return 0
}

// objectReader reads objects of one calendar in ascending name order, with
// one iterator per table rather than one built for every Get; its seeks
// only go forward, so Pebble turns those to near keys into nexts.
type objectReader struct {
	meta, data             *pebble.Iterator // data is nil without data
	metaPrefix, dataPrefix []byte
	owner, cal             string
	cache                  *dataCache
}

func (v *View) newObjectReader(owner, cal string, withData bool) (*objectReader, error) {
	r := &objectReader{metaPrefix: calPrefix(tagObject, owner, cal), owner: owner, cal: cal, cache: v.data}
	var err error
	if r.meta, err = v.snap.NewIter(&pebble.IterOptions{LowerBound: r.metaPrefix, UpperBound: prefixEnd(r.metaPrefix)}); err != nil {
		return nil, err
	}
	if withData {
		r.dataPrefix = calPrefix(tagData, owner, cal)
		if r.data, err = v.snap.NewIter(&pebble.IterOptions{LowerBound: r.dataPrefix, UpperBound: prefixEnd(r.dataPrefix)}); err != nil {
			return nil, errors.Join(err, r.meta.Close())
		}
	}
	return r, nil
}

// read returns the live object name, which must exist: every caller got
// the name from an index that only names live objects.
func (r *objectReader) read(name string) (Object, error) {
	val, err := seekExact(r.meta, r.metaPrefix, name)
	if err != nil {
		return Object{}, err
	}
	o, err := decodeObjectMeta(name, val)
	if err != nil {
		return o, err
	}
	return r.withData(o)
}

// withData adds o's data if the reader reads data.
func (r *objectReader) withData(o Object) (Object, error) {
	if r.data == nil {
		return o, nil
	}
	err := fillData(r.cache, &o, func() (string, error) {
		val, err := seekExact(r.data, r.dataPrefix, o.Name)
		return string(val), err
	})
	if err != nil {
		err = fmt.Errorf("projections: object %s/%s/%s has no data: %w", r.owner, r.cal, o.Name, err)
	}
	return o, err
}

// seekExact positions it at prefix+name and returns the value, valid until
// it moves; errCorrupt when there is no such key.
func seekExact(it *pebble.Iterator, prefix []byte, name string) ([]byte, error) {
	key := append(slices.Clip(prefix), name...)
	if !it.SeekGE(key) || !bytes.Equal(it.Key(), key) {
		return nil, errors.Join(it.Error(), errCorrupt)
	}
	return it.ValueAndErr()
}

func (r *objectReader) close() error {
	err := r.meta.Close()
	if r.data != nil {
		err = errors.Join(err, r.data.Close())
	}
	return err
}

// timeCandidates calls fn with each object whose 'e' entry reaches tr (with
// a nil value) and with each 't' key in tr's buckets (with its value). An
// object may come more than once. Name and value are valid only during the
// call.
func (v *View) timeCandidates(owner, cal string, tr domain.TimeRange, fn func(name, bucketVal []byte) error) error {
	end := int64(math.MaxInt64)
	if !tr.End.IsZero() {
		end = tr.End.Unix()
	}
	openPrefix := calPrefix(tagOpenEnded, owner, cal)
	err := v.scan(openPrefix, func(key, val []byte) error {
		from, _, _, err := decodeOpenEnded(val)
		if err == nil && from <= end {
			err = fn(key[len(openPrefix):], nil)
		}
		return err
	})
	if err != nil {
		return err
	}
	prefix := calPrefix(tagTime, owner, cal)
	it, err := v.snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	nameAt := len(prefix) + 9
	for level := range bucketLevels {
		w := bucketWidth(level)
		levelKey := append(slices.Clip(prefix), byte(level))
		lower, upper := levelKey, prefixEnd(levelKey)
		if !tr.Start.IsZero() {
			lower = binary.BigEndian.AppendUint64(slices.Clip(levelKey), biased(floorDiv(tr.Start.Unix(), w)))
		}
		if end != math.MaxInt64 {
			upper = binary.BigEndian.AppendUint64(slices.Clip(levelKey), biased(floorDiv(end, w)+1))
		}
		for ok := it.SeekGE(lower); ok && bytes.Compare(it.Key(), upper) < 0; ok = it.Next() {
			if len(it.Key()) < nameAt {
				err = errCorrupt
			} else {
				var val []byte
				if val, err = it.ValueAndErr(); err == nil {
					err = fn(it.Key()[nameAt:], val)
				}
			}
			if err != nil {
				it.Close()
				return err
			}
		}
	}
	return it.Close()
}

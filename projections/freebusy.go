package projections

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/kalends/kalends/domain"
)

// The free-busy index is the time-range index's values: each 't' key of an
// object whose busy time does not depend on the query's timezone carries the
// object's busy periods (domain.BusyPeriods, computed when it was put) that
// intersect the key's bucket,
//
//	1 (exact) then, per period: start (varint Unix seconds),
//	length (uvarint seconds), type (1 byte, an index into busyTypes)
//
// and a 0 byte otherwise. A free-busy query over a month therefore decodes
// the periods in the month's buckets and parses only the objects the index
// cannot answer for: floating ones, open-ended ones whose horizon the range
// reaches, and those evaluated on the fly. A period in several buckets is
// read several times; merging removes the repeats.

var busyTypes = []string{domain.FBBusy, domain.FBBusyTentative, domain.FBBusyUnavailable}

// encodeBucketPeriods encodes the 't' value for the bucket [lo, hi) (Unix
// seconds).
func encodeBucketPeriods(ti *timeIndex, lo, hi int64) []byte {
	if !ti.exact {
		return []byte{0}
	}
	e := []byte{1}
	for _, p := range ti.periods {
		s, t := p.Start.Unix(), p.End.Unix()
		if s >= hi || t <= lo {
			continue
		}
		e = binary.AppendVarint(e, s)
		e = binary.AppendUvarint(e, uint64(t-s))
		e = append(e, byte(busyTypeIndex(p.Type)))
	}
	return e
}

// busyTypeIndex places typ in busyTypes, -1 if absent.
func busyTypeIndex(typ string) int {
	for i, t := range busyTypes {
		if t == typ {
			return i
		}
	}
	return -1
}

func knownBusyType(typ string) error {
	if busyTypeIndex(typ) < 0 {
		return errors.New("projections: busy type " + typ + " has no code")
	}
	return nil
}

// eachBucketPeriod calls fn with each period of a 't' value (Unix seconds,
// the type as an index into busyTypes); exact is false when the value
// holds none because the object must be evaluated instead.
func eachBucketPeriod(v []byte, fn func(start, end int64, typ byte)) (exact bool, err error) {
	if len(v) == 0 {
		return false, errCorrupt
	}
	if v[0] == 0 {
		return false, nil
	}
	v = v[1:]
	for len(v) > 0 {
		s, n := binary.Varint(v)
		if n <= 0 {
			return false, errCorrupt
		}
		length, m := binary.Uvarint(v[n:])
		if m <= 0 || len(v) < n+m+1 || int(v[n+m]) >= len(busyTypes) {
			return false, errCorrupt
		}
		fn(s, s+int64(length), v[n+m])
		v = v[n+m+1:]
	}
	return true, nil
}

// decodeBucketPeriods appends the value's periods, clipped to tr, to out;
// exact is false when the object must be evaluated instead.
func decodeBucketPeriods(v []byte, tr domain.TimeRange, out []domain.BusyPeriod) (_ []domain.BusyPeriod, exact bool, err error) {
	exact, err = eachBucketPeriod(v, func(s, e int64, typ byte) {
		p := domain.BusyPeriod{Start: time.Unix(s, 0).UTC(), End: time.Unix(e, 0).UTC(), Type: busyTypes[typ]}
		if p.Start.Before(tr.Start) {
			p.Start = tr.Start
		}
		if p.End.After(tr.End) {
			p.End = tr.End
		}
		if p.End.After(p.Start) {
			out = append(out, p)
		}
	})
	return out, exact, err
}

// bucketOverlaps reports whether one of a 't' value's busy periods overlaps
// tr (either bound of which may be open). Periods are never empty, so this
// is RFC 4791 §9.9's test of the VEVENT instance the period was taken from.
func bucketOverlaps(v []byte, tr domain.TimeRange) (bool, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !tr.Start.IsZero() {
		lo = tr.Start.Unix()
	}
	if !tr.End.IsZero() {
		hi = tr.End.Unix()
	}
	found := false
	_, err := eachBucketPeriod(v, func(s, e int64, _ byte) {
		found = found || s < hi && e > lo
	})
	return found, err
}

// FreeBusy is the merged busy time of the calendar's objects over tr (both
// bounds set), as domain.BusyPeriods defines it for each VEVENT and
// VFREEBUSY object; floating times are read in floating. It reads the
// index's periods for tr and parses only the objects the index cannot
// answer for.
func (v *View) FreeBusy(owner, cal string, tr domain.TimeRange, floating *time.Location, lim domain.ExpandLimits) ([]domain.BusyPeriod, error) {
	var busy []domain.BusyPeriod
	evaluate := map[string]bool{}
	err := v.timeCandidates(owner, cal, tr, func(name, val []byte) error {
		if val == nil {
			// Open-ended entries come first, so an object evaluated whole
			// never also contributes its indexed periods.
			evaluate[string(name)] = true
			return nil
		}
		if evaluate[string(name)] {
			return nil
		}
		var exact bool
		var err error
		busy, exact, err = decodeBucketPeriods(val, tr, busy)
		if !exact {
			evaluate[string(name)] = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(evaluate) == 0 {
		return domain.MergeBusy(busy), nil
	}
	r, err := v.newObjectReader(owner, cal, true)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(evaluate)) {
		if busy, err = v.appendBusy(busy, r, name, tr, floating, lim); err != nil {
			return nil, errors.Join(err, r.close())
		}
	}
	return domain.MergeBusy(busy), r.close()
}

// appendBusy appends the busy time of the object name, evaluated.
func (v *View) appendBusy(busy []domain.BusyPeriod, r *objectReader, name string, tr domain.TimeRange, floating *time.Location, lim domain.ExpandLimits) ([]domain.BusyPeriod, error) {
	o, err := r.read(name)
	if err != nil || o.Component != "VEVENT" && o.Component != "VFREEBUSY" {
		return busy, err
	}
	obj, err := v.Parse(o)
	if err != nil {
		return busy, err
	}
	periods, err := domain.BusyPeriods(obj, tr, floating, lim)
	return append(busy, periods...), err
}

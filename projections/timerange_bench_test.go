package projections

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// mixedObject is one object of a realistic calendar spread over five years
// (2022-03 to 2027-03), about 1 KB each: 72% single meetings in a zone, 8%
// all-day events, 19% bounded series (daily or weekly, COUNT, an EXDATE and
// a moved override) and 1% unbounded weekly series.
func mixedObject(r *rand.Rand, uid string) string {
	start := time.Date(2022, 3, 1, 7+r.IntN(10), 30*r.IntN(2), 0, 0, time.UTC).AddDate(0, 0, r.IntN(5*365))
	const zone = ";TZID=Europe/Berlin:"
	var times, rest string
	switch k := r.IntN(100); {
	case k < 72:
		times = "DTSTART" + zone + start.Format(wallFormat) + "\nDTEND" + zone + start.Add(time.Duration(1+r.IntN(3))*30*time.Minute).Format(wallFormat)
	case k < 80:
		times = "DTSTART;VALUE=DATE:" + start.Format("20060102") + "\nDTEND;VALUE=DATE:" + start.AddDate(0, 0, 1+r.IntN(2)).Format("20060102")
	default:
		step := 7
		rule := "RRULE:FREQ=WEEKLY"
		if r.IntN(3) == 0 {
			step, rule = 1, "RRULE:FREQ=DAILY"
		}
		if k < 99 {
			rule += fmt.Sprintf(";COUNT=%d", 4+r.IntN(17))
		}
		times = "DTSTART" + zone + start.Format(wallFormat) + "\nDTEND" + zone + start.Add(time.Hour).Format(wallFormat) +
			"\n" + rule + "\nEXDATE" + zone + start.AddDate(0, 0, 2*step).Format(wallFormat)
		rid := start.AddDate(0, 0, step)
		rest = "END:VEVENT\nBEGIN:VEVENT\nUID:" + uid + "\nDTSTAMP:20250301T090000Z\nRECURRENCE-ID" + zone + rid.Format(wallFormat) +
			"\nDTSTART" + zone + rid.Add(26*time.Hour).Format(wallFormat) + "\nDTEND" + zone + rid.Add(27*time.Hour).Format(wallFormat) +
			"\nSUMMARY:Moved\n"
	}
	return strings.ReplaceAll(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//macOS 15.3//EN
CALSCALE:GREGORIAN
BEGIN:VEVENT
UID:`+uid+`
DTSTAMP:20250301T090000Z
CREATED:20250301T090000Z
LAST-MODIFIED:20250301T090000Z
SEQUENCE:0
`+times+`
SUMMARY:Weekly planning with the platform team
LOCATION:Room 4.12\, Building B
DESCRIPTION:Agenda: review of last week's incidents\, capacity for the
 next sprint\, open questions from the roadmap review. Please bring your
 notes and the updated estimates for the calendar sync work.
ORGANIZER;CN=Alice Example:mailto:alice@example.com
ATTENDEE;CN=Bob Example;PARTSTAT=ACCEPTED:mailto:bob@example.com
ATTENDEE;CN=Carol Example;PARTSTAT=NEEDS-ACTION:mailto:carol@example.com
`+rest+`END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")
}

// mixedStore is a store holding one calendar of n mixed objects.
func mixedStore(b *testing.B, n int) *Store {
	s := newStore(b)
	h := newHistory(b)
	apply(b, s, h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}))
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]eventlog.Record, 0, 1000)
	for i := range n {
		uid := fmt.Sprintf("%08d-5b1e-4c4f-9a1e-0242ac120002", i)
		recs = append(recs, h.cal("alice", "work", put(uid+".ics", uid, mixedObject(r, uid))))
		if len(recs) == cap(recs) || i == n-1 {
			apply(b, s, recs...)
			recs = recs[:0]
		}
	}
	return s
}

// BenchmarkTimeRangeQuery is a calendar-query's work for one VEVENT
// time-range at 10,000 objects: candidates from the index, each parsed and
// checked with MatchObject, data included; "scan" is the same without the
// index.
func BenchmarkTimeRangeQuery(b *testing.B) {
	s := mixedStore(b, 10_000)
	from := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	for _, w := range []struct {
		name string
		days int
	}{{"week", 7}, {"month", 31}} {
		tr := domain.TimeRange{Start: from, End: from.AddDate(0, 0, w.days)}
		filter := domain.CompFilter{Name: "VCALENDAR", CompFilters: []domain.CompFilter{{Name: "VEVENT", TimeRange: &tr}}}
		b.Run(w.name+"/lookup", func(b *testing.B) {
			// The index's own share: candidates and their data, unparsed.
			v := view(b, s)
			for b.Loop() {
				if err := v.ObjectsOverlapping("alice", "work", tr, true, func(Candidate) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, indexed := range []bool{true, false} {
			name := w.name + "/index"
			if !indexed {
				name = w.name + "/scan"
			}
			b.Run(name, func(b *testing.B) {
				v := view(b, s)
				var offered, matched int
				for b.Loop() {
					offered, matched = 0, 0
					check := func(o Object) error {
						offered++
						obj, err := domain.ParseObject([]byte(o.Data))
						if err != nil {
							return err
						}
						ok, err := domain.MatchObject(obj, &filter, time.UTC, domain.ExpandLimits{})
						if ok {
							matched++
						}
						return err
					}
					var err error
					if indexed {
						err = v.ObjectsOverlapping("alice", "work", tr, true, func(c Candidate) error { return check(c.Object) })
					} else {
						err = v.Objects("alice", "work", true, check)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(offered), "candidates")
				b.ReportMetric(float64(matched), "matches")
			})
		}
	}
}

// BenchmarkFreeBusyMonth is a free-busy-query's work for a month at 10,000
// objects.
func BenchmarkFreeBusyMonth(b *testing.B) {
	s := mixedStore(b, 10_000)
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	tr := domain.TimeRange{Start: from, End: from.AddDate(0, 1, 0)}
	v := view(b, s)
	var periods int
	for b.Loop() {
		busy, err := v.FreeBusy("alice", "work", tr, time.UTC, domain.ExpandLimits{})
		if err != nil {
			b.Fatal(err)
		}
		periods = len(busy)
	}
	b.ReportMetric(float64(periods), "periods")
}

// BenchmarkApplyMixed measures the projector on the realistic mix of
// mixedObject, in batches of 1000.
func BenchmarkApplyMixed(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	benchApply(b, func(n int) (string, string) {
		uid := fmt.Sprintf("%08d-5b1e-4c4f-9a1e-0242ac120002", n)
		return uid, mixedObject(r, uid)
	})
}

// mixedLog is an in-memory log of one calendar's creation and 20,000
// ObjectPuts of the realistic mix.
func mixedLog(b *testing.B) (eventlog.Log, eventlog.Position) {
	r := rand.New(rand.NewPCG(1, 2))
	h := newHistory(b)
	recs := []eventlog.Record{h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"})}
	for n := range 20_000 {
		uid := fmt.Sprintf("%08d-5b1e-4c4f-9a1e-0242ac120002", n)
		recs = append(recs, h.cal("alice", "work", put(uid+".ics", uid, mixedObject(r, uid))))
	}
	return memLog(b, recs), recs[len(recs)-1].Position
}

// BenchmarkRebuildMixed measures what `kalends rebuild` does to the
// projections, the time-range index included: mixedLog replayed into an
// empty bulk store on disk, the final compaction included.
func BenchmarkRebuildMixed(b *testing.B) {
	log, head := mixedLog(b)
	for b.Loop() {
		s, err := Open(b.TempDir(), Options{Bulk: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := Rebuild(context.Background(), log, s, head, nil); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(head)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIndexObject is the projector's costliest step per ObjectPut:
// parsing what places the object in time, expanding it and reducing the
// instances to buckets and busy periods, over objects of the realistic mix.
func BenchmarkIndexObject(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	objs := make([]string, 1000)
	for i := range objs {
		uid := fmt.Sprintf("%08d-5b1e-4c4f-9a1e-0242ac120002", i)
		objs[i] = mixedObject(r, uid)
	}
	horizon := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	for b.Loop() {
		indexObject(objs[i%len(objs)], horizon)
		i++
	}
}

// BenchmarkRebuildIndexMixed measures `kalends rebuild --index`: the
// time-range index of a store holding mixedLog recomputed from the log.
func BenchmarkRebuildIndexMixed(b *testing.B) {
	log, head := mixedLog(b)
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := Rebuild(context.Background(), log, s, head, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := RebuildIndex(context.Background(), log, s, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(head)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

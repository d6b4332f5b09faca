package projections

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// event is a ~1 KB VEVENT, the size of a typical client-written object.
func event(uid string, seq int) string {
	return strings.ReplaceAll(fmt.Sprintf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//macOS 15.3//EN
CALSCALE:GREGORIAN
BEGIN:VEVENT
UID:%s
DTSTAMP:20250301T090000Z
CREATED:20250301T090000Z
LAST-MODIFIED:20250301T090000Z
SEQUENCE:%d
DTSTART;TZID=Europe/Berlin:20250310T100000
DTEND;TZID=Europe/Berlin:20250310T110000
SUMMARY:Weekly planning with the platform team
LOCATION:Room 4.12\, Building B
DESCRIPTION:Agenda: review of last week's incidents\, capacity for the
 next sprint\, open questions from the roadmap review. Please bring your
 notes and the updated estimates for the calendar sync work.
ORGANIZER;CN=Alice Example:mailto:alice@example.com
ATTENDEE;CN=Bob Example;PARTSTAT=ACCEPTED:mailto:bob@example.com
ATTENDEE;CN=Carol Example;PARTSTAT=NEEDS-ACTION:mailto:carol@example.com
RRULE:FREQ=WEEKLY;BYDAY=MO
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Reminder
TRIGGER:-PT15M
END:VALARM
END:VEVENT
END:VCALENDAR
`, uid, seq), "\n", "\r\n")
}

// BenchmarkApply measures the projector's throughput on ObjectPut records of
// about 1 KB in batches of 1000, one in ten replacing an earlier object.
func BenchmarkApply(b *testing.B) {
	b.SetBytes(int64(1000 * len(event("x", 0))))
	benchApply(b, func(n int) (string, string) {
		id := n
		if n%10 == 9 {
			id = n / 2 // one in ten replaces an earlier object
		}
		uid := fmt.Sprintf("%08d-5b1e-4c4f-9a1e-0242ac120002", id)
		return uid, event(uid, n)
	})
}

// benchApply applies batches of 1,000 ObjectPuts to one calendar and
// reports events/s; object gives the n-th put's UID and data.
func benchApply(b *testing.B, object func(n int) (uid, data string)) {
	s := newStore(b)
	h := newHistory(b)
	apply(b, s, h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}))
	n := 0
	recs := make([]eventlog.Record, 1000)
	for b.Loop() {
		b.StopTimer()
		for i := range recs {
			uid, data := object(n)
			recs[i] = h.cal("alice", "work", put(uid+".ics", uid, data))
			n++
		}
		b.StartTimer()
		if err := s.Apply(recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkObjectsList lists a calendar of 10,000 objects the way PROPFIND
// Depth 1 does, without their data.
func BenchmarkObjectsList(b *testing.B) {
	s := newStore(b)
	h := newHistory(b)
	apply(b, s, h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}))
	const objects = 10_000
	recs := make([]eventlog.Record, 0, 1000)
	for i := range objects {
		uid := fmt.Sprintf("%08d-5b1e-4c4f-9a1e-0242ac120002", i)
		recs = append(recs, h.cal("alice", "work", put(uid+".ics", uid, event(uid, 0))))
		if len(recs) == cap(recs) {
			apply(b, s, recs...)
			recs = recs[:0]
		}
	}
	for _, withData := range []bool{false, true} {
		b.Run(fmt.Sprintf("withData=%v", withData), func(b *testing.B) {
			v := view(b, s)
			for b.Loop() {
				n := 0
				if err := v.Objects("alice", "work", withData, func(Object) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
				if n != objects {
					b.Fatalf("listed %d objects", n)
				}
			}
		})
	}
}

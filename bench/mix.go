package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The realistic mix (-mix realistic) is what the query phases fill their
// own calendar with: a calendar as clients hold it, spread over two years
// either side of a fixed reference date (never time.Now, so that runs stay
// comparable):
//
//   - ~70% single timed events, most in UTC, ~10% with a TZID and its
//     VTIMEZONE (Europe/Berlin, America/New_York), ~2% floating; some with
//     DURATION instead of DTEND;
//   - ~8% all-day events (DATE values, one to three days), half of them
//     TRANSP:TRANSPARENT;
//   - ~20% bounded recurrences: DAILY (COUNT), WEEKLY and MONTHLY (COUNT or
//     UNTIL), some with an INTERVAL, ~40% with EXDATEs, ~25% with an
//     override moved by hours or a day (some of them TENTATIVE);
//   - ~2% unbounded rules: yearly all-day birthdays, weekly and monthly
//     meetings.
//
// Each object is generated from (seed, i) alone, together with the UTC
// spans of its instances (up to mixEnd for unbounded ones), so the client
// knows the exact answer to every time-range query, expand and free-busy
// query it sends. Floating and DATE values are read in UTC, which is what
// the server does for a calendar without calendar-timezone and a query
// without timezone (RFC 4791 §9.8).

var (
	mixRef   = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	mixStart = mixRef.AddDate(-2, 0, 0)
	mixEnd   = mixRef.AddDate(2, 0, 0)
	mixDays  = int(mixEnd.Sub(mixStart) / (24 * time.Hour))
)

// span is one instance, [s, e) in Unix seconds.
type span struct{ s, e int64 }

// genObj is one generated object and what a query must find of it.
type genObj struct {
	data  []byte
	kind  string // single, tz, floating, allday, daily, weekly, monthly, yearly-unbounded, weekly-unbounded, monthly-unbounded
	spans []span // every instance, sorted by start; unbounded ones up to mixEnd + 60 days
	busy  bool   // contributes to free-busy (not TRANSP:TRANSPARENT)
}

var (
	zoneBerlin  = mustZone("Europe/Berlin")
	zoneNewYork = mustZone("America/New_York")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("bench needs the IANA zone database (%s): %v", name, err))
	}
	return loc
}

const newYork = "BEGIN:VTIMEZONE\r\n" +
	"TZID:America/New_York\r\n" +
	"BEGIN:DAYLIGHT\r\n" +
	"TZOFFSETFROM:-0500\r\n" +
	"TZOFFSETTO:-0400\r\n" +
	"TZNAME:EDT\r\n" +
	"DTSTART:20070311T020000\r\n" +
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n" +
	"END:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\n" +
	"TZOFFSETFROM:-0400\r\n" +
	"TZOFFSETTO:-0500\r\n" +
	"TZNAME:EST\r\n" +
	"DTSTART:20071104T020000\r\n" +
	"RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n" +
	"END:STANDARD\r\n" +
	"END:VTIMEZONE\r\n"

// zoneKind is how an object's times are written.
type zoneKind int

const (
	inUTC zoneKind = iota
	inBerlin
	inNewYork
	inFloating
)

func (z zoneKind) loc() *time.Location {
	switch z {
	case inBerlin:
		return zoneBerlin
	case inNewYork:
		return zoneNewYork
	}
	return time.UTC
}

// prop writes a DATE-TIME property in the object's zone; t is in z.loc().
func (z zoneKind) prop(name string, t time.Time) string {
	switch z {
	case inBerlin:
		return name + ";TZID=Europe/Berlin:" + t.Format("20060102T150405") + "\r\n"
	case inNewYork:
		return name + ";TZID=America/New_York:" + t.Format("20060102T150405") + "\r\n"
	case inFloating:
		return name + ":" + t.Format("20060102T150405") + "\r\n"
	}
	return name + ":" + t.UTC().Format("20060102T150405Z") + "\r\n"
}

func (z zoneKind) vtimezone() string {
	switch z {
	case inBerlin:
		return berlin
	case inNewYork:
		return newYork
	}
	return ""
}

func pickZone(r *rand.Rand, tzShare, floatShare float64) zoneKind {
	x := r.Float64()
	switch {
	case x < floatShare:
		return inFloating
	case x < floatShare+tzShare/2:
		return inBerlin
	case x < floatShare+tzShare:
		return inNewYork
	}
	return inUTC
}

// realistic generates object i of the realistic mix.
func realistic(prefix string, seed uint64, i int) genObj {
	r := rand.New(rand.NewPCG(seed, uint64(i)+1<<40))
	x := r.Float64()
	switch {
	case x < 0.70:
		return mixSingle(prefix, r, i)
	case x < 0.78:
		return mixAllDay(prefix, r, i)
	case x < 0.98:
		return mixRecurring(prefix, r, i, false)
	}
	return mixRecurring(prefix, r, i, true)
}

type icalWriter struct{ strings.Builder }

func (w *icalWriter) header(z zoneKind) {
	w.Grow(1200)
	w.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kalends//bench realistic//EN\r\nCALSCALE:GREGORIAN\r\n")
	w.WriteString(z.vtimezone())
}

func (w *icalWriter) eventHead(prefix string, i int) {
	w.WriteString("BEGIN:VEVENT\r\n")
	fmt.Fprintf(w, "UID:%s\r\n", uid(prefix, i))
	w.WriteString("DTSTAMP:20251201T090000Z\r\nCREATED:20251201T090000Z\r\nLAST-MODIFIED:20251201T090000Z\r\n")
}

var summaries = []string{"Project sync", "1:1", "Design review", "Lunch", "Dentist", "Standup", "Planning", "Call with supplier", "Retro", "Training"}

func (w *icalWriter) details(r *rand.Rand, i int, full bool) {
	fmt.Fprintf(w, "SUMMARY:%s #%d\r\n", summaries[r.IntN(len(summaries))], i)
	if full {
		w.WriteString("LOCATION:Room 4.12\\, Building C\r\n")
		w.WriteString("DESCRIPTION:Agenda: status of the milestones\\, open questions from the\r\n")
		w.WriteString("  last review\\, next steps.\r\n")
		w.WriteString("ORGANIZER;CN=Alice Example:mailto:alice@example.com\r\n")
		w.WriteString("ATTENDEE;CN=Bob Example;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:bob@example.com\r\n")
	}
}

const alarm = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"

// timedStart is a random local start within the populated range, between
// 07:00 and 19:45 (never in a DST gap or overlap).
func timedStart(r *rand.Rand, loc *time.Location, firstDays int) time.Time {
	d := mixStart.AddDate(0, 0, r.IntN(firstDays))
	return time.Date(d.Year(), d.Month(), d.Day(), 7+r.IntN(13), 15*r.IntN(4), 0, 0, loc)
}

var durations = []time.Duration{30 * time.Minute, 45 * time.Minute, time.Hour, time.Hour, 90 * time.Minute, 2 * time.Hour}

func (w *icalWriter) timing(r *rand.Rand, z zoneKind, start time.Time, dur time.Duration) {
	w.WriteString(z.prop("DTSTART", start))
	if r.IntN(5) == 0 {
		fmt.Fprintf(w, "DURATION:PT%dM\r\n", int(dur/time.Minute))
	} else {
		w.WriteString(z.prop("DTEND", start.Add(dur)))
	}
}

func mixSingle(prefix string, r *rand.Rand, i int) genObj {
	z := pickZone(r, 0.10, 0.02)
	start := timedStart(r, z.loc(), mixDays)
	dur := durations[r.IntN(len(durations))]
	var w icalWriter
	w.header(z)
	w.eventHead(prefix, i)
	w.timing(r, z, start, dur)
	w.details(r, i, true)
	w.WriteString("STATUS:CONFIRMED\r\n")
	w.WriteString(alarm)
	w.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	kind := map[zoneKind]string{inUTC: "single", inBerlin: "tz", inNewYork: "tz", inFloating: "floating"}[z]
	return genObj{data: []byte(w.String()), kind: kind, busy: true, spans: []span{{start.Unix(), start.Add(dur).Unix()}}}
}

func mixAllDay(prefix string, r *rand.Rand, i int) genObj {
	d := mixStart.AddDate(0, 0, r.IntN(mixDays))
	days := 1 + r.IntN(3)
	transparent := r.IntN(2) == 0
	var w icalWriter
	w.header(inUTC)
	w.eventHead(prefix, i)
	w.WriteString("DTSTART;VALUE=DATE:" + d.Format("20060102") + "\r\n")
	w.WriteString("DTEND;VALUE=DATE:" + d.AddDate(0, 0, days).Format("20060102") + "\r\n")
	w.details(r, i, false)
	if transparent {
		w.WriteString("TRANSP:TRANSPARENT\r\n")
	}
	w.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	return genObj{data: []byte(w.String()), kind: "allday", busy: !transparent, spans: []span{{d.Unix(), d.AddDate(0, 0, days).Unix()}}}
}

// mixRecurring writes a recurring event and computes its instances.
func mixRecurring(prefix string, r *rand.Rand, i int, unbounded bool) genObj {
	var (
		freq     string
		interval = 1
		count    int
		kind     string
		z        = pickZone(r, 0.30, 0.0)
		allDay   bool
	)
	if unbounded {
		switch x := r.Float64(); {
		case x < 0.6:
			freq, kind, allDay = "YEARLY", "yearly-unbounded", true
		case x < 0.85:
			freq, kind = "WEEKLY", "weekly-unbounded"
		default:
			freq, kind = "MONTHLY", "monthly-unbounded"
		}
	} else {
		switch x := r.Float64(); {
		case x < 0.3:
			freq, kind, count = "DAILY", "daily", 2+r.IntN(9)
		case x < 0.8:
			freq, kind, count = "WEEKLY", "weekly", 4+r.IntN(23)
			if r.IntN(4) == 0 {
				interval = 2
			}
		default:
			freq, kind, count = "MONTHLY", "monthly", 3+r.IntN(10)
		}
	}
	if allDay {
		z = inUTC
	}
	loc := z.loc()
	var start time.Time
	if allDay {
		d := mixStart.AddDate(-r.IntN(20), 0, r.IntN(mixDays))
		start = time.Date(d.Year(), d.Month(), min(d.Day(), 28), 0, 0, 0, 0, time.UTC)
	} else {
		start = timedStart(r, loc, mixDays)
		if freq == "MONTHLY" && start.Day() > 28 {
			start = start.AddDate(0, 0, -3)
		}
	}
	dur := durations[r.IntN(len(durations))]
	if allDay {
		dur = 24 * time.Hour
	}
	// nth is the start of instance k, stepped in local wall time.
	nth := func(k int) time.Time {
		y, m, d := start.Date()
		h, mi, _ := start.Clock()
		switch freq {
		case "DAILY":
			d += k * interval
		case "WEEKLY":
			d += 7 * k * interval
		case "MONTHLY":
			m += time.Month(k * interval)
		case "YEARLY":
			y += k * interval
		}
		return time.Date(y, m, d, h, mi, 0, 0, loc)
	}
	end := func(t time.Time) time.Time {
		if allDay {
			return t.AddDate(0, 0, 1)
		}
		return t.Add(dur)
	}
	n := count
	if unbounded {
		limit := mixEnd.AddDate(0, 0, 60)
		for n = 0; nth(n).Before(limit); n++ {
		}
	}
	// Exceptions: EXDATEs and one moved override, never on the first
	// instance (the master's DTSTART).
	excluded := map[int]bool{}
	if n > 2 && r.Float64() < 0.4 {
		for range 1 + r.IntN(2) {
			excluded[1+r.IntN(n-1)] = true
		}
	}
	moved, shift := -1, time.Duration(0)
	if n > 2 && r.Float64() < 0.25 {
		if k := 1 + r.IntN(n-1); !excluded[k] {
			moved = k
			shift = []time.Duration{2 * time.Hour, -3 * time.Hour, 24 * time.Hour, 26 * time.Hour}[r.IntN(4)]
			if allDay {
				shift = 24 * time.Hour * time.Duration(1+r.IntN(3))
			}
		}
	}
	tentative := r.IntN(3) == 0

	var w icalWriter
	w.header(z)
	w.eventHead(prefix, i)
	datep := func(name string, t time.Time) string {
		if allDay {
			return name + ";VALUE=DATE:" + t.Format("20060102") + "\r\n"
		}
		return z.prop(name, t)
	}
	if allDay {
		w.WriteString(datep("DTSTART", start))
		w.WriteString(datep("DTEND", end(start)))
	} else {
		w.timing(r, z, start, dur)
	}
	rule := "RRULE:FREQ=" + freq
	if interval > 1 {
		rule += fmt.Sprintf(";INTERVAL=%d", interval)
	}
	if !unbounded {
		if freq != "DAILY" && r.IntN(2) == 0 {
			// UNTIL exactly at the last instance's start: inclusive.
			last := nth(n - 1)
			if allDay {
				rule += ";UNTIL=" + last.Format("20060102")
			} else {
				rule += ";UNTIL=" + last.UTC().Format("20060102T150405Z")
			}
		} else {
			rule += fmt.Sprintf(";COUNT=%d", n)
		}
	}
	w.WriteString(rule + "\r\n")
	if len(excluded) > 0 {
		var ks []int
		for k := range n {
			if excluded[k] {
				ks = append(ks, k)
			}
		}
		// Several values on one line, or one line each.
		if r.IntN(2) == 0 {
			var name string
			var vals []string
			for _, k := range ks {
				n, v, _ := strings.Cut(strings.TrimSuffix(datep("EXDATE", nth(k)), "\r\n"), ":")
				name, vals = n, append(vals, v)
			}
			w.WriteString(name + ":" + strings.Join(vals, ",") + "\r\n")
		} else {
			for _, k := range ks {
				w.WriteString(datep("EXDATE", nth(k)))
			}
		}
	}
	w.details(r, i, !allDay)
	if allDay {
		w.WriteString("TRANSP:TRANSPARENT\r\n")
	} else {
		w.WriteString("STATUS:CONFIRMED\r\n" + alarm)
	}
	w.WriteString("END:VEVENT\r\n")
	var spans []span
	for k := range n {
		if excluded[k] {
			continue
		}
		s := nth(k)
		if k == moved {
			ns := s.Add(shift)
			w.eventHead(prefix, i)
			w.WriteString(datep("RECURRENCE-ID", s))
			w.WriteString(datep("DTSTART", ns))
			w.WriteString(datep("DTEND", end(ns)))
			fmt.Fprintf(&w, "SUMMARY:Moved instance of #%d\r\n", i)
			if allDay {
				w.WriteString("TRANSP:TRANSPARENT\r\n")
			} else if tentative {
				w.WriteString("STATUS:TENTATIVE\r\n")
			}
			w.WriteString("END:VEVENT\r\n")
			s = ns
		}
		spans = append(spans, span{s.Unix(), end(s).Unix()})
	}
	w.WriteString("END:VCALENDAR\r\n")
	sortSpans(spans)
	return genObj{data: []byte(w.String()), kind: kind, busy: !allDay, spans: spans}
}

func sortSpans(s []span) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].s < s[j-1].s; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

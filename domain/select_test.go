package domain

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const weeklyWithOverride = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:w1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\n" +
	"RRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Weekly\r\nDESCRIPTION:long text\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:w1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260112T090000Z\r\nDTSTART:20260112T140000Z\r\n" +
	"DTEND:20260112T150000Z\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:w1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260223T090000Z\r\nDTSTART:20260223T110000Z\r\n" +
	"DTEND:20260223T120000Z\r\nSUMMARY:Late\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestSelectCalendarData(t *testing.T) {
	jan := &TimeRange{Start: utc("20260110T000000Z"), End: utc("20260120T000000Z")}
	cases := []struct {
		name      string
		sel       DataSelection
		contains  []string
		lacks     []string
		unchanged bool
	}{
		{name: "zero selection returns the stored bytes", unchanged: true},
		{
			name: "comp and prop subsets (RFC 4791 §9.6.1)",
			sel: DataSelection{Comp: &CompSelection{Name: "VCALENDAR", Props: []PropSelection{{Name: "VERSION"}},
				Comps: []CompSelection{{Name: "VEVENT", Props: []PropSelection{{Name: "SUMMARY"}, {Name: "UID"}, {Name: "DESCRIPTION", NoValue: true}}}}}},
			contains: []string{"VERSION:2.0", "SUMMARY:Weekly", "SUMMARY:Moved", "UID:w1", "DESCRIPTION:\r\n"},
			lacks:    []string{"PRODID", "DTSTART", "RRULE", "long text"},
		},
		{
			name: "expand gives UTC instances without recurrence properties (§9.6.5)",
			sel:  DataSelection{Expand: jan},
			contains: []string{"RECURRENCE-ID:20260112T090000Z", "DTSTART:20260112T140000Z", "SUMMARY:Moved",
				"RECURRENCE-ID:20260119T090000Z", "DTSTART:20260119T090000Z"},
			lacks: []string{"RRULE", "SUMMARY:Late", "20260105"},
		},
		{
			name:     "limit-recurrence-set keeps the master and the overrides in range (§9.6.6)",
			sel:      DataSelection{LimitRecurrenceSet: jan},
			contains: []string{"RRULE:FREQ=WEEKLY;COUNT=10", "SUMMARY:Moved"},
			lacks:    []string{"SUMMARY:Late"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := SelectCalendarData([]byte(weeklyWithOverride), parser(weeklyWithOverride), c.sel, time.UTC, ExpandLimits{})
			if err != nil {
				t.Fatal(err)
			}
			if c.unchanged && string(got) != weeklyWithOverride {
				t.Fatalf("stored text changed:\n%s", got)
			}
			for _, s := range c.contains {
				if !strings.Contains(string(got), s) {
					t.Errorf("missing %q in\n%s", s, got)
				}
			}
			for _, s := range c.lacks {
				if strings.Contains(string(got), s) {
					t.Errorf("unexpected %q in\n%s", s, got)
				}
			}
		})
	}
}

func TestLimitFreeBusySet(t *testing.T) {
	data := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VFREEBUSY\r\nUID:fb\r\nDTSTAMP:20260101T000000Z\r\n" +
		"FREEBUSY:20260105T090000Z/20260105T100000Z\r\nFREEBUSY:20260301T090000Z/PT1H\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
	got, err := SelectCalendarData([]byte(data), parser(data), DataSelection{LimitFreeBusySet: &TimeRange{Start: utc("20260101T000000Z"), End: utc("20260201T000000Z")}}, time.UTC, ExpandLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "20260105T090000Z/20260105T100000Z") || strings.Contains(string(got), "20260301") {
		t.Fatalf("limit-freebusy-set:\n%s", got)
	}
}

func parser(data string) func() (*Object, error) {
	return func() (*Object, error) { return ParseObject([]byte(data)) }
}

// TestExpandDurationGivesEachInstanceEnd: an expanded instance's DTSTART is
// UTC, where a DURATION's day is 24 hours, so the DURATION written must be
// the instance's own exact length (found by the differential test in
// interop/recurdiff_check.py).
func TestExpandDurationGivesEachInstanceEnd(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		tr    TimeRange
		want  []string // DTSTART/DURATION pairs, in order
	}{
		{
			// RFC 5545 §3.8.5.3: DURATION is nominal, so P1D from 12:00
			// Berlin on the day before the fall-back ends at 12:00 CET,
			// 25 hours later.
			name:  "P1D across a DST change",
			lines: []string{"DTSTART;TZID=Europe/Berlin:20241025T120000", "DURATION:P1D", "RRULE:FREQ=DAILY;COUNT=3"},
			tr:    TimeRange{utc("20241001T000000Z"), utc("20241101T000000Z")},
			want: []string{"DTSTART:20241025T100000Z DURATION:P1D", "DTSTART:20241026T100000Z DURATION:PT25H",
				"DTSTART:20241027T110000Z DURATION:P1D"},
		},
		{
			name:  "PT1H is exact and stays",
			lines: []string{"DTSTART;TZID=America/New_York:20240309T233000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=2"},
			tr:    TimeRange{utc("20240301T000000Z"), utc("20240401T000000Z")},
			want:  []string{"DTSTART:20240310T043000Z DURATION:PT1H", "DTSTART:20240311T033000Z DURATION:PT1H"},
		},
		{
			// RFC 5545 §3.8.5.2: a PERIOD sets its instance's length.
			name:  "an RDATE period's own length",
			lines: []string{"DTSTART:20240101T100000Z", "DURATION:PT1H", "RDATE;VALUE=PERIOD:20240102T100000Z/PT2H30M"},
			tr:    TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want:  []string{"DTSTART:20240101T100000Z DURATION:PT1H", "DTSTART:20240102T100000Z DURATION:PT2H30M"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := ExpandObject(object(t, vevent(c.lines...)), c.tr, nil, ExpandLimits{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(string(data), "\r\n") {
				switch {
				case strings.HasPrefix(line, "DTSTART"):
					got = append(got, line)
				case strings.HasPrefix(line, "DURATION"):
					got[len(got)-1] += " " + line
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestExpandWriters: the expansion's own writer, which copies renderings
// of the instances' components, writes what the general writer writes of
// the expanded VCALENDAR, alarms and overrides included, for objects that
// remember their renderings and objects that do not.
func TestExpandWriters(t *testing.T) {
	objs := loadAppendixB(t)
	objs["meeting"] = meeting(t)
	objs["weekly"], _ = ParseObject([]byte(weeklyWithOverride))
	for name, o := range objs {
		kept := *o
		kept.Remember()
		for day := 0; day < 60; day += 3 {
			tr := TimeRange{Start: utc("20060101T000000Z").AddDate(0, 0, day), End: utc("20060101T000000Z").AddDate(0, 0, day+9)}
			if name == "meeting" || name == "weekly" {
				tr = TimeRange{Start: tr.Start.AddDate(20, 0, 0), End: tr.End.AddDate(20, 0, 0)}
			}
			general, err := expanded(o, tr, nil, ExpandLimits{})
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			writeComponent(&want, general)
			for _, obj := range []*Object{o, &kept, &kept} {
				if got, err := ExpandObject(obj, tr, nil, ExpandLimits{}); err != nil || string(got) != want.String() {
					t.Fatalf("%s over %v: %v\n%s\nwant\n%s", name, tr, err, got, want.String())
				}
			}
		}
	}
}

// BenchmarkExpandMeeting is a calendar-query's expanded calendar-data of
// the commonest object, parsed once for many queries.
func BenchmarkExpandMeeting(b *testing.B) {
	o := meeting(b)
	o.Remember() // as the server's cache of parsed objects does
	week := &TimeRange{Start: utc("20260302T000000Z"), End: utc("20260309T000000Z")}
	parse := func() (*Object, error) { return o, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SelectCalendarData(nil, parse, DataSelection{Expand: week}, time.UTC, ExpandLimits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// meeting is the commonest object: one meeting in a zone, with an alarm
// and attendees, on 2026-03-02.
func meeting(t testing.TB) *Object {
	return object(t, `BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE`, vevent("DTSTART;TZID=Europe/Berlin:20260302T093000", "DTEND;TZID=Europe/Berlin:20260302T103000",
		"SUMMARY:Design review", "LOCATION:Room 4.12\\, Building C",
		"DESCRIPTION:Agenda: status of the milestones\\, open questions from the last review\\, next steps.",
		"ORGANIZER;CN=Alice Example:mailto:alice@example.com",
		"ATTENDEE;CN=Bob Example;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:bob@example.com",
		"STATUS:CONFIRMED", "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder", "TRIGGER:-PT15M", "END:VALARM"))
}

package domain

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// crlf turns a readable multi-line literal into iCalendar text.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

var (
	tzBerlin = crlf("BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD", "DTSTART:19701025T030000",
		"TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE")
	tzNewYork = crlf("BEGIN:VTIMEZONE", "TZID:America/New_York", "BEGIN:STANDARD", "DTSTART:19701101T020000",
		"TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "END:STANDARD", "END:VTIMEZONE")
	tzUnused = crlf("BEGIN:VTIMEZONE", "TZID:Custom/Unused", "BEGIN:STANDARD", "DTSTART:19700101T000000",
		"TZOFFSETFROM:+0000", "TZOFFSETTO:+0000", "END:STANDARD", "END:VTIMEZONE")
	seriesMaster = crlf("BEGIN:VEVENT", "UID:series", "DTSTAMP:20260101T000000Z",
		"DTSTART;TZID=Europe/Berlin:20260105T090000", "RRULE:FREQ=WEEKLY;COUNT=5", "SUMMARY:Weekly", "END:VEVENT")
	seriesOverride = crlf("BEGIN:VEVENT", "UID:series", "DTSTAMP:20260101T000000Z",
		"RECURRENCE-ID;TZID=Europe/Berlin:20260112T090000", "DTSTART;TZID=America/New_York:20260112T100000",
		"SUMMARY:Moved", "END:VEVENT")
	nyEvent = crlf("BEGIN:VEVENT", "UID:ny", "DTSTAMP:20260101T000000Z",
		"DTSTART;TZID=America/New_York:20260106T090000", "SUMMARY:NY", "BEGIN:VALARM", "ACTION:DISPLAY",
		"TRIGGER:-PT5M", "DESCRIPTION:x", "END:VALARM", "END:VEVENT")
	splitTodo = crlf("BEGIN:VTODO", "UID:task", "DTSTAMP:20260101T000000Z", "SUMMARY:Do it", "END:VTODO")
	// clash shares the UID of splitTodo but is a VEVENT.
	clash = crlf("BEGIN:VEVENT", "UID:task", "DTSTAMP:20260101T000000Z", "DTSTART:20260105T090000Z", "END:VEVENT")
	noUID = crlf("BEGIN:VEVENT", "DTSTAMP:20260101T000000Z", "DTSTART:20260105T090000Z", "END:VEVENT")
)

func wholeCalendar(parts ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Work\r\n" +
		strings.Join(parts, "") + "END:VCALENDAR\r\n"
}

func TestSplitCalendar(t *testing.T) {
	type want struct {
		uid string
		has []string // the object's text holds each of these
		not []string // and none of these
		// invalid is the refusal validating it as a PUT gives, "" for none.
		invalid Condition
	}
	for _, tc := range []struct {
		name  string
		input string
		want  []want
	}{
		{"recurring with an override, and the zones each part uses",
			wholeCalendar(tzBerlin, tzNewYork, tzUnused, seriesMaster, nyEvent, seriesOverride),
			[]want{
				{uid: "series", has: []string{"RRULE", "RECURRENCE-ID", "TZID:Europe/Berlin", "TZID:America/New_York"},
					not: []string{"Custom/Unused", "METHOD", "X-WR-CALNAME", "UID:ny"}},
				{uid: "ny", has: []string{"TZID:America/New_York", "BEGIN:VALARM"}, not: []string{"TZID:Europe/Berlin", "UID:series"}},
			}},
		{"a VTODO beside events", wholeCalendar(splitTodo, nyEvent, tzNewYork),
			[]want{{uid: "task", has: []string{"BEGIN:VTODO"}, not: []string{"VTIMEZONE"}}, {uid: "ny", has: []string{"VTIMEZONE"}}}},
		{"one UID on a VTODO and a VEVENT stays one object, which validation refuses",
			wholeCalendar(splitTodo, seriesMaster, clash, tzBerlin),
			[]want{{uid: "task", has: []string{"BEGIN:VTODO", "BEGIN:VEVENT"}, invalid: ValidCalendarObjectResource}, {uid: "series"}}},
		{"components without a UID stand alone", wholeCalendar(noUID, noUID, splitTodo),
			[]want{{invalid: ValidCalendarObjectResource}, {invalid: ValidCalendarObjectResource}, {uid: "task"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := SplitCalendar([]byte(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != len(tc.want) {
				t.Fatalf("%d objects, want %d", len(objs), len(tc.want))
			}
			for i, w := range tc.want {
				o, text := objs[i], string(objs[i].Data)
				if o.UID != w.uid {
					t.Errorf("object %d: UID %q, want %q", i, o.UID, w.uid)
				}
				for _, s := range w.has {
					if !strings.Contains(text, s) {
						t.Errorf("object %q lacks %q:\n%s", o.UID, s, text)
					}
				}
				for _, s := range w.not {
					if strings.Contains(text, s) {
						t.Errorf("object %q has %q:\n%s", o.UID, s, text)
					}
				}
				_, err := ValidateCalendarObject(o.Data, []string{"VEVENT", "VTODO"})
				var pe *PreconditionError
				switch {
				case w.invalid == "" && err != nil:
					t.Errorf("object %q is refused: %v", o.UID, err)
				case w.invalid != "" && (!errors.As(err, &pe) || pe.Condition != w.invalid):
					t.Errorf("object %q: %v, want %s", o.UID, err, w.invalid)
				}
			}
		})
	}
	if _, err := SplitCalendar([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")); err == nil {
		t.Error("a truncated file split")
	}
}

// TestMergeCalendar: each VTIMEZONE once, every component, deterministic,
// and stable under a split and a merge again (an export re-imported
// elsewhere exports the same).
func TestMergeCalendar(t *testing.T) {
	objs, err := SplitCalendar([]byte(wholeCalendar(tzBerlin, tzNewYork, seriesMaster, seriesOverride, nyEvent, splitTodo)))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, o := range objs {
		texts = append(texts, string(o.Data))
	}
	merged, err := MergeCalendar("Work, etc.", texts)
	if err != nil {
		t.Fatal(err)
	}
	m := string(merged)
	for s, n := range map[string]int{"BEGIN:VTIMEZONE": 2, "TZID:America/New_York\r\n": 1, "BEGIN:VEVENT": 3,
		"BEGIN:VTODO": 1, "X-WR-CALNAME:Work\\, etc.\r\n": 1, "PRODID:" + ExportProdID: 1} {
		if got := strings.Count(m, s); got != n {
			t.Errorf("%q %d times, want %d:\n%s", s, got, n, m)
		}
	}
	if strings.Index(m, "BEGIN:VTIMEZONE") > strings.Index(m, "BEGIN:VEVENT") {
		t.Errorf("VTIMEZONEs after components:\n%s", m)
	}
	again, _ := MergeCalendar("Work, etc.", texts)
	if string(again) != m {
		t.Error("two merges of the same objects differ")
	}
	// Round trip: a merge split and merged again is the same merge.
	resplit, err := SplitCalendar(merged)
	if err != nil || len(resplit) != len(objs) {
		t.Fatalf("splitting the merge: %d objects, %v", len(resplit), err)
	}
	var retexts []string
	for _, o := range resplit {
		retexts = append(retexts, string(o.Data))
	}
	if remerged, _ := MergeCalendar("Work, etc.", retexts); string(remerged) != m {
		t.Errorf("merge → split → merge changed the calendar:\n%s\nvs\n%s", remerged, m)
	}
	if _, err := MergeCalendar("", []string{"not iCalendar"}); err == nil {
		t.Error("merged an object that does not parse")
	}
}

func TestObjectNameForUID(t *testing.T) {
	for uid, want := range map[string]string{
		"abc-123@example.com":    "abc-123@example.com.ics",
		"a/b":                    HashedObjectName("a/b"),
		".hidden":                HashedObjectName(".hidden"),
		strings.Repeat("x", 300): HashedObjectName(strings.Repeat("x", 300)),
	} {
		if got := ObjectNameForUID(uid); got != want || !ValidResourceName(got) {
			t.Errorf("ObjectNameForUID(%q) = %q, want %q", uid, got, want)
		}
	}
}

// FuzzSplitCalendar: an uploaded or imported whole calendar either fails to
// split cleanly or splits into objects that each parse, and whose merge is
// a fixed point: split and merged again, it gives the same bytes (an export
// re-imported elsewhere exports identically).
func FuzzSplitCalendar(f *testing.F) {
	f.Add([]byte(wholeCalendar(tzBerlin, tzNewYork, seriesMaster, seriesOverride, nyEvent, splitTodo)))
	files, _ := filepath.Glob("testdata/ical/valid/*.ics")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 32<<10 {
			return
		}
		objs, err := SplitCalendar(data)
		if err != nil {
			return
		}
		texts := make([]string, len(objs))
		for i, o := range objs {
			if _, err := parseCalendar(o.Data); err != nil {
				t.Fatalf("object %d (UID %q) does not parse: %v\n%s", i, o.UID, err, o.Data)
			}
			texts[i] = string(o.Data)
		}
		merged, err := MergeCalendar("x", texts)
		if err != nil {
			t.Fatalf("merging the split: %v", err)
		}
		resplit, err := SplitCalendar(merged)
		if err != nil {
			t.Fatalf("splitting the merge: %v\n%s", err, merged)
		}
		retexts := make([]string, len(resplit))
		for i, o := range resplit {
			retexts[i] = string(o.Data)
		}
		remerged, err := MergeCalendar("x", retexts)
		if err != nil || !bytes.Equal(remerged, merged) {
			t.Fatalf("merge → split → merge changed the calendar (%v):\n%s\nvs\n%s", err, remerged, merged)
		}
	})
}
